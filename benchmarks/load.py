"""The load stage alone (issue #19): seconds and peak memory of `load_dataset(..., claims_to=…)`.

    python benchmarks/load.py [--regions generator second] [--claims 5000000]
                              [--second-patients 160000] [--dir .bench] [--merge]
                              [--duckdb memory_limit=128MB]

Each region (generated once and cached under --dir, as `scan.py` does) is loaded in a fresh
process, as a scan's load stage does: on a scan's DuckDB engine, validated and typed, the claims
written to Parquet in a temporary folder and left there (a view of the engine over the file). Printed: claims, seconds, the process's peak resident memory (VmHWM, MB) and its
resident memory before loading (the interpreter and the libraries), and the load average.

`--merge` loads each region as two sources instead: its folder and a folder of links to the same
files, so every claim comes twice, with the same values — the merge's worst case (`_merge`: every
key repeated, twice the claims read, one copy kept); printed claims are the merged table's.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def vm(field: str) -> int:
    """This process's `field` of /proc/self/status (VmHWM: peak resident, VmRSS: resident), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def load(data: str, merge: bool = False, conf: dict | None = None) -> dict:
    from engine import open_engine, use
    from loaders.dataset import load_dataset
    before = vm("VmRSS")
    with tempfile.TemporaryDirectory() as work, use(open_engine("duckdb")) as engine:
        sources = data
        if merge:           # a second source of the same files (links): every claim twice
            again = Path(work) / "again"
            again.mkdir()
            for f in Path(data).iterdir():
                if f.is_file():
                    (again / f.name).symlink_to(f.resolve())
            sources = [data, str(again)]
        t = time.perf_counter()       # on a scan's engine, as `runs.pipeline` loads: the claims stay in the file
        dataset = load_dataset(sources, claims_to=Path(work) / "claims.parquet",
                               **({"duckdb_conf": conf} if conf else {}))
        seconds = time.perf_counter() - t
        claims = dataset.tables["claims"].num_rows
        del dataset
        engine.close()
    return {"claims": claims, "seconds": round(seconds, 2), "peak_mb": vm("VmHWM"), "base_mb": before}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--regions", nargs="*", default=["generator", "second"])
    ap.add_argument("--claims", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--second-patients", type=int, default=160_000)
    ap.add_argument("--second-seed", type=int, default=1101)
    ap.add_argument("--worlds", default=str(ROOT.parent / "shared" / "worlds"))
    ap.add_argument("--dir", default=str(ROOT / ".bench"))
    ap.add_argument("--merge", action="store_true", help="load each region as two sources of the same files")
    ap.add_argument("--duckdb", action="append", default=[], metavar="SETTING=VALUE",
                    help="a DuckDB setting of the load's connection (load_dataset's duckdb_conf), e.g. "
                         "memory_limit=128MB; repeatable")
    ap.add_argument("--load", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.load:
        print(json.dumps(load(args.load, args.merge, dict(s.split("=", 1) for s in args.duckdb))))
        return
    from scan import dataset
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    for name in args.regions:
        data = dataset(name, args)
        before = os.getloadavg()[0]
        p = subprocess.run([sys.executable, __file__, "--load", str(data)] + (["--merge"] if args.merge else [])
                           + [f"--duckdb={s}" for s in args.duckdb],
                           capture_output=True, text=True, check=True)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"{name + (' x2' if args.merge else ''):<13} {r['claims']:>10,} claims  {r['seconds']:>6.2f} s  peak {r['peak_mb']:>6,} MB "
              f"(before loading {r['base_mb']:,} MB)  load avg {before:.1f} / {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
