"""Reading a run's results for investigators: entities, neighbourhoods, paths, communities.

Every function takes a DuckDB cursor on a finished run's results (read-only) and returns plain
dicts. Hubs — nodes with more than `hub_degree` links, a big pharmacy or a hospital — are shown
but never expanded, so a neighbourhood or a path does not run through the whole region.
"""
from __future__ import annotations

import math

import networkx as nx

from .store import NotFound

EDGE_FIELDS = ("src", "dst", "rel", "n", "amount", "patients", "first_date", "last_date", "role", "kind")


_NODE = """
    SELECT n.node_id, n.entity_type, n.entity_id, n.kind, n.specialty, n.name, n.postcode, n.roles,
           coalesce(d.degree, 0), r.score
    FROM nodes n LEFT JOIN node_degree d USING (node_id)
    LEFT JOIN entity_risk r ON r.entity_type = n.entity_type AND r.entity_id = n.entity_id
"""


def _node_rows(cur, ids: list[str]) -> dict[str, dict]:
    if len(ids) == 1:      # a point lookup uses the index
        rows = cur.execute(_NODE + "WHERE n.node_id = $id", {"id": ids[0]}).fetchall()
    else:
        rows = cur.execute(_NODE + "WHERE n.node_id IN (SELECT unnest($ids))", {"ids": ids}).fetchall()
    keys = ("node_id", "entity_type", "entity_id", "kind", "specialty", "name", "postcode", "roles", "degree", "risk")
    return {r[0]: dict(zip(keys, r)) for r in rows}


def _edges_of(cur, ids: list[str]) -> list[dict]:
    """Every edge touching `ids`, strongest first (point lookups on the indexes for a few ids)."""
    if not ids:
        return []
    order = "ORDER BY amount DESC NULLS LAST, n DESC NULLS LAST, rel, src, dst"
    cols = ", ".join(EDGE_FIELDS)
    if len(ids) <= 8:
        rows = []
        for i in ids:
            rows += cur.execute(f"SELECT {cols} FROM edges WHERE src = $id UNION ALL "
                                f"SELECT {cols} FROM edges WHERE dst = $id", {"id": i}).fetchall()
        rows = sorted(set(rows), key=lambda r: (-(r[4] or 0), -(r[3] or 0), r[2], r[0], r[1]))
    else:
        rows = cur.execute(f"SELECT {cols} FROM edges WHERE src IN (SELECT unnest($ids)) "
                           f"OR dst IN (SELECT unnest($ids)) {order}", {"ids": ids}).fetchall()
    return [dict(zip(EDGE_FIELDS, r)) for r in rows]


def _one(cur, sql: str, params: dict) -> dict | None:
    res = cur.execute(sql, params)
    rows = res.fetchall()
    return dict(zip([x[0] for x in res.description], rows[0])) if rows else None


def entity(cur, entity_type: str, entity_id: str) -> dict:
    """Point lookups only (each on an index), so the cost does not grow with the graph."""
    node_id = f"{entity_type}:{entity_id}"
    node = _one(cur, "SELECT node_id, entity_type, entity_id, kind, specialty, name, postcode, roles "
                     "FROM nodes WHERE node_id = $n", {"n": node_id})
    if node is None:
        raise NotFound(f"no {entity_type} {entity_id!r} in this run")
    degree = _one(cur, "SELECT degree FROM node_degree WHERE node_id = $n", {"n": node_id})
    risk = _one(cur, "SELECT score, direct_score, network_score, reasons FROM entity_risk "
                     "WHERE entity_type = $t AND entity_id = $i", {"t": entity_type, "i": entity_id})
    cen = _one(cur, "SELECT degree, strength, pagerank, betweenness, participation, broker FROM centrality "
                    "WHERE node_id = $n", {"n": node_id})
    comms = [c for (c,) in cur.execute("SELECT community_id FROM communities WHERE node_id = $n ORDER BY 1",
                                       {"n": node_id}).fetchall()]
    roles = cur.execute("SELECT alert_id, role FROM alert_entities WHERE entity_type = $t AND entity_id = $i",
                        {"t": entity_type, "i": entity_id}).fetchall()
    alerts = []
    for alert_id, role in roles:
        a = _one(cur, "SELECT alert_id, pattern, score, summary FROM alerts WHERE alert_id = $a", {"a": alert_id})
        alerts.append({**a, "role": role})
    alerts.sort(key=lambda a: (-a["score"], a["alert_id"], a["role"]))
    return {**node, "degree": degree["degree"] if degree else 0, "risk": risk, "alerts": alerts,
            "communities": comms, "centrality": cen}


def neighbourhood(cur, node_id: str, depth: int, max_nodes: int, hub_degree: int) -> dict:
    """The ego network up to `depth` hops, strongest links first, at most `max_nodes` nodes."""
    start = _node_rows(cur, [node_id])
    if node_id not in start:
        raise NotFound(f"no entity {node_id!r} in this run")
    kept, frontier, edges, truncated = {node_id}, [node_id], {}, False
    degree = {node_id: start[node_id]["degree"]}
    for _ in range(depth):
        if len(kept) >= max_nodes:       # full: expanding further could only be cut
            truncated = truncated or bool(frontier)
            break
        expand = [n for n in frontier if n == node_id or degree.get(n, 0) <= hub_degree]
        nxt = []
        for e in _edges_of(cur, expand):
            for other in (e["src"], e["dst"]):
                if other not in kept:
                    if len(kept) >= max_nodes:
                        truncated = True
                        continue
                    kept.add(other)
                    nxt.append(other)
            if e["src"] in kept and e["dst"] in kept:
                edges[(e["src"], e["dst"], e["rel"])] = e
        if nxt:
            degree.update({n: r["degree"] for n, r in _node_rows(cur, nxt).items()})
        frontier = nxt
        if not frontier:
            break
    nodes = _node_rows(cur, sorted(kept))
    for n in nodes.values():
        n["hub"] = n["degree"] > hub_degree and n["node_id"] != node_id
    return {"center": node_id, "depth": depth, "truncated": truncated,
            "nodes": [nodes[n] for n in sorted(nodes)],
            "edges": sorted(edges.values(), key=lambda e: (e["src"], e["dst"], e["rel"]))}


def paths(cur, source: str, target: str, k: int, max_hops: int, hub_degree: int, max_nodes: int = 20000) -> dict:
    """Up to `k` shortest paths of at most `max_hops` links, never through a hub."""
    ends = _node_rows(cur, [source, target])
    for n in (source, target):
        if n not in ends:
            raise NotFound(f"no entity {n!r} in this run")
    g = nx.Graph()
    g.add_nodes_from([source, target])
    links: dict[tuple, dict] = {}
    for root, levels in ((source, math.ceil(max_hops / 2)), (target, max_hops // 2)):
        frontier, seen = [root], {root}
        for _ in range(levels):
            rows = _node_rows(cur, frontier)
            expand = [n for n in frontier if n in (source, target) or rows.get(n, {}).get("degree", 0) <= hub_degree]
            nxt = []
            for e in _edges_of(cur, expand):
                links.setdefault(tuple(sorted((e["src"], e["dst"]))), e)
                g.add_edge(e["src"], e["dst"])
                for other in (e["src"], e["dst"]):
                    if other not in seen and len(seen) < max_nodes:
                        seen.add(other)
                        nxt.append(other)
            frontier = nxt
    hubs = {n for n, r in _node_rows(cur, list(g.nodes)).items() if r["degree"] > hub_degree} - {source, target}
    g.remove_nodes_from(hubs)
    found = []
    if nx.has_path(g, source, target):
        for p in nx.shortest_simple_paths(g, source, target):
            if len(p) - 1 > max_hops or len(found) >= k:
                break
            found.append({"nodes": p, "hops": len(p) - 1,
                          "edges": [links[tuple(sorted((a, b)))] for a, b in zip(p, p[1:])]})
    return {"source": source, "target": target, "paths": found, "hubs_avoided": len(hubs)}


def communities(cur, graph: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    where = "WHERE $g IS NULL OR graph = $g"
    total = cur.execute(f"SELECT count(*) FROM community_summary {where}", {"g": graph}).fetchall()[0][0]
    rows = cur.execute(f"SELECT * FROM community_summary {where} ORDER BY risk DESC, flagged DESC, community_id "
                       f"LIMIT $l OFFSET $o", {"g": graph, "l": limit, "o": offset})
    names = [d[0] for d in rows.description]
    return [dict(zip(names, r)) for r in rows.fetchall()], total


def community(cur, community_id: str) -> dict:
    rows = cur.execute("SELECT * FROM community_summary WHERE community_id = $c", {"c": community_id})
    names = [d[0] for d in rows.description]
    found = rows.fetchall()
    if not found:
        raise NotFound(f"no community {community_id!r} in this run")
    members = cur.execute("""
        SELECT c.entity_type, c.entity_id, n.kind, n.specialty, n.name, r.score
        FROM communities c JOIN nodes n USING (node_id)
        LEFT JOIN entity_risk r ON r.entity_type = c.entity_type AND r.entity_id = c.entity_id
        WHERE c.community_id = $c ORDER BY r.score DESC NULLS LAST, c.entity_id""", {"c": community_id}).fetchall()
    alerts = cur.execute("""
        SELECT DISTINCT a.alert_id, a.pattern, a.score, a.summary FROM alerts a
        JOIN alert_entities e USING (alert_id)
        JOIN communities c ON c.entity_type = e.entity_type AND c.entity_id = e.entity_id
        WHERE c.community_id = $c ORDER BY a.score DESC, a.alert_id""", {"c": community_id}).fetchall()
    return {**dict(zip(names, found[0])),
            "members": [dict(zip(("entity_type", "entity_id", "kind", "specialty", "name", "risk"), m)) for m in members],
            "alerts": [dict(zip(("alert_id", "pattern", "score", "summary"), a)) for a in alerts]}
