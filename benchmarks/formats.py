"""Weight storage: bits per weight versus density for dense and the compressed formats, int8
and int4, on random unstructured sparsity (N:M on its own pattern). Prints a table, writes
benchmarks/results/formats.json. Usage: python benchmarks/formats.py
"""

import json
import sys
from pathlib import Path

import numpy as np

from zeroskip import ZeroskipConfig
from zeroskip.models.codecs import encode, prune_nm, size_bits

DENSITIES = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)
K, N = 512, 256
FORMATS = [("dense", {}), ("bitmask", {"group": 8}), ("csc", {}), ("csr", {}),
           ("rle", {"run_width": 4})]


def main():
    rng = np.random.default_rng(0)
    results = []
    for width in (8, 4):
        cfg = ZeroskipConfig(weight_width=width, act_width=width)
        lo, hi = cfg.operand_range("weight")
        dense = rng.integers(lo, hi, (K, N), endpoint=True)
        dense[dense == 0] = hi  # every weight non-zero before sparsifying
        for density in DENSITIES:
            w = np.where(rng.random((K, N)) < density, dense, 0)
            row = {"weight_width": width, "density": density,
                   "measured_density": round(float(np.count_nonzero(w)) / w.size, 4)}
            for fmt, params in FORMATS:
                row[fmt] = round(size_bits(cfg, encode(cfg, w, fmt, **params)) / w.size, 3)
            results.append(row)
        for n, m in ((1, 4), (2, 4), (2, 8), (4, 8)):
            w = prune_nm(dense, n, m)
            results.append({"weight_width": width, "density": n / m, "pattern": f"{n}:{m}",
                            "nm": round(size_bits(cfg, encode(cfg, w, "nm", nm=(n, m))) / w.size,
                                        3),
                            "dense": width})
    header = ["int", "density", "dense", "bitmask", "csc", "csr", "rle", "best"]
    print(f"Bits per weight, {K}x{N} weights, random unstructured sparsity")
    print("  ".join(f"{h:>8}" for h in header))
    for r in results:
        if "pattern" in r:
            continue
        best = min(("dense", "bitmask", "csc", "csr", "rle"), key=lambda f: r[f])
        r["best"] = best
        print("  ".join(f"{x:>8}" for x in [r["weight_width"], r["density"], r["dense"],
                                              r["bitmask"], r["csc"], r["csr"], r["rle"],
                                              best]))
    print("\nN:M (values + log2(M)-bit indices), bits per weight")
    for r in results:
        if "pattern" in r:
            print(f"  int{r['weight_width']} {r['pattern']}: {r['nm']} (dense {r['dense']})")
    out = Path(__file__).parent / "results" / "formats.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
