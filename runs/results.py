"""A run's results: their schema, declared once, their writing, and every read of a finished run.

`RESULTS` lists the tables of `runs/<run_id>/results.duckdb` with their columns, types and
indexes; `write()` checks each table against it before anything is written, and every reader
(the API, the CLI, exports, the change report, the Neo4j publication) reads through the
functions below, each taking a DuckDB cursor on the finished, read-only file.

Alerts are listed in one order everywhere: by their **rank within their pattern** (the best
alert of every pattern first, then the second of each, …), since scores are comparable only
within a pattern; then by pattern and alert id. `sort="-score"` orders by score instead (for
one pattern's list).

Hubs — nodes with more than `hub_degree` links, a big pharmacy or a hospital — are shown but
never expanded, so a neighbourhood or a path does not run through the whole region.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import networkx as nx
import pyarrow as pa

from contract.errors import NotFound
from contract.vocab import node_id, split_node_id
from graph.evidence import EVIDENCE
from graph.impact import IMPACT, PEER_DISTRIBUTION
from graph.profile import PROFILE

_S, _F, _I, _D, _B = pa.string(), pa.float64(), pa.int64(), pa.date32(), pa.bool_()


@dataclass(frozen=True)
class ResultTable:
    name: str
    schema: pa.Schema
    indexes: tuple[str, ...] = ()     # each a column list, for the API's point lookups
    about: str = ""


def _t(name, about, indexes, *cols):
    return ResultTable(name, pa.schema(list(cols)), indexes, about)


RESULTS: dict[str, ResultTable] = {t.name: t for t in (
    _t("nodes", "every entity of the graph", ("node_id",),
       ("node_id", _S), ("entity_type", _S), ("entity_id", _S), ("kind", _S), ("specialty", _S),
       ("name", _S), ("postcode", _S), ("roles", _S)),
    _t("edges", "the graph's aggregated, typed relationships (graph.model)", ("src", "dst"),
       ("src", _S), ("dst", _S), ("rel", _S), ("n", _I), ("amount", _F), ("patients", _I),
       ("first_date", _D), ("last_date", _D), ("role", _S), ("kind", _S), ("value", _S),
       ("start_date", _D), ("end_date", _D)),
    _t("hubs", "identifiers shared by too many entities to link them", (),
       ("kind", _S), ("value", _S), ("entities", _I)),
    _t("node_degree", "links per node", ("node_id",), ("node_id", _S), ("degree", _I)),
    _t("alerts", "one row per alert; rank = rank within its pattern (1 = best)", ("alert_id",),
       ("alert_id", _S), ("pattern", _S), ("score", _F), ("summary", _S), ("evidence", _S), ("rank", _I),
       ("surprise_bits", _F), ("excess_euros", _F)),
    _t("alert_entities", "the entities each alert names, with their role, standing and own excess (euros)",
       ("alert_id", "entity_type, entity_id"),
       ("alert_id", _S), ("entity_type", _S), ("entity_id", _S), ("role", _S), ("standing", _S),
       ("excess_euros", _F)),
    _t("entity_risk", "risk score per entity, with reasons", ("entity_type, entity_id",),
       ("entity_type", _S), ("entity_id", _S), ("score", _F), ("direct_score", _F),
       ("network_score", _F), ("alerts", _I), ("reasons", _S)),
    _t("communities", "community memberships", ("node_id", "community_id"),
       ("community_id", _S), ("entity_type", _S), ("entity_id", _S), ("node_id", _S)),
    _t("community_summary", "per community: size, density, flagged members, risk", (),
       ("community_id", _S), ("graph", _S), ("size", _I), ("density", _F), ("internal_weight", _F),
       ("flagged", _I), ("risk", _F)),
    _t("centrality", "per provider-level node: degree, strength, PageRank, betweenness, broker", ("node_id",),
       ("node_id", _S), ("degree", _I), ("strength", _F), ("pagerank", _F), ("betweenness", _F),
       ("participation", _F), ("broker", _B)),
    ResultTable("evidence", EVIDENCE, ("alert_id",), "every claim line behind each alert (graph.evidence)"),
    ResultTable("peer_distribution", PEER_DISTRIBUTION, ("alert_id",),
                "per alert, its pattern's statistic for its entities and its peers (graph.impact)"),
    ResultTable("billing_profile", PROFILE, ("provider_id",), "each provider's billing (graph.profile)"),
    ResultTable("impact", IMPACT, ("case_id",), "the impact of each watched case's decision (graph.impact)"),
)}

# tables added after the first release: a run written before them reads as if they were empty
LATER = ("evidence", "peer_distribution", "billing_profile", "impact")


class SchemaMismatch(RuntimeError):
    """A table does not have the declared columns (a bug, not a user's problem)."""


def conform(name: str, table: pa.Table) -> pa.Table:
    """`table` with exactly the declared columns of result table `name`, in order and cast to
    their types. Raises `SchemaMismatch` naming the missing or unexpected columns."""
    spec = RESULTS[name].schema
    if set(table.column_names) != set(spec.names):
        raise SchemaMismatch(f"result table {name}: missing {sorted(set(spec.names) - set(table.column_names))}, "
                             f"unexpected {sorted(set(table.column_names) - set(spec.names))}")
    return table.select(spec.names).cast(spec)


def write(path: Path, tables: dict[str, pa.Table]):
    """Write every result table to the DuckDB file `path` (readable by its owner only), with the
    declared indexes: first as `path.partial`, flushed, then renamed, so `path` only ever names
    a complete file. Raises `SchemaMismatch` before writing anything if a table is off."""
    missing = set(RESULTS) - set(tables)
    if missing:
        raise SchemaMismatch(f"result tables missing: {sorted(missing)}")
    conformed = {name: conform(name, t) for name, t in tables.items()}
    partial = path.with_name(path.name + ".partial")
    remove_partial(partial)
    try:
        con = duckdb.connect(str(partial))
        os.chmod(partial, 0o600)       # the scan process's umask is 077 already; a library call's may not be
        try:
            for name, table in conformed.items():
                con.register("t", table)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM t')
                con.unregister("t")
                for i, cols in enumerate(RESULTS[name].indexes):
                    con.execute(f'CREATE INDEX "{name}_{i}" ON "{name}" ({cols})')
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:      # a full disk, a kill: free the space now, not at the next scan
        remove_partial(partial)
        raise


def remove_partial(partial: Path):
    """Remove a results file being written and DuckDB's companions (`.wal`, the `.tmp` folder)."""
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(partial.with_name(partial.name + ".tmp"), ignore_errors=True)


def table(cur, name: str) -> pa.Table:
    """A whole result table as Arrow (small tables: alerts, entities, risk, communities)."""
    if name not in RESULTS:
        raise KeyError(name)
    if not _has(cur, name):
        return RESULTS[name].schema.empty_table()
    return cur.sql(f'SELECT * FROM "{name}"').to_arrow_table()


def _has(cur, name: str) -> bool:
    """Does the results file have table `name` (`LATER` tables are absent from older runs)?"""
    return name not in LATER or bool(cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = $n", {"n": name}).fetchall()[0][0])


def _dicts(res) -> list[dict]:
    names = [d[0] for d in res.description]
    return [dict(zip(names, r)) for r in res.fetchall()]


# --- alerts -----------------------------------------------------------------------------------

ORDER = {"rank": "rank, pattern, alert_id", "-score": "score DESC, alert_id", "score": "score ASC, alert_id"}


def alerts(cur, pattern: str | None = None, min_score: float | None = None,
           entity: tuple[str, str] | None = None, sort: str = "rank", limit: int = 50,
           offset: int = 0) -> tuple[list[dict], int]:
    """Alerts (alert_id, pattern, score, rank, summary) with filters, and how many match.
    `entity` = (entity_type, entity_id): only alerts naming it. `cur` may be a `RunView`."""
    if isinstance(cur, RunView):
        return cur.alerts(pattern, min_score, entity, sort, limit, offset)
    where = """($pattern IS NULL OR pattern = $pattern) AND ($min IS NULL OR score >= $min)
               AND ($etype IS NULL OR alert_id IN (SELECT alert_id FROM alert_entities
                                                   WHERE entity_type = $etype AND entity_id = $eid))"""
    etype, eid = entity or (None, None)
    params = {"pattern": pattern, "min": min_score, "etype": etype, "eid": eid}
    total = cur.execute(f"SELECT count(*) FROM alerts WHERE {where}", params).fetchall()[0][0]
    rows = _dicts(cur.execute(f"SELECT alert_id, pattern, score, rank, summary FROM alerts WHERE {where} "
                              f"ORDER BY {ORDER[sort]} LIMIT $limit OFFSET $offset",
                              {**params, "limit": limit, "offset": offset}))
    return rows, total


def alert(cur, alert_id: str) -> dict:
    """One alert with its evidence (parsed) and its entities. Raises `NotFound`."""
    found = _dicts(cur.execute("SELECT alert_id, pattern, score, rank, summary, evidence FROM alerts "
                               "WHERE alert_id = $id", {"id": alert_id}))
    if not found:
        raise NotFound("alert", alert_id)
    a = found[0]
    a["evidence"] = json.loads(a["evidence"])
    a["entities"] = _dicts(cur.execute("SELECT entity_type, entity_id, role, standing, excess_euros FROM alert_entities "
                                       "WHERE alert_id = $id ORDER BY entity_type, entity_id, role", {"id": alert_id}))
    return a


# --- entities, neighbourhoods, paths ----------------------------------------------------------

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
    rows = _dicts(cur.execute(sql, params))
    return rows[0] if rows else None


def entity(cur, entity_type: str, entity_id: str) -> dict:
    """An entity's attributes, degree, risk, alerts (with its role), communities and centrality.
    Point lookups only (each on an index), so the cost does not grow with the graph; `cur` may
    be a `RunView`, which answers from memory. Raises `NotFound`."""
    if isinstance(cur, RunView):
        return cur.entity(entity_type, entity_id)
    nid = node_id(entity_type, entity_id)
    node = _one(cur, "SELECT node_id, entity_type, entity_id, kind, specialty, name, postcode, roles "
                     "FROM nodes WHERE node_id = $n", {"n": nid})
    if node is None:
        raise NotFound(entity_type, entity_id)
    degree = _one(cur, "SELECT degree FROM node_degree WHERE node_id = $n", {"n": nid})
    risk = _one(cur, "SELECT score, direct_score, network_score, reasons FROM entity_risk "
                     "WHERE entity_type = $t AND entity_id = $i", {"t": entity_type, "i": entity_id})
    cen = _one(cur, "SELECT degree, strength, pagerank, betweenness, participation, broker FROM centrality "
                    "WHERE node_id = $n", {"n": nid})
    comms = [c for (c,) in cur.execute("SELECT community_id FROM communities WHERE node_id = $n ORDER BY 1",
                                       {"n": nid}).fetchall()]
    named = cur.execute("SELECT alert_id, role, standing FROM alert_entities WHERE entity_type = $t AND entity_id = $i",
                        {"t": entity_type, "i": entity_id}).fetchall()
    found = []
    for alert_id, role, standing in named:
        a = _one(cur, "SELECT alert_id, pattern, score, rank, summary FROM alerts WHERE alert_id = $a", {"a": alert_id})
        found.append({**a, "role": role, "standing": standing})
    found.sort(key=lambda a: (a["rank"], a["pattern"], a["alert_id"], a["role"]))
    return {**node, "degree": degree["degree"] if degree else 0, "risk": risk, "alerts": found,
            "communities": comms, "centrality": cen}


def neighbourhood(cur, node: str, depth: int, max_nodes: int, hub_degree: int) -> dict:
    """The ego network of node id `node` up to `depth` hops, strongest links first, at most
    `max_nodes` nodes; hubs are shown (`hub: true`) but not expanded. Raises `NotFound`."""
    start = _node_rows(cur, [node])
    if node not in start:
        raise NotFound(*split_node_id(node))
    kept, frontier, edges, truncated = {node}, [node], {}, False
    degree = {node: start[node]["degree"]}
    for _ in range(depth):
        if len(kept) >= max_nodes:       # full: expanding further could only be cut
            truncated = truncated or bool(frontier)
            break
        expand = [n for n in frontier if n == node or degree.get(n, 0) <= hub_degree]
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
        n["hub"] = n["degree"] > hub_degree and n["node_id"] != node
    return {"center": node, "depth": depth, "truncated": truncated,
            "nodes": [nodes[n] for n in sorted(nodes)],
            "edges": sorted(edges.values(), key=lambda e: (e["src"], e["dst"], e["rel"]))}


def paths(cur, source: str, target: str, k: int, max_hops: int, hub_degree: int, max_nodes: int = 20000) -> dict:
    """Up to `k` shortest paths of at most `max_hops` links between node ids, never through a
    hub (the endpoints excepted). Raises `NotFound` for an unknown endpoint."""
    ends = _node_rows(cur, [source, target])
    for n in (source, target):
        if n not in ends:
            raise NotFound(*split_node_id(n))
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


# --- communities ------------------------------------------------------------------------------

def communities(cur, graph: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    """Communities of one graph (`sp`, `rx`) or both, riskiest first, and how many there are."""
    where = "WHERE $g IS NULL OR graph = $g"
    total = cur.execute(f"SELECT count(*) FROM community_summary {where}", {"g": graph}).fetchall()[0][0]
    rows = _dicts(cur.execute(f"SELECT * FROM community_summary {where} ORDER BY risk DESC, flagged DESC, "
                              f"community_id LIMIT $l OFFSET $o", {"g": graph, "l": limit, "o": offset}))
    return rows, total


def community(cur, community_id: str) -> dict:
    """One community: its figures, members (riskiest first) and the alerts naming a member.
    Raises `NotFound`."""
    found = _dicts(cur.execute("SELECT * FROM community_summary WHERE community_id = $c", {"c": community_id}))
    if not found:
        raise NotFound("community", community_id)
    members = _dicts(cur.execute("""
        SELECT c.entity_type, c.entity_id, n.kind, n.specialty, n.name, r.score AS risk
        FROM communities c JOIN nodes n USING (node_id)
        LEFT JOIN entity_risk r ON r.entity_type = c.entity_type AND r.entity_id = c.entity_id
        WHERE c.community_id = $c ORDER BY r.score DESC NULLS LAST, c.entity_id""", {"c": community_id}))
    named = _dicts(cur.execute("""
        SELECT DISTINCT a.alert_id, a.pattern, a.score, a.rank, a.summary FROM alerts a
        JOIN alert_entities e USING (alert_id)
        JOIN communities c ON c.entity_type = e.entity_type AND c.entity_id = e.entity_id
        WHERE c.community_id = $c ORDER BY a.rank, a.pattern, a.alert_id""", {"c": community_id}))
    return {**found[0], "members": members, "alerts": named}


# --- evidence, peers, billing profiles and impact ------------------------------------------------

def evidence(cur, alert_id: str) -> list[dict]:
    """Every claim line behind an alert (`graph.evidence.EVIDENCE` rows, patient ids included:
    the caller decides what to show), by item and date."""
    if not _has(cur, "evidence"):
        return []
    return _dicts(cur.execute("SELECT * FROM evidence WHERE alert_id = $a ORDER BY item, service_date, claim_id",
                              {"a": alert_id}))


def evidence_patients(cur, alert_ids: list[str], named: list[str] = ()) -> int:
    """How many distinct patients the evidence lines of these alerts (every claim line behind
    them, not only the few patients an alert names) and the patient ids `named` hold together."""
    if not _has(cur, "evidence"):
        return len(set(named))
    return cur.execute("""SELECT count(DISTINCT p) FROM (
                              SELECT patient_id AS p FROM evidence WHERE alert_id IN (SELECT unnest($a::VARCHAR[]))
                              UNION ALL SELECT unnest($n::VARCHAR[]))
                          WHERE p IS NOT NULL""", {"a": list(alert_ids), "n": list(named)}).fetchall()[0][0]


def peer_distribution(cur, alert_id: str) -> dict | None:
    """An alert's statistic for its entities and its peers (`graph.impact.PEER_DISTRIBUTION`),
    or None when its pattern has none."""
    if not _has(cur, "peer_distribution"):
        return None
    return _one(cur, "SELECT * FROM peer_distribution WHERE alert_id = $a", {"a": alert_id})


def profile(cur, provider_id: str) -> dict | None:
    """A provider's billing profile (`graph.profile.PROFILE`) with its peers' medians (same kind
    and specialty, the provider aside) and their count; None when it billed nothing."""
    if not _has(cur, "billing_profile"):
        return None
    mine = _one(cur, "SELECT * FROM billing_profile WHERE provider_id = $p", {"p": provider_id})
    if mine is None:
        return None
    peers = _one(cur, """
        SELECT count(*) AS peers, median(patients) AS patients, median(lines) AS lines,
               median(patient_days) AS patient_days, median(amount) AS amount,
               median(lines_per_patient) AS lines_per_patient, median(days_per_patient) AS days_per_patient,
               median(amount_per_patient) AS amount_per_patient
        FROM billing_profile WHERE kind IS NOT DISTINCT FROM $k AND specialty IS NOT DISTINCT FROM $s
          AND provider_id <> $p""", {"k": mine["kind"], "s": mine["specialty"], "p": provider_id})
    return {**mine, "peer_medians": peers}


def impacts(cur) -> list[dict]:
    """Every impact row measured in this run (`graph.impact.IMPACT`), by case and pattern."""
    if not _has(cur, "impact"):
        return []
    return _dicts(cur.execute("SELECT * FROM impact ORDER BY case_id, pattern"))


def impact(cur, case_id: str) -> list[dict]:
    """The impact measured in this run for a case, one row per pattern (`graph.impact.IMPACT`)."""
    if not _has(cur, "impact"):
        return []
    return _dicts(cur.execute("SELECT * FROM impact WHERE case_id = $c ORDER BY pattern", {"c": case_id}))


# --- the contract's export files --------------------------------------------------------------

EXPORTS = {
    "alerts.csv": "SELECT alert_id, pattern, score, summary, rank, excess_euros, surprise_bits, evidence FROM alerts "
                  "ORDER BY rank, pattern, alert_id",
    "alert_entities.csv": "SELECT alert_id, entity_type, entity_id, role, standing, excess_euros FROM alert_entities "
                          "ORDER BY alert_id, entity_type, entity_id, role",
    "entity_risk.csv": "SELECT entity_type, entity_id, score, reasons, direct_score, network_score, alerts "
                       "FROM entity_risk ORDER BY score DESC, entity_type, entity_id",
    "communities.csv": "SELECT community_id, entity_type, entity_id FROM communities "
                       "ORDER BY community_id, entity_type, entity_id",
}


def export_relation(cur, name: str) -> duckdb.DuckDBPyRelation:
    """The rows of the contract file `name` (one of `EXPORTS`), as a DuckDB relation."""
    if name not in EXPORTS:
        raise NotFound("export file", name)
    return cur.sql(EXPORTS[name])


# --- the investigators' graph: the rows publish.neo4j (sync) and publish.neo4j_bulk (import files) write

_GRAPH_NODES = """
SELECT n.node_id AS key, n.entity_id AS id, n.kind, n.specialty, n.name, n.postcode, n.roles,
       CASE WHEN n.name IS NULL THEN n.entity_id ELSE n.name || ' (' || n.entity_id || ')' END AS caption,
       d.degree, r.score AS risk, r.direct_score AS risk_direct, r.network_score AS risk_network,
       r.reasons, r.alerts AS alert_count, c.pagerank, c.betweenness, c.participation, c.broker,
       m.communities,
       list_filter([CASE WHEN n.entity_type = 'provider' AND coalesce(n.roles, '') LIKE '%prescriber%' THEN 'Prescriber' END,
                    CASE WHEN n.entity_type = 'provider' AND n.kind = 'pharmacy' THEN 'Pharmacy' END,
                    CASE WHEN n.entity_type = 'provider' AND n.kind = 'laboratory' THEN 'Laboratory' END,
                    CASE WHEN coalesce(r.direct_score, 0) > 0 THEN 'Flagged' END,
                    CASE WHEN coalesce(r.direct_score, 0) = 0 AND coalesce(r.score, 0) > 0 THEN 'AtRisk' END,
                    CASE st.standing WHEN 1 THEN 'Accused' WHEN 2 THEN 'Participant' WHEN 3 THEN 'Victim' END],
                   lambda x: x IS NOT NULL) AS labels
FROM nodes n
LEFT JOIN node_degree d USING (node_id)
LEFT JOIN (SELECT entity_type, entity_id,     -- its strongest standing in any alert
                  min(CASE standing WHEN 'accused' THEN 1 WHEN 'participant' THEN 2 ELSE 3 END) AS standing
           FROM alert_entities GROUP BY entity_type, entity_id) st
       ON st.entity_type = n.entity_type AND st.entity_id = n.entity_id
LEFT JOIN entity_risk r ON r.entity_type = n.entity_type AND r.entity_id = n.entity_id
LEFT JOIN centrality c USING (node_id)
LEFT JOIN (SELECT node_id, list(community_id ORDER BY community_id) AS communities
           FROM communities GROUP BY node_id) m USING (node_id)
WHERE n.entity_type = $entity_type
ORDER BY key
"""


def graph_nodes(cur, entity_type: str) -> duckdb.DuckDBPyRelation:
    """The entities of one type (`contract.vocab.ENTITY_TYPES`) as the investigators' graph shows
    them, one row each, by key: `key` (node id), `id` (the entity's number), `kind`, `specialty`,
    `name`, `postcode`, `roles`, `caption` (name and number), `degree` (links), `risk`,
    `risk_direct`, `risk_network` (0-100 points), `reasons`, `alert_count`, `pagerank`,
    `betweenness`, `participation`, `broker`, `communities` (list of ids) and `labels`: the
    entity's `contract.vocab.DERIVED_LABELS` (Prescriber: a provider that prescribes; Pharmacy,
    Laboratory: its kind; Flagged: named by an alert, direct risk > 0; AtRisk: risk through its
    network only; Accused, Participant or Victim: its strongest standing in any alert)."""
    return cur.sql(_GRAPH_NODES, params={"entity_type": entity_type})


def graph_relationships(cur, rel: str) -> duckdb.DuckDBPyRelation:
    """The graph's relationships of type `rel` (`contract.vocab.RELS`), by src, dst, key: `src`,
    `dst` (node ids), `key` (tells parallel relationships apart: role, identifier kind and value,
    start date), `n` (lines), `amount` (euros), `patients`, `first_date`, `last_date`, `role`,
    `kind`, `value`, `start_date`, `end_date`."""
    return cur.sql("""
        SELECT src, dst, concat_ws('|', role, kind, value, start_date) AS key,
               n, amount, patients, first_date, last_date, role, kind, value, start_date, end_date
        FROM edges WHERE rel = $rel
        ORDER BY src, dst, key""", params={"rel": rel})


def graph_alerts(cur) -> duckdb.DuckDBPyRelation:
    """Every alert, by id: `id`, `pattern`, `score`, `summary`, `evidence` (JSON text), `caption`
    (pattern and score)."""
    return cur.sql("""
        SELECT alert_id AS id, pattern, score, summary, evidence,
               pattern || ' ' || CAST(round(score, 1) AS VARCHAR) AS caption
        FROM alerts ORDER BY id""")


def graph_alert_entities(cur) -> duckdb.DuckDBPyRelation:
    """The entities each alert names: `alert_id`, `key` (node id), `role`, `standing` (accused,
    participant, victim: `contract.vocab.STANDINGS`)."""
    return cur.sql("""
        SELECT alert_id, entity_type || ':' || entity_id AS key, role, standing
        FROM alert_entities ORDER BY alert_id, key, role""")


def graph_communities(cur) -> duckdb.DuckDBPyRelation:
    """Every community, by id: `id`, `graph` (sp, rx), `size` (members), `density`,
    `internal_weight`, `flagged` (members), `risk`, `caption` (id and size)."""
    return cur.sql("""
        SELECT community_id AS id, graph, size, density, internal_weight, flagged, risk,
               community_id || ' (' || size || ')' AS caption
        FROM community_summary ORDER BY id""")


def graph_members(cur) -> duckdb.DuckDBPyRelation:
    """Community memberships: `community_id`, `key` (node id)."""
    return cur.sql("SELECT community_id, node_id AS key FROM communities ORDER BY community_id, key")


def count(rows: duckdb.DuckDBPyRelation) -> int:
    """The number of rows of a relation (it runs the relation's query)."""
    return rows.aggregate("count(*)").fetchall()[0][0]


# --- a whole run at once: the API's read view --------------------------------------------------

class RunView:
    """The entity and alert reads of one finished run (`entity`, `alerts`, `alert`,
    `peer_distribution`, and each alert's evidence patients), answered from memory with the
    same content as the per-call functions above, so a server answers an analyst's call without
    running a statement.

    Built once from a cursor on the run's results with **one statement per table for the whole
    run** (nodes, degrees, risk, centrality, communities, alerts, alert entities, peer
    distributions, and one pass over the evidence lines: per alert, its lines counted and its
    patients in the order of their first line). A finished run's results never change, so the
    view never goes stale; the API keeps one for the current run (`api.deps.Results`).

    Memory: about 0.5 kB per entity (a node's row, its degree, and the other tables' rows for
    the few entities they name: 11 MB for the 20,000 patients of `benchmarks/api_load.py`'s
    region, built in 0.34 s of CPU), which is why the API counts a run's entities before
    building its view (`api.deps.VIEW_MAX_ENTITIES`)."""

    def __init__(self, cur):
        self._nodes = {r[0]: r for r in cur.execute(
            "SELECT node_id, entity_type, entity_id, kind, specialty, name, postcode, roles FROM nodes").fetchall()}
        self._degree = dict(cur.execute("SELECT node_id, degree FROM node_degree").fetchall())
        self._risk = {(r[0], r[1]): dict(zip(("score", "direct_score", "network_score", "reasons"), r[2:]))
                      for r in cur.execute("SELECT entity_type, entity_id, score, direct_score, network_score, "
                                           "reasons FROM entity_risk").fetchall()}
        cen = ("degree", "strength", "pagerank", "betweenness", "participation", "broker")
        self._centrality = {r[0]: dict(zip(cen, r[1:])) for r in cur.execute(
            f"SELECT node_id, {', '.join(cen)} FROM centrality").fetchall()}
        self._communities = dict(cur.execute(
            "SELECT node_id, list(community_id ORDER BY community_id) FROM communities GROUP BY node_id").fetchall())
        self._alerts = {a["alert_id"]: a for a in _dicts(cur.execute(
            "SELECT alert_id, pattern, score, rank, summary, evidence FROM alerts"))}
        self._entities: dict[str, list[dict]] = {}          # per alert, as alert() lists them
        self._named: dict[tuple[str, str], list[tuple]] = {}  # per entity, the alerts naming it
        for e in _dicts(cur.execute("SELECT alert_id, entity_type, entity_id, role, standing, excess_euros "
                                    "FROM alert_entities ORDER BY alert_id, entity_type, entity_id, role")):
            aid = e.pop("alert_id")
            self._entities.setdefault(aid, []).append(e)
            self._named.setdefault((e["entity_type"], e["entity_id"]), []).append((aid, e["role"], e["standing"]))
        self._peers = ({p["alert_id"]: p for p in _dicts(cur.execute("SELECT * FROM peer_distribution"))}
                       if _has(cur, "peer_distribution") else {})
        self._evidence = {}
        if _has(cur, "evidence"):
            self._evidence = {aid: (lines, patients) for aid, lines, patients in cur.execute("""
                SELECT alert_id, sum(n)::BIGINT, list(patient_id ORDER BY first) FILTER (WHERE patient_id IS NOT NULL)
                FROM (SELECT alert_id, patient_id, count(*) AS n, min(line) AS first
                      FROM (SELECT alert_id, patient_id,
                                   row_number() OVER (PARTITION BY alert_id ORDER BY item, service_date, claim_id) AS line
                            FROM evidence)
                      GROUP BY alert_id, patient_id)
                GROUP BY alert_id""").fetchall()}
        listed = [{k: a[k] for k in ("alert_id", "pattern", "score", "rank", "summary")} for a in self._alerts.values()]
        self._orders = {"rank": sorted(listed, key=lambda a: (a["rank"], a["pattern"], a["alert_id"])),
                        "-score": sorted(listed, key=lambda a: (-a["score"], a["alert_id"])),
                        "score": sorted(listed, key=lambda a: (a["score"], a["alert_id"]))}

    def size(self) -> int:
        """Entities held."""
        return len(self._nodes)

    def entity(self, entity_type: str, entity_id: str) -> dict:
        """As `entity(cur, ...)`. Raises `NotFound`."""
        nid = node_id(entity_type, entity_id)
        node = self._nodes.get(nid)
        if node is None:
            raise NotFound(entity_type, entity_id)
        found = sorted(({k: a[k] for k in ("alert_id", "pattern", "score", "rank", "summary")}
                        | {"role": role, "standing": standing}
                        for aid, role, standing in self._named.get((entity_type, entity_id), ())
                        for a in (self._alerts[aid],)),
                       key=lambda a: (a["rank"], a["pattern"], a["alert_id"], a["role"]))
        risk = self._risk.get((entity_type, entity_id))
        cen = self._centrality.get(nid)
        return {**dict(zip(("node_id", "entity_type", "entity_id", "kind", "specialty", "name", "postcode", "roles"),
                           node)),
                "degree": self._degree.get(nid, 0), "risk": dict(risk) if risk else None, "alerts": found,
                "communities": list(self._communities.get(nid, ())), "centrality": dict(cen) if cen else None}

    def alerts(self, pattern: str | None = None, min_score: float | None = None,
               entity: tuple[str, str] | None = None, sort: str = "rank", limit: int = 50,
               offset: int = 0) -> tuple[list[dict], int]:
        """As `alerts(cur, ...)`."""
        naming = None if entity is None else {aid for aid, _, _ in self._named.get(tuple(entity), ())}
        kept = [a for a in self._orders[sort]
                if (pattern is None or a["pattern"] == pattern) and (min_score is None or a["score"] >= min_score)
                and (naming is None or a["alert_id"] in naming)]
        return [dict(a) for a in kept[offset:offset + limit]], len(kept)

    def alert(self, alert_id: str) -> dict:
        """As `alert(cur, ...)`. Raises `NotFound`."""
        a = self._alerts.get(alert_id)
        if a is None:
            raise NotFound("alert", alert_id)
        return {**a, "evidence": json.loads(a["evidence"]),
                "entities": [dict(e) for e in self._entities.get(alert_id, ())]}

    def peer_distribution(self, alert_id: str) -> dict | None:
        """As `peer_distribution(cur, ...)`."""
        p = self._peers.get(alert_id)
        return {k: list(v) if isinstance(v, list) else v for k, v in p.items()} if p else None

    def evidence_patients(self, alert_id: str) -> tuple[int, list[str]]:
        """(the alert's evidence lines, counted; the distinct patients of those lines, in the order
        of their first line as `evidence(cur, ...)` orders them)."""
        lines, patients = self._evidence.get(alert_id, (0, None))
        return lines, list(patients or ())
