"""Load + build benchmark: prints time and peak memory for generated regions of N claims.

    python benchmarks/load_build.py [--claims 1000000 5000000] [--dir .bench] [--full]

Each size is generated once (cached under --dir, outside the package), then measured in a fresh
process so peak memory (ru_maxrss) is that of load + build alone. `--full` also runs the whole
scan (detect, score, publish) and prints its stage timings. Target: 5M claims loaded and built in
under 60 s and 3 GB on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAIMS_PER_PATIENT = 16.8   # what the generator draws, on average


def peak_mb() -> int:
    """This process's own peak resident memory (VmHWM; ru_maxrss would include the parent's peak
    at fork time, and the parent generated the data)."""
    kb = int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))
    return round(kb / 1024)


def measure(data: str, full: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from graph.model import build_graph
    from loaders.dataset import load_dataset
    t0 = time.perf_counter()
    ds = load_dataset(data)
    t1 = time.perf_counter()
    g = build_graph(ds.tables)
    t2 = time.perf_counter()
    out = {"claims": ds["claims"].num_rows, "nodes": g.nodes.num_rows, "edges": g.edges.num_rows,
           "load_s": round(t1 - t0, 2), "build_s": round(t2 - t1, 2),
           "peak_mb": peak_mb()}
    if full:
        import tempfile

        from runs.pipeline import scan
        from runs.store import Store
        del ds, g
        with tempfile.TemporaryDirectory() as tmp:
            t3 = time.perf_counter()
            run = scan(data, Store(tmp))
            out["scan_s"] = round(time.perf_counter() - t3, 2)
            out["scan_stages"] = run["timings"]
            out["alerts"] = run["counts"]["alerts"]
        out["peak_mb_full"] = peak_mb()
    return out


def region(claims: int, folder: str, seed: int) -> Path:
    """The folder of a generated region of about `claims` claims, generated once under `folder`."""
    from loaders.synthetic import generate
    patients = max(5000, int(claims / CLAIMS_PER_PATIENT))
    data = Path(folder) / f"region-{patients}-{seed}" / "data"
    if not (data / "claims.csv").exists():
        t = time.perf_counter()
        generate(data, patients, seed)
        print(f"(generated {data} in {time.perf_counter() - t:.1f} s)", file=sys.stderr)
    return data


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--dir", default=str(ROOT / ".bench"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--full", action="store_true", help="also time the whole scan")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.full)))
        return
    sys.path.insert(0, str(ROOT))
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print(f"{'claims':>10} {'nodes':>9} {'edges':>10} {'load s':>7} {'build s':>8} {'total s':>8} {'peak MB':>8}")
    for n in args.claims:
        data = region(n, args.dir, args.seed)
        cmd = [sys.executable, __file__, "--measure", str(data)] + (["--full"] if args.full else [])
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        print(f"{r['claims']:>10,} {r['nodes']:>9,} {r['edges']:>10,} {r['load_s']:>7.2f} {r['build_s']:>8.2f} "
              f"{r['load_s'] + r['build_s']:>8.2f} {r['peak_mb']:>8,}")
        if args.full:
            print(f"{'':>10} full scan {r['scan_s']:.2f} s, stages {r['scan_stages']}, {r['alerts']} alerts, "
                  f"peak {r['peak_mb_full']:,} MB")


if __name__ == "__main__":
    main()
