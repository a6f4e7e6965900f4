"""Validation and SNDS conversion benchmark: prints seconds, and validation against a plain read.

    python benchmarks/validate.py [--claims 1000000 5000000] [--data FOLDER…] [--parquet] [--snds 1000000]
                                  [--repeat N] [--dir .bench]

For each size, a generated region (cached under --dir, as benchmarks/load_build.py caches it),
and each `--data` folder (e.g. the regions `benchmarks/scan.py` caches), is read twice in a fresh
process: a plain typed read of every table file of the folder (pyarrow, the contract's types, no
checks; the same reader and threads the loader uses) and `load_dataset` (every check of the
contract loader, typed tables out), with the process's peak memory (VmHWM) after both; the ratio
is the cost of validation (issue #18's target: at most 2). `--parquet` measures the same folders
converted once to Parquet (`fraudnet convert parquet`, cached beside them) too. `--snds N`
converts a DCIR extract of about N service lines, the shipped example extract repeated under
fresh keys (with its information lines, regularisations, sentinels and detail rows). Timings are
wall-clock seconds on whatever else the machine is running: compare runs made side by side.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_build import region  # noqa: E402


def plain_read(data: Path) -> dict:
    """Every contract table file of `data` read with the contract's types and nothing else."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from contract.tables import TABLES
    from loaders.dataset import find_table_file
    tables = {}
    for name, spec in TABLES.items():
        path = find_table_file(data, name)
        if path is None:
            continue
        if path.name.endswith(".parquet"):
            tables[name] = pq.read_table(path)
        else:
            types = {f.name: f.type for f in spec.schema}
            tables[name] = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    return tables


def peak_mb() -> int:
    """This process's peak resident memory (VmHWM), in MB."""
    kb = int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))
    return round(kb / 1024)


def measure(data: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from loaders.dataset import load_dataset
    t0 = time.perf_counter()
    plain = plain_read(Path(data))
    t1 = time.perf_counter()
    del plain
    ds = load_dataset(data)
    t2 = time.perf_counter()
    return {"claims": ds["claims"].num_rows, "plain_s": round(t1 - t0, 2), "load_s": round(t2 - t1, 2),
            "peak_mb": peak_mb()}


def as_parquet(data: Path) -> Path:
    """The folder `data` converted to Parquet (`fraudnet convert parquet`), once, beside it."""
    sys.path.insert(0, str(ROOT))
    from loaders.parquet import convert_parquet, write_parquet
    out = data.parent / f"{data.name}-parquet"
    if not (out / "claims.parquet").exists():
        write_parquet(convert_parquet(data), out)
    return out


def snds_extract(folder: Path, lines: int) -> int:
    """The shipped example extract, repeated under fresh DCT_ORD_NUM until about `lines` service lines."""
    sys.path.insert(0, str(ROOT))
    from loaders import EXAMPLES
    src = EXAMPLES / "snds"
    folder.mkdir(parents=True, exist_ok=True)
    tables = {}
    for p in src.glob("*.csv"):
        with open(p, newline="", encoding="utf-8") as f:
            tables[p.name] = list(csv.reader(f, delimiter=";"))
    copies = max(1, lines // (len(tables["ER_PRS_F.csv"]) - 1))
    for name, rows in tables.items():
        k = rows[0].index("DCT_ORD_NUM")
        with open(folder / name, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, delimiter=";")
            w.writerow(rows[0])
            for c in range(copies):
                for r in rows[1:]:
                    w.writerow(r[:k] + [str(int(r[k]) + c * 100_000)] + r[k + 1:])
    return copies * (len(tables["ER_PRS_F.csv"]) - 1)


def measure_snds(folder: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from loaders.snds import read_snds
    t0 = time.perf_counter()
    c = read_snds(folder)
    return {"lines": c.report["service_lines"]["read"], "claims": c["claims"].num_rows,
            "convert_s": round(time.perf_counter() - t0, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, nargs="*", default=[1_000_000])
    ap.add_argument("--data", nargs="*", default=[], help="dataset folders measured too")
    ap.add_argument("--parquet", action="store_true", help="each folder converted to Parquet too")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--snds", type=int, nargs="*", default=[])
    ap.add_argument("--dir", default=str(ROOT / ".bench"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--measure-snds", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if args.measure_snds:
        print(json.dumps(measure_snds(args.measure_snds)))
        return
    sys.path.insert(0, str(ROOT))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    folders = [region(n, args.dir, args.seed) for n in args.claims] + [Path(d) for d in args.data]
    if args.parquet:
        folders = [f for d in folders for f in (d, as_parquet(d))]
    if folders:
        print(f"{'dataset':<40} {'claims':>10} {'plain read s':>13} {'validate s':>11} {'ratio':>6} {'peak MB':>8}")
    for data in folders:
        for _ in range(args.repeat):
            cmd = [sys.executable, __file__, "--measure", str(data)]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            print(f"{data.parent.name + '/' + data.name:<40} {r['claims']:>10,} {r['plain_s']:>13.2f} "
                  f"{r['load_s']:>11.2f} {r['load_s'] / r['plain_s']:>6.1f} {r['peak_mb']:>8,}", flush=True)
    for n in args.snds:
        folder = Path(args.dir) / f"snds-{n}"
        if not (folder / "ER_PRS_F.csv").exists():
            snds_extract(folder, n)
        r = json.loads(subprocess.run([sys.executable, __file__, "--measure-snds", str(folder)], check=True,
                                      capture_output=True, text=True).stdout)
        print(f"SNDS: {r['lines']:,} service lines → {r['claims']:,} claims in {r['convert_s']:.2f} s "
              f"({r['lines'] / r['convert_s']:,.0f} lines/s)")


if __name__ == "__main__":
    main()
