"""The national FINESS register through the loader, the graph and the entity-network detector.

    python benchmarks/finess.py [--data ../shared/data/finess-fhir-2021]

Prints the time of each step, peak memory, the largest multi-site legal entities, and the
largest groups of legal entities linked by shared (non-hub) addresses and phones. The register
has no billing, so the detector finds networks but raises no alert: that needs claims.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "finess-fhir-2021"))
    args = ap.parse_args()
    from graph.entity_network import _LINKS, detect_entity_networks
    from graph.model import build_graph
    from graph.network import connected_components
    from graph.settings import EntityNetworkSettings
    from engine import query
    from contract.tables import TABLES, empty_table
    from loaders.fhir import read_finess
    t0 = time.perf_counter()
    registry = read_finess([args.data])
    t1 = time.perf_counter()
    tables = {n: registry.get(n, empty_table(n)) for n in TABLES}
    graph = build_graph(tables)
    t2 = time.perf_counter()
    findings = detect_entity_networks(tables, graph, EntityNetworkSettings())
    t3 = time.perf_counter()
    print(f"load {t1 - t0:.1f} s ({', '.join(f'{k} {v.num_rows:,}' for k, v in registry.items())})")
    print(f"graph {t2 - t1:.1f} s ({graph.nodes.num_rows:,} nodes, {graph.edges.num_rows:,} edges, "
          f"{graph.hubs.num_rows:,} hub identifiers left unlinked)")
    print(f"entity_network detector {t3 - t2:.1f} s: {findings.alerts.num_rows} alerts (no claims, no billing to judge)")
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    sites = query("""SELECT legal_entity_id, count(*) AS sites, list(DISTINCT kind ORDER BY kind) AS kinds FROM (
                        SELECT legal_entity_id, kind FROM c UNION ALL SELECT legal_entity_id, kind FROM p WHERE kind = 'pharmacy')
                     GROUP BY 1 ORDER BY sites DESC, 1 LIMIT 5""", c=registry["centres"], p=registry["providers"])
    print("largest multi-site legal entities:")
    for r in sites.to_pylist():
        print(f"  {r['legal_entity_id']}: {r['sites']} sites ({', '.join(r['kinds'])})")
    links = query(_LINKS, {"days": 180}, e=graph.edges, le=tables["legal_entities"], ident=tables["identifiers"],
                  hubs=graph.hubs, officers=tables["officers"]).to_pylist()
    groups = [g for g in connected_components([(l["src"], l["dst"]) for l in links])
              if sum(n.startswith("legal_entity:") for n in g) >= 2]
    groups.sort(key=lambda g: -sum(n.startswith("legal_entity:") for n in g))
    print(f"{len(groups):,} groups of two or more legal entities linked through their sites' shared addresses or phones;"
          f" largest:")
    for g in groups[:5]:
        les = [n for n in g if n.startswith("legal_entity:")]
        print(f"  {len(les)} legal entities, {len(g) - len(les)} sites, e.g. {', '.join(sorted(les)[:3])}")


if __name__ == "__main__":
    main()
