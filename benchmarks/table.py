"""Markdown table from one or more `benchmarks/run.py --json` files (medians across runs)."""
import json
import sys

import numpy as np

TITLES = {"1d": "1-D float64, N=1e6", "2d": "2-D float32, 2048x2048", "3d": "3-D float32, 128^3",
          "sep": "Gaussian float32 4096x4096 (reflect)", "2d4k": "2-D float32, 4096x4096",
          "1d1e7": "1-D float64, N=1e7", "3d256": "3-D float32, 256^3",
          "filters": "filter 2048x2048", "match": "match_template 2048x2048",
          "restore": "richardson_lucy 512x512", "stream": "stream 48 kHz stereo, 3 s IR",
          "lfilter": "lfilter FIR 48 kHz stereo 10 s"}


def main(paths):
    runs = [json.load(open(p)) for p in paths]
    print("| case | fastconv method | fastconv ms | anchors: ms (fastconv/anchor) | vs best |")
    print("|---|---|---|---|---|")
    for i, row in enumerate(runs[0]):
        rows = [r[i] for r in runs]
        if row["group"] == "peak":
            peak = np.median([r["gflops"] for r in rows])
            print(f"| float32 GEMM peak (numpy matmul 2048^2) | {peak:.0f} GFLOP/s | | | |")
            continue
        ours = np.median([r["fastconv_s"] for r in rows]) * 1e3
        anchors = {}
        for n in row["anchors_s"]:
            anchors[n] = np.median([r["anchors_s"][n] for r in rows]) * 1e3
        ratio = (np.median([r["ratio_best"] for r in rows])
                 if rows[0]["ratio_best"] is not None else None)
        best = min(anchors, key=anchors.get) if anchors else None
        K = row["K"]
        kdesc = {"1d": f"K={K}", "2d": f"{K}x{K}", "3d": f"{K}^3", "sep": f"sigma {K}",
                 "2d4k": f"{K}x{K}", "1d1e7": f"K={K}", "3d256": f"{K}^3",
                 "match": f"{K}x{K} template", "stream": f"block {K}",
                 "peak": "",
                 "lfilter": f"{K} taps"}.get(row["group"], str(K))
        gf = [r.get("gflops") for r in rows if r.get("gflops")]
        pct = [r.get("peak_pct") for r in rows if r.get("peak_pct")]
        same = [r.get("peak_pct_same_rounds") for r in rows if r.get("peak_pct_same_rounds")]
        method = row["method"] + (f" ({np.median(gf):.0f} GFLOP/s" if gf else "")
        if gf:
            method += f", {np.median(pct):.0f}% of peak" if pct else ""
            method += f", {np.median(same):.0f}% of the GEMM interleaved" if same else ""
            method += ")"
        rt = [r.get("realtime_x") for r in rows if r.get("realtime_x")]
        if rt:
            method = f"{np.median(rt):.0f}x real time"
        parts = "; ".join(f"{n} {v:.1f} ({ours / v:.2f}x)" for n, v in anchors.items())
        if not anchors:
            print(f"| {TITLES[row['group']]}, {kdesc} | {method} | {ours:.1f} | - | - |")
            continue
        print(f"| {TITLES[row['group']]}, {kdesc} | {method} | {ours:.1f} | {parts} | "
              f"**{ratio:.2f}x** {best} |")


if __name__ == "__main__":
    main(sys.argv[1:])
