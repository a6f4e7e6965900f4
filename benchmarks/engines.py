"""The same scan on DuckDB and on Spark (local master): wall time and peak memory per claim.

    .venv/bin/python benchmarks/engines.py [--patients 5000 20000] [--engines duckdb spark]

For each generated region (seed 7) and engine, runs `fraudnet scan DATA --engine E` under
`/usr/bin/time -v` in a fresh store and prints the scan's wall time, the stage timings and the
peak resident memory of the largest process (the scan's worker on DuckDB, Spark's JVM on Spark:
`ru_maxrss` of the descendants is the largest one's, not their sum), and that memory per claim.
Needs the extra `spark` (make spark-deps) for the Spark rows. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, nargs="+", default=[5000, 20000])
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"])
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="fraudnet-engines-") as tmp:
        root = Path(tmp)
        print(f"{'patients':>8} {'claims':>10} {'engine':>7} {'wall s':>8} {'peak MB':>8} {'B/claim':>8}  stages (s)")
        for n in args.patients:
            data = root / f"region-{n}"
            subprocess.run([BIN / "fraudnet", "generate", data, "--patients", str(n), "--seed", str(args.seed)],
                           check=True, capture_output=True)
            claims = sum(1 for _ in open(data / "claims.csv")) - 1
            for engine in args.engines:
                store = root / f"store-{n}-{engine}"
                t0 = time.perf_counter()
                done = subprocess.run(["/usr/bin/time", "-v", BIN / "fraudnet", "scan", data, "--store", store,
                                       "--engine", engine], capture_output=True, text=True)
                wall = time.perf_counter() - t0
                if done.returncode != 0:
                    print(f"{n:>8} {claims:>10,} {engine:>7} failed: {done.stderr[-500:]}")
                    continue
                peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
                stages = dict(re.findall(r"^\s+(\w+)\s+([\d.]+) s$", done.stderr, re.M))
                print(f"{n:>8} {claims:>10,} {engine:>7} {wall:>8.1f} {peak_kb / 1024:>8.0f} "
                      f"{peak_kb * 1024 / claims:>8.0f}  {json.dumps(stages)}", flush=True)


if __name__ == "__main__":
    main()
