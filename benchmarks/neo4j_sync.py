"""Sync throughput to Neo4j for the demo region.

    python benchmarks/neo4j_sync.py [--patients 20000] [--seed 7] [--batch-size 5000]

Generates and scans the demo region, then syncs it to the server named by NEO4J_TEST_URI (and
NEO4J_TEST_USER/PASSWORD/DATABASE; a scratch database, emptied first) or, by default, to a
Neo4j 5.26 Community server started for the run (tests/neo4j_server.py; needs `make
install-test neo4j-test-server`).
Prints nodes and relationships per second for the first sync (empty database) and for a resync
(every row matched and rewritten), and the slowest statements.
"""
from __future__ import annotations

import argparse
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
            print(f"server: {agent}; batch size {args.batch_size:,}")
            for label in ("first sync", "resync"):
                t0 = time.perf_counter()
                r = sync(store, server, batch_size=args.batch_size)
                s = time.perf_counter() - t0
                secs = r["seconds_by_statement"]
                ns_ = sum(v for k, v in secs.items() if k.startswith("sync_nodes_") or k in ("sync_alerts", "sync_communities"))
                rs_ = sum(secs.values()) - ns_
                print(f"{label}: {s:.1f} s in all ({(r['nodes'] + r['relationships']) / s:,.0f} rows/s); "
                      f"{r['nodes']:,} nodes in {ns_:.1f} s ({r['nodes'] / ns_:,.0f}/s), "
                      f"{r['relationships']:,} relationships in {rs_:.1f} s ({r['relationships'] / rs_:,.0f}/s); "
                      f"the rest (schema, stale check) {s - ns_ - rs_:.1f} s")
                slow = sorted(r["seconds_by_statement"].items(), key=lambda kv: -kv[1])[:4]
                print("  slowest: " + ", ".join(f"{k} {v:.1f} s" for k, v in slow))


if __name__ == "__main__":
    main()
