"""The same scan on DuckDB and on Spark (local master): wall time, peak memory per claim, and
whether both publish the same results.

    .venv/bin/python benchmarks/engines.py [--patients 5000 20000] [--engines duckdb spark]
                                           [--driver-memory 4g]

For each generated region (seed 7, as `make demo`) the engines scan it in turn, in one store
(one secret for opaque alert ids, stable community ids: the later scans have the first as their
previous run), each with `fraudnet scan DATA --engine E --export DIR`. Printed per scan: the
wall time, the stage timings, the peak resident memory of the scan's whole process tree (the CLI,
the scan's worker and, on Spark, the JVM: the sum of their RSS, sampled every 0.2 s from /proc)
and that peak per claim; per region, the marginal memory per claim between the first two
regions (the difference of peaks over the difference of claims: what a claim costs beyond the
libraries), Spark's time over DuckDB's, and whether every exported CSV is the same on each
engine as on the first. Needs the extra `spark` (make spark-deps) for the Spark rows, and
Linux (/proc). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    """Bytes resident in process `root` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            pid = int(entry.name)
            children.setdefault(int(fields[1]), []).append(pid)      # fields[1]: ppid
            rss[pid] = int(fields[21]) * PAGE                          # fields[21]: rss in pages
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def _run(cmd: list) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run `cmd`; its result, wall seconds and the peak RSS of its process tree (bytes)."""
    t0, peak = time.perf_counter(), 0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err, text=True)
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read()), wall, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, nargs="+", default=[5000, 20000])
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--driver-memory", default="4g", help="spark.driver.memory (the machine is shared)")
    args = ap.parse_args()
    peaks: dict[str, list[tuple[int, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="fraudnet-engines-") as tmp:
        root = Path(tmp)
        settings = root / "settings.json"
        settings.write_text(json.dumps({"spark_conf": {"spark.driver.memory": args.driver_memory}}))
        print(f"{'patients':>8} {'claims':>10} {'engine':>7} {'wall s':>8} {'peak MB':>8} {'B/claim':>8}  stages (s)")
        for n in args.patients:
            data, store = root / f"region-{n}", root / f"store-{n}"
            subprocess.run([BIN / "fraudnet", "generate", data, "--patients", str(n), "--seed", str(args.seed)],
                           check=True, capture_output=True)
            claims = sum(1 for _ in open(data / "claims.csv")) - 1
            walls = {}
            for engine in args.engines:
                done, wall, peak = _run([BIN / "fraudnet", "scan", data, "--store", store, "--settings", settings,
                                         "--export", root / f"export-{n}-{engine}", "--engine", engine])
                if done.returncode != 0:
                    print(f"{n:>8} {claims:>10,} {engine:>7} failed: {done.stderr[-500:]}", flush=True)
                    continue
                walls[engine] = wall
                peaks.setdefault(engine, []).append((claims, peak))
                stages = dict(re.findall(r"^\s+(\w+)\s+([\d.]+) s$", done.stderr, re.M))
                print(f"{n:>8} {claims:>10,} {engine:>7} {wall:>8.1f} {peak / 2**20:>8.0f} "
                      f"{peak / claims:>8.0f}  {json.dumps(stages)}", flush=True)
            first = root / f"export-{n}-{args.engines[0]}"
            for engine in args.engines[1:]:
                if engine in walls and args.engines[0] in walls:
                    names = sorted(p.name for p in first.glob("*.csv"))
                    _, mismatch, errors = filecmp.cmpfiles(first, root / f"export-{n}-{engine}", names, shallow=False)
                    print(f"{'':>8} {engine} / {args.engines[0]}: {walls[engine] / walls[args.engines[0]]:.1f}× the time; "
                          f"exported CSVs ({len(names)}): "
                          + ("all the same" if not mismatch + errors else f"different: {', '.join(mismatch + errors)}"),
                          flush=True)
        for engine, points in peaks.items():
            if len(points) >= 2:
                (c0, p0), (c1, p1) = points[0], points[-1]
                print(f"marginal memory per claim, {engine}: ({p1 / 2**20:.0f} - {p0 / 2**20:.0f}) MB / "
                      f"{c1 - c0:,} claims = {(p1 - p0) / (c1 - c0):.0f} bytes")


if __name__ == "__main__":
    main()
