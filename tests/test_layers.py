"""Imports go one way: foundation <- hardware and models <- testbench and synthesis <- the
command line, the commands and the networks. Read from the sources, so a new import that
points the wrong way fails here before it turns into a cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"hdl": "zeroskip.hdl", "models": "zeroskip.models", "testbench": "zeroskip.testbench",
           "synth": "zeroskip.synth", "zeroskip": "zeroskip"}

# Modules of the root package that everything may import: they import no other layer.
FOUNDATION = {"zeroskip", "zeroskip.config", "zeroskip.verilog_names", "zeroskip.wire_fields",
              "zeroskip.files", "zeroskip.figures"}
TOP = ("zeroskip.cli", "zeroskip.commands", "zeroskip.nn", "zeroskip.gemm_check", "zeroskip.fusesoc")

# What each layer may import besides itself and the foundation.
ALLOWED = {
    "foundation": (),
    "zeroskip.hdl": (),
    "zeroskip.models": (),
    "zeroskip.synth": ("zeroskip.hdl", "zeroskip.models"),
    # The formal proof warms YoWASP's Yosys through the synthesis package's tool runner.
    # The host-side packing (zeroskip.host) is the one definition of the stream bytes that
    # users and the testbench share.
    "zeroskip.host": ("zeroskip.hdl", "zeroskip.models"),
    "zeroskip.testbench": ("zeroskip.hdl", "zeroskip.models", "zeroskip.synth.tools",
                           "zeroskip.host"),
    "top": ("zeroskip.hdl", "zeroskip.models", "zeroskip.synth", "zeroskip.testbench",
            "zeroskip.host"),
}


def _modules():
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts))
            yield (name[:-len(".__init__")] if name.endswith(".__init__") else name), path


def _layer(module):
    if module in FOUNDATION:
        return "foundation"
    if any(module == t or module.startswith(t + ".") for t in TOP):
        return "top"
    for package in ("zeroskip.hdl", "zeroskip.models", "zeroskip.synth", "zeroskip.testbench",
                    "zeroskip.host"):
        if module == package or module.startswith(package + "."):
            return package
    raise AssertionError(f"{module} belongs to no layer: add it to FOUNDATION or TOP")


def _imports(module, path):
    """Absolute names of the zeroskip modules ``module`` imports (at any depth)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("zeroskip"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("zeroskip"):
                found.add(target)
    return found


def test_every_import_points_down_the_layers():
    wrong = []
    for module, path in _modules():
        layer = _layer(module)
        for target in _imports(module, path):
            if target in FOUNDATION or _layer(target) == layer:
                continue
            allowed = ALLOWED[layer]
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                wrong.append(f"{module} ({layer}) imports {target} ({_layer(target)})")
    assert not wrong, "\n".join(wrong)


def test_foundation_modules_import_no_other_layer():
    for module, path in _modules():
        if module in FOUNDATION:
            assert _imports(module, path) <= FOUNDATION, module


def test_hardware_and_models_do_not_import_each_other():
    """The generator and the golden models are two independent implementations of the same
    specification; what both need (field widths) lives in the foundation."""
    for module, path in _modules():
        for target in _imports(module, path):
            for a, b in (("zeroskip.hdl", "zeroskip.models"), ("zeroskip.models", "zeroskip.hdl")):
                assert not (module.startswith(a) and target.startswith(b)), (module, target)
