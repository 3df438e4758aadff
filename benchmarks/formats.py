"""Weight storage: bits per weight versus density for dense and the compressed formats, int8
and int4, on random unstructured sparsity (N:M on its own patterns). Prints a table, writes
benchmarks/results/formats.json and a plot, benchmarks/results/formats.png.

Two measures per format: ``wire``, the engine's compressed weights stream for an 8-lane array
(:mod:`zeroskip.models.wire`: what the hardware decoders read, records and padding included),
and ``codec``, the matrix-level formats of :mod:`zeroskip.models.codecs` (including CSC, which
the engine does not stream). Usage: python benchmarks/formats.py [--no-plot]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from zeroskip import ZeroskipConfig
from zeroskip.models.codecs import encode, prune_nm, size_bits
from zeroskip.models.wire import encode_weight_stream, padded_weight_rows

DENSITIES = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9, 1.0)
K, N, LANES = 512, 256, 8
WIRE = ("bitmask", "csr", "rle")
CODECS = [("bitmask", {"group": 8}), ("csc", {}), ("csr", {}), ("rle", {"run_width": 4})]
NM_PATTERNS = ((1, 4), (2, 4), (2, 8), (4, 8))


def wire_bits_per_weight(cfg, w):
    stream = encode_weight_stream(cfg, padded_weight_rows(cfg, w, 1))
    return round(stream.bits / w.size, 3)


def measure(rng):
    results = []
    for width in (8, 4):
        cfg = ZeroskipConfig(rows=LANES, cols=LANES, weight_width=width, act_width=width,
                             output_stage=False)
        lo, hi = cfg.operand_range("weight")
        dense = rng.integers(lo, hi, (K, N), endpoint=True)
        dense[dense == 0] = hi  # every weight non-zero before sparsifying
        for density in DENSITIES:
            w = np.where(rng.random((K, N)) < density, dense, 0)
            row = {"weight_width": width, "density": density,
                   "measured_density": round(float(np.count_nonzero(w)) / w.size, 4),
                   "dense": width,
                   "wire": {f: wire_bits_per_weight(cfg.replace(weight_format=f), w)
                            for f in WIRE},
                   "codec": {f"{f}" + (f"-g{p['group']}" if "group" in p else ""):
                             round(size_bits(cfg, encode(cfg, w, f, **p)) / w.size, 3)
                             for f, p in CODECS}}
            sizes = {"dense": width, **row["wire"]}
            row["best_wire"] = min(sizes, key=sizes.get)
            results.append(row)
        for n, m in NM_PATTERNS:
            w = prune_nm(dense, n, m)
            nm_cfg = cfg.replace(weight_format="nm", nm_pattern=f"{n}:{m}")
            results.append({"weight_width": width, "density": n / m, "pattern": f"{n}:{m}",
                            "dense": width, "wire": {"nm": wire_bits_per_weight(nm_cfg, w)},
                            "codec": {"nm": round(size_bits(cfg, encode(cfg, w, "nm",
                                                                        nm=(n, m))) / w.size,
                                                  3)}})
    return results


def winners(results, width):
    """For each format, the densities at which its wire stream is the smallest."""
    won = {}
    for r in results:
        if r["weight_width"] == width and "pattern" not in r:
            won.setdefault(r["best_wire"], []).append(r["density"])
    return won


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    for ax, width in zip(axes, (8, 4)):
        rows = [r for r in results if r["weight_width"] == width and "pattern" not in r]
        x = [r["density"] for r in rows]
        ax.plot(x, [width] * len(x), "k-", label="dense")
        for fmt, style in zip(WIRE, ("o-", "s-", "^-")):
            ax.plot(x, [r["wire"][fmt] for r in rows], style, label=f"{fmt} (wire)")
        ax.plot(x, [r["codec"]["csc"] for r in rows], "x--", label="csc (codec)")
        nm = [r for r in results if r["weight_width"] == width and "pattern" in r]
        ax.plot([r["density"] for r in nm], [r["wire"]["nm"] for r in nm], "D",
                label="N:M (wire)")
        for r in nm:
            ax.annotate(r["pattern"], (r["density"], r["wire"]["nm"]),
                        textcoords="offset points", xytext=(4, -10), fontsize=8)
        ax.set_title(f"int{width} weights, {LANES}-lane rows")
        ax.set_xlabel("weight density (non-zero fraction)")
        ax.set_ylabel("bits per weight (metadata included)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-plot", action="store_true", help="skip the matplotlib plot")
    args = parser.parse_args()
    results = measure(np.random.default_rng(0))
    print(f"Bits per weight, {K}x{N} weights, random unstructured sparsity; wire = the "
          f"engine's stream ({LANES} lanes), codec = matrix formats")
    header = ["int", "density", "dense", "w.bitmask", "w.csr", "w.rle", "c.bitmask-g8",
              "c.csc", "c.csr", "c.rle", "best wire"]
    print("  ".join(f"{h:>9}" for h in header))
    for r in results:
        if "pattern" in r:
            continue
        print("  ".join(f"{x:>9}" for x in [
            r["weight_width"], r["density"], r["dense"], *r["wire"].values(),
            *r["codec"].values(), r["best_wire"]]))
    print("\nN:M (values + log2(M)-bit indices), bits per weight: wire / codec")
    for r in results:
        if "pattern" in r:
            print(f"  int{r['weight_width']} {r['pattern']}: {r['wire']['nm']} / "
                  f"{r['codec']['nm']} (dense {r['dense']})")
    summary = {width: winners(results, width) for width in (8, 4)}
    for width, won in summary.items():
        print(f"int{width}: smallest wire stream by density: " + "; ".join(
            f"{fmt} at {', '.join(map(str, ds))}" for fmt, ds in won.items()))
    out = Path(__file__).parent / "results" / "formats.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"results": results, "winners": summary}, indent=2) + "\n")
    print(f"wrote {out}")
    if not args.no_plot:
        plot(results, out.with_suffix(".png"))
        print(f"wrote {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
