"""Sync throughput to Neo4j for the demo region.

    python benchmarks/neo4j_sync.py [--patients 20000] [--seed 7] [--batch-size 5000]

Generates and scans the demo region, then syncs it to the server named by NEO4J_TEST_URI (and
NEO4J_TEST_USER/PASSWORD/DATABASE; a scratch database, emptied first) or, by default, to a
Neo4j 5.26 Community server started for the run (tests/neo4j_server.py; needs `make
install-test neo4j-test-server`).
Prints nodes and relationships per second for the first sync (empty database, server just
started), a resync (every row matched and rewritten) and a first sync on the warm server (the
database emptied again), the machine's load average as it goes, and a table of every
statement's rows, seconds and rows per second.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch-size", type=int, default=5000)
    args = ap.parse_args()
    from publish.neo4j import driver, sync
    from runs.pipeline import scan
    from runs.store import Store
    from loaders.synthetic import generate
    from tests.conftest import empty_neo4j
    from tests.neo4j_server import neo4j_server

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "data", args.patients, args.seed)
        store = Store(Path(tmp) / "store")
        run = scan(Path(tmp) / "data", store)
        print(f"region: {args.patients:,} patients, {run['counts']['claims']:,} claims, "
              f"{run['counts']['nodes']:,} graph nodes, {run['counts']['edges']:,} edges, "
              f"{run['counts']['alerts']:,} alerts")
        with neo4j_server(heap="2g") as running:
            server = running.settings
            empty_neo4j(server)
            with driver(server) as d:
                agent = d.get_server_info().agent
            print(f"server: {agent}; batch size {args.batch_size:,}; load average {_load()}")
            reports = {}
            # a first sync on a server just started (queries planned and compiled for the first
            # time), a resync (every row matched and rewritten), a first sync again on the now
            # warm server into an emptied database (what a long-running server does)
            for label in ("first sync", "resync", "first sync, warm server"):
                if label == "first sync, warm server":
                    empty_neo4j(server)
                t0 = time.perf_counter()
                r = reports[label] = sync(store, server, batch_size=args.batch_size)
                s = time.perf_counter() - t0
                secs = r["seconds_by_statement"]
                ns_ = sum(v for k, v in secs.items() if k.startswith("sync_nodes_") or k in ("sync_alerts", "sync_communities"))
                rs_ = sum(secs.values()) - ns_
                print(f"{label}: {s:.1f} s in all ({(r['nodes'] + r['relationships']) / s:,.0f} rows/s); "
                      f"{r['nodes']:,} nodes in {ns_:.1f} s ({r['nodes'] / ns_:,.0f}/s), "
                      f"{r['relationships']:,} relationships in {rs_:.1f} s ({r['relationships'] / rs_:,.0f}/s); "
                      f"the rest (schema, stale check) {s - ns_ - rs_:.1f} s; load average {_load()}")
            print("\n| statement | rows | " + " | ".join(f"{label} s | rows/s" for label in reports) + " |")
            print("|---|---|" + "---|---|" * len(reports))
            for name, rows in reports["first sync"]["written"].items():
                cells = [(r["seconds_by_statement"][name]) for r in reports.values()]
                print(f"| {name} | {rows:,} | " + " | ".join(f"{c:.1f} | {_rate(rows, c)}" for c in cells) + " |")


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds >= 0.05 else "-"


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
