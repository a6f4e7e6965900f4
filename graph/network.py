"""Network analytics on provider-level graphs: communities, centrality, the network risk is judged on.

Two graphs are analysed:

* the **shared-patient projection** (`sp`): providers linked by the number of patients they both
  billed (`graph.shared.Shared.projection`, computed once per scan);
* the **prescription-flow graph** (`rx`): prescriber → pharmacy, weighted by patients.

igraph does the arithmetic; vertex integers never leave this module (the adapter `_igraph` maps
the sorted string ids in and out). Every randomised step takes the `seed`, and igraph runs on one
OpenMP thread (`_one_thread`): its PageRank solver (PRPACK) otherwise adds its partial sums in
whatever order its threads finish, and two calls on the same graph differ in the last digits
(from about 2,000 vertices on this project's 2-core machine; one thread was also the faster there,
2.5 s against 3.8 s on a graph of 200,000 vertices and a million edges, loaded machine).
"""
from __future__ import annotations

import random

import igraph as ig
import leidenalg
import pyarrow as pa
from threadpoolctl import threadpool_limits

from .model import Graph
from engine import query

COMMUNITIES = pa.schema([("community_id", pa.string()), ("entity_type", pa.string()),
                         ("entity_id", pa.string()), ("node_id", pa.string())])
CENTRALITY = pa.schema([("node_id", pa.string()), ("degree", pa.int64()), ("strength", pa.float64()),
                        ("pagerank", pa.float64()), ("betweenness", pa.float64()),
                        ("participation", pa.float64()), ("broker", pa.bool_())])


def flow_edges(graph: Graph) -> pa.Table:
    """prescriber → pharmacy node ids, weight = patients of the flow."""
    return query("""
        SELECT e.src, e.dst, e.patients::DOUBLE AS weight FROM e JOIN n ON e.dst = n.node_id
        WHERE e.rel = 'FLOWS_TO' AND n.kind = 'pharmacy' ORDER BY e.src, e.dst""",
                 e=graph.edges, n=graph.nodes)


def _one_thread():
    """igraph's OpenMP on one thread for the block (threadpoolctl: the thread pool of the OpenMP
    runtime igraph is linked to, set back on exit), so its results do not depend on thread timing."""
    return threadpool_limits(limits=1, user_api="openmp")


def _igraph(edges: pa.Table, directed: bool = False) -> tuple[ig.Graph, list[str]]:
    names = sorted(set(edges["src"].to_pylist()) | set(edges["dst"].to_pylist()))
    index = {n: i for i, n in enumerate(names)}
    g = ig.Graph(n=len(names), directed=directed,
                 edges=[(index[s], index[d]) for s, d in zip(edges["src"].to_pylist(), edges["dst"].to_pylist())])
    g.es["weight"] = edges["weight"].to_pylist()
    return g, names


def leiden(edges: pa.Table, seed: int, resolution: float = 1.0) -> dict[str, int]:
    """node id → community label (0 = largest), Leiden on modularity, deterministic per seed.

    Reference: Traag, Waltman, van Eck, "From Louvain to Leiden", Sci. Rep. 9 (2019).
    """
    if edges.num_rows == 0:
        return {}
    g, names = _igraph(edges)
    with _one_thread():
        part = leidenalg.find_partition(g, leidenalg.RBConfigurationVertexPartition, weights="weight",
                                        resolution_parameter=resolution, seed=seed, n_iterations=-1)
    groups: dict[int, list[str]] = {}
    for name, m in zip(names, part.membership):
        groups.setdefault(m, []).append(name)
    ordered = sorted(groups.values(), key=lambda ms: (-len(ms), ms[0]))
    return {n: label for label, members in enumerate(ordered) for n in members}


def stable_ids(labels: dict[str, int], previous: pa.Table | None, prefix: str, min_size: int = 3,
               min_jaccard: float = 0.2) -> pa.Table:
    """Name communities so that one that persists keeps its id across scans.

    Each new community takes the id of the previous community (same prefix) it overlaps most,
    greedily by overlap, when their Jaccard index reaches `min_jaccard`; the others get new ids
    numbered after the largest ever used. Communities smaller than `min_size` are dropped.
    """
    members: dict[int, set[str]] = {}
    for node, label in labels.items():
        members.setdefault(label, set()).add(node)
    members = {k: v for k, v in members.items() if len(v) >= min_size}
    old: dict[str, set[str]] = {}
    if previous is not None:
        for cid, node in zip(previous["community_id"].to_pylist(), previous["node_id"].to_pylist()):
            if cid.startswith(prefix + "-"):
                old.setdefault(cid, set()).add(node)
    pairs = []
    for label, ms in members.items():
        for cid, os_ in old.items():
            inter = len(ms & os_)
            if inter and inter / len(ms | os_) >= min_jaccard:
                pairs.append((-inter, label, cid))
    pairs.sort()
    named, taken = {}, set()
    for _, label, cid in pairs:
        if label not in named and cid not in taken:
            named[label], taken = cid, taken | {cid}
    top = max([int(c.rsplit("-", 1)[1]) for c in old] + [0])
    for label in sorted(members):
        if label not in named:
            top += 1
            named[label] = f"{prefix}-{top:04d}"
    rows = sorted((named[label], node) for label, ms in members.items() for node in ms)
    return pa.Table.from_pylist([{"community_id": c, "entity_type": n.split(":", 1)[0],
                                  "entity_id": n.split(":", 1)[1], "node_id": n} for c, n in rows],
                                COMMUNITIES)


def centrality(edges: pa.Table, membership: dict[str, str], seed: int, sample: int = 300) -> pa.Table:
    """Per node: degree, weighted degree, weighted PageRank, betweenness, participation, broker.

    Betweenness is exact up to `sample` vertices; above, it is estimated from `sample` random
    source vertices (seeded) and scaled up (Brandes & Pich 2007). Distances are 1/weight.
    Participation is 1 - Σ_c (w_c / w)² over the communities a node's edge weight reaches
    (Guimerà & Amaral 2005); a broker has participation ≥ 0.5 and betweenness in the top decile.
    Deterministic: the same edges in the same order give the same figures, bit for bit (igraph on
    one OpenMP thread).
    """
    if edges.num_rows == 0:
        return CENTRALITY.empty_table()
    g, names = _igraph(edges)
    w = g.es["weight"]
    dist = [1.0 / x for x in w]
    with _one_thread():
        pagerank = g.pagerank(weights="weight")
        if g.vcount() <= sample:
            btw = g.betweenness(weights=dist, directed=False)
        else:
            sources = sorted(random.Random(seed).sample(range(g.vcount()), sample))
            scale = g.vcount() / sample
            btw = [b * scale for b in g.betweenness(weights=dist, directed=False, sources=sources)]
    share: list[dict] = [dict() for _ in names]
    for e, weight in zip(g.es, w):
        s, d = e.tuple
        for a, b in ((s, d), (d, s)):
            c = membership.get(names[b])
            share[a][c] = share[a].get(c, 0.0) + weight
    strength = g.strength(weights="weight")
    part = [1 - sum((v / st) ** 2 for v in sh.values()) if st else 0.0 for sh, st in zip(share, strength)]
    cut = sorted(btw)[int(0.9 * (len(btw) - 1))] if btw else 0
    rows = [{"node_id": n, "degree": g.degree(i), "strength": strength[i], "pagerank": pagerank[i],
             "betweenness": btw[i], "participation": part[i],
             "broker": bool(part[i] >= 0.5 and btw[i] > 0 and btw[i] >= cut)} for i, n in enumerate(names)]
    return pa.Table.from_pylist(rows, CENTRALITY)


def risk_network(graph: Graph, shared: pa.Table, flows: pa.Table) -> pa.Table:
    """The undirected network guilt by association is judged on (`graph.risk`): shared patients
    (`shared`: the shared-patient projection) and prescription flows
    (log-weighted, so a big practice does not drown the rest) plus the structural links
    (works at, operated by, bills under, officer of, shares identifier) at weight 1. A pair's
    weights are summed in whole 10⁻⁹ (integers): the same total in any order."""
    return query("""
        SELECT src, dst, sum(CAST(round(weight * 1000000000, 0) AS BIGINT)) / 1000000000 AS weight FROM (
            SELECT src, dst, ln(1 + weight) AS weight FROM sp
            UNION ALL SELECT src, dst, ln(1 + weight) FROM rx
            UNION ALL SELECT src, dst, 1.0 FROM e
            WHERE rel IN ('WORKS_AT', 'OPERATED_BY', 'BILLS_UNDER', 'OFFICER_OF', 'SHARES_IDENTIFIER')
        ) GROUP BY src, dst ORDER BY src, dst""", sp=shared, rx=flows, e=graph.edges)


def community_summary(communities: pa.Table, edges: dict[str, pa.Table], risk: pa.Table) -> pa.Table:
    """Per community: size, density, internal weight, flagged members and risk, ranked by risk.

    `communities`: community_id (`<graph>-…`), node_id; `edges`: graph prefix (`sp`, `rx`) → the
    src, dst, weight edges that graph's communities were found on; `risk`: entity_type,
    entity_id, score, direct_score. A community is judged on its own graph's edges only: a pair of
    members linked in the other graph too is not a second link.
    Density is the share of the community's pairs of members that are linked: distinct unordered
    pairs with an edge inside / (size × (size - 1) / 2), in [0, 1] (the density of an undirected
    simple graph: Wasserman & Faust, Social Network Analysis, 1994, ch. 4); a pair linked in both directions counts once.
    Internal weight: the sum of the weights of those edges.
    Risk is the mean of the three highest member scores: one strong case or several weaker ones.
    """
    e = pa.concat_tables([pa.table({"src": t["src"].cast(pa.string()), "dst": t["dst"].cast(pa.string()),
                                    "weight": t["weight"].cast(pa.float64()),
                                    "graph": pa.array([g] * t.num_rows, pa.string())})
                          for g, t in sorted(edges.items())])
    return query("""
        WITH m AS (SELECT community_id, node_id FROM c),
        pairs AS (
            SELECT a.community_id, least(e.src, e.dst) AS u, greatest(e.src, e.dst) AS v, sum(e.weight) AS weight
            FROM e JOIN m a ON e.src = a.node_id JOIN m b ON e.dst = b.node_id AND a.community_id = b.community_id
            WHERE e.src <> e.dst AND e.graph = split_part(a.community_id, '-', 1)
            GROUP BY 1, 2, 3
        ), inside AS (
            SELECT community_id, count(*) AS links, sum(weight) AS weight FROM pairs GROUP BY community_id
        ), scored AS (
            SELECT m.community_id, coalesce(r.score, 0) AS score, coalesce(r.direct_score, 0) AS direct,
                   row_number() OVER (PARTITION BY m.community_id ORDER BY coalesce(r.score, 0) DESC, m.node_id) AS k
            FROM m LEFT JOIN r ON m.node_id = r.entity_type || ':' || r.entity_id
        )
        SELECT s.community_id, split_part(s.community_id, '-', 1) AS graph, count(*) AS size,
               round(coalesce(any_value(i.links), 0) / greatest(count(*) * (count(*) - 1) / 2, 1), 4) AS density,
               round(coalesce(any_value(i.weight), 0), 6) AS internal_weight,
               count(*) FILTER (WHERE s.direct > 0) AS flagged,
               round(avg(s.score) FILTER (WHERE s.k <= 3), 2) AS risk
        FROM scored s LEFT JOIN inside i USING (community_id)
        GROUP BY s.community_id ORDER BY risk DESC, flagged DESC, community_id
    """, c=communities, e=e, r=risk)


def connected_components(pairs: list[tuple[str, str]]) -> list[list[str]]:
    """The connected components of the graph whose edges are `pairs` (union-find), each sorted,
    sorted by first member: the same pairs always give the same list."""
    parent: dict[str, str] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    return sorted(sorted(g) for g in groups.values())
