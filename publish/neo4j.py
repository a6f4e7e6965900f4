"""Publish a run's graph and findings to Neo4j over Bolt, for investigators in the Neo4j Browser.

`sync()` runs, in this order, statements of the Cypher catalog (`queries/*.cypher`):

1. `schema_*`: constraints and indexes, `IF NOT EXISTS`.
2. Upserts, in batches of `UNWIND $rows ... MERGE` (one transaction per batch, the run id and
   step in the transaction's metadata): entity nodes (`Entity` plus `Provider`, `Patient`,
   `Centre`, `LegalEntity` or `Person`, keyed by `key` = `<entity_type>:<id>`, risk, reasons,
   communities and centrality as properties), their relationships with the aggregates, `Alert`
   nodes linked to their entities by `INVOLVES {role}`, `Community` nodes linked by `MEMBER_OF`.
   An entity's derived labels (`Prescriber`, `Pharmacy`, `Laboratory`, `Flagged`, `AtRisk`) are
   set and removed in the statement that upserts it (Cypher's dynamic labels, Neo4j 5.26+).
   Each batch's transaction also records how many batches are done in a `SyncState` node, so an
   interrupted sync of the same run resumes after the last committed batch.
3. `sync_stale_*`: whatever an older run wrote and this one did not (alerts, communities,
   entities, relationships) is deleted, so nothing old looks current.

Everything is MERGE on keys, so a rerun changes nothing. The rows come from the run's results
file (read-only, streamed in batches), never from string formatting: values go in as parameters.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator

from contract.errors import FraudnetError
from queries import cypher, names

from runs.store import Store

from .neo4j_cases import label_cases

log = logging.getLogger("fraudnet.neo4j")

STATE_ID = "fraudnet"
LABELS = {"provider": "Provider", "patient": "Patient", "centre": "Centre",
          "legal_entity": "LegalEntity", "person": "Person"}
RELS = ("BILLED", "DISPENSED_TO", "PRESCRIBED_FOR", "FLOWS_TO", "WORKS_AT", "OPERATED_BY",
        "BILLS_UNDER", "OFFICER_OF", "SHARES_IDENTIFIER")
DERIVED_LABELS = ("Prescriber", "Pharmacy", "Laboratory", "Flagged", "AtRisk")


class Neo4jError(FraudnetError):
    """The Neo4j target is not configured or cannot be reached; the message says what to set."""


@dataclass(frozen=True)
class Neo4jSettings:
    uri: str
    user: str = "neo4j"
    password: str = ""
    database: str = "neo4j"

    @classmethod
    def from_env(cls, uri: str | None = None, user: str | None = None,
                 database: str | None = None) -> "Neo4jSettings":
        """Settings from the arguments, else from NEO4J_URI, NEO4J_USER, NEO4J_DATABASE; the
        password only ever from NEO4J_PASSWORD."""
        uri = uri or os.environ.get("NEO4J_URI")
        if not uri:
            raise Neo4jError("no Neo4j server: set NEO4J_URI (e.g. bolt://localhost:7687), NEO4J_USER, "
                             "NEO4J_PASSWORD and NEO4J_DATABASE, or pass --uri")
        return cls(uri, user or os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""),
                   database or os.environ.get("NEO4J_DATABASE", "neo4j"))

    def driver(self):
        import neo4j
        # notifications off: a first sync's reads of properties not yet written are not warnings
        return neo4j.GraphDatabase.driver(self.uri, auth=(self.user, self.password),
                                          notifications_min_severity="OFF")


# --- what is read from the results file: one SQL per upsert step --------------------------------

_NODE_ROWS = """
SELECT n.node_id AS key, n.entity_id AS id, n.kind, n.specialty, n.name, n.postcode, n.roles,
       CASE WHEN n.name IS NULL THEN n.entity_id ELSE n.name || ' (' || n.entity_id || ')' END AS caption,
       d.degree, r.score AS risk, r.direct_score AS risk_direct, r.network_score AS risk_network,
       r.reasons, r.alerts AS alert_count, c.pagerank, c.betweenness, c.participation, c.broker,
       m.communities,
       -- the derived labels (the same rules in the sync and the bulk import files)
       list_filter([CASE WHEN n.entity_type = 'provider' AND coalesce(n.roles, '') LIKE '%prescriber%' THEN 'Prescriber' END,
                    CASE WHEN n.entity_type = 'provider' AND n.kind = 'pharmacy' THEN 'Pharmacy' END,
                    CASE WHEN n.entity_type = 'provider' AND n.kind = 'laboratory' THEN 'Laboratory' END,
                    CASE WHEN coalesce(r.direct_score, 0) > 0 THEN 'Flagged' END,
                    CASE WHEN coalesce(r.direct_score, 0) = 0 AND coalesce(r.score, 0) > 0 THEN 'AtRisk' END],
                   lambda x: x IS NOT NULL) AS labels
FROM nodes n
LEFT JOIN node_degree d USING (node_id)
LEFT JOIN entity_risk r ON r.entity_type = n.entity_type AND r.entity_id = n.entity_id
LEFT JOIN centrality c USING (node_id)
LEFT JOIN (SELECT node_id, list(community_id ORDER BY community_id) AS communities
           FROM communities GROUP BY node_id) m USING (node_id)
WHERE n.entity_type = $entity_type
ORDER BY key
"""
_REL_ROWS = """
SELECT src, dst, concat_ws('|', role, kind, value, start_date) AS key,
       n, amount, patients, first_date, last_date, role, kind, value, start_date, end_date
FROM edges WHERE rel = $rel
ORDER BY src, dst, key
"""
_ALERT_ROWS = """
SELECT alert_id AS id, pattern, score, summary, evidence,
       pattern || ' ' || CAST(round(score, 1) AS VARCHAR) AS caption
FROM alerts ORDER BY id
"""
_ALERT_ENTITY_ROWS = """
SELECT alert_id, entity_type || ':' || entity_id AS key, role
FROM alert_entities ORDER BY alert_id, key, role
"""
_COMMUNITY_ROWS = """
SELECT community_id AS id, graph, size, density, internal_weight, flagged, risk,
       community_id || ' (' || size || ')' AS caption
FROM community_summary ORDER BY id
"""
_MEMBER_ROWS = "SELECT community_id, node_id AS key FROM communities ORDER BY community_id, key"


@dataclass(frozen=True)
class Step:
    statement: str          # catalog name
    sql: str                # rows, from the results file
    params: tuple = ()      # SQL parameters, as (name, value) pairs
    top: tuple = ()         # columns passed as row fields; the others go into row["props"]
    props: bool = True      # (but for src, dst and labels, which are never properties)


def upsert_steps() -> list[Step]:
    steps = [Step(f"sync_nodes_{t}", _NODE_ROWS, (("entity_type", t),), ("key", "labels")) for t in LABELS]
    steps += [Step(f"sync_rels_{r.lower()}", _REL_ROWS, (("rel", r),), ("src", "dst", "key")) for r in RELS]
    steps += [Step("sync_alerts", _ALERT_ROWS, (), ("id",)),
              Step("sync_alert_entities", _ALERT_ENTITY_ROWS, (), ("alert_id", "key", "role"), False),
              Step("sync_communities", _COMMUNITY_ROWS, (), ("id",)),
              Step("sync_community_members", _MEMBER_ROWS, (), ("community_id", "key"), False)]
    return steps


def _rows(con, step: Step, batch_size: int) -> Iterator[list[dict]]:
    reader = con.sql(step.sql, params=dict(step.params)).to_arrow_reader(batch_size)
    for batch in reader:
        out = []
        for r in batch.to_pylist():
            row = {k: r[k] for k in step.top}
            if step.props:
                row["props"] = {k: v for k, v in r.items() if v is not None and k not in ("src", "dst", "labels")}
            out.append(row)
        if out:
            yield out


def _count_rows(con, step: Step) -> int:
    return con.execute(f"SELECT count(*) FROM ({step.sql})", dict(step.params)).fetchall()[0][0]


# --- the sync ------------------------------------------------------------------------------------

Progress = Callable[[str, int, int], None]     # (statement, batches done, batches in all)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def schema(settings: Neo4jSettings, driver=None) -> list[str]:
    """Create the constraints and indexes (`IF NOT EXISTS`), on `driver` if given (else one of
    its own); returns the statements run."""
    if driver is None:
        with settings.driver() as own:
            return schema(settings, own)
    done = [name for name in names() if name.startswith("schema_")]
    for name in done:
        driver.execute_query(cypher(name), database_=settings.database)
    return done


def sync(store: Store, settings: Neo4jSettings, run_id: str | None = None, batch_size: int = 5000,
         progress: Progress | None = None) -> dict:
    """Write run `run_id` (the current one by default) of `store` to Neo4j; returns a report:
    rows written per statement, batches skipped by a resume, labels added and removed, stale items
    deleted.

    Raises `Neo4jError` if the server cannot be reached; a failure part-way leaves a state from
    which the next `sync` of the same run resumes.
    """
    import neo4j

    run_id = store.resolve(run_id)
    con = store.connect(run_id)
    t0 = time.perf_counter()
    report = {"run_id": run_id, "database": settings.database, "written": {}, "seconds_by_statement": {},
              "resumed_after_batches": 0}
    try:
        with settings.driver() as driver:
            try:
                driver.verify_connectivity()
            except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.AuthError, OSError) as e:
                raise Neo4jError(f"cannot reach Neo4j at {settings.uri}: {type(e).__name__}: {e}") from e
            report["schema"] = len(schema(settings, driver))
            with driver.session(database=settings.database) as session:
                state = session.execute_read(
                    lambda tx: tx.run(cypher("sync_state_read"), id=STATE_ID).data())
                state = state[0] if state else {}
                skip = 0
                if (state.get("run_id") == run_id and state.get("status") == "syncing"
                        and state.get("batch_size") == batch_size):
                    skip = state.get("done") or 0
                    log.info("resuming the sync of run %s after %d batches", run_id, skip)
                report["resumed_after_batches"] = skip
                session.execute_write(lambda tx: tx.run(cypher("sync_state_write"), id=STATE_ID, props={
                    "run_id": run_id, "status": "syncing", "batch_size": batch_size, "done": skip,
                    "started_at": _now(), "finished_at": None}).consume())

                steps = upsert_steps()
                total = sum(-(-_count_rows(con, s) // batch_size) for s in steps)
                k = 0
                labels = {"added": 0, "removed": 0}
                for step in steps:
                    text = cypher(step.statement)
                    written, t1 = 0, time.perf_counter()
                    for rows in _rows(con, step, batch_size):
                        k += 1
                        written += len(rows)
                        if k <= skip:
                            continue
                        counters = _write_batch(session, text, rows, run_id, step.statement, k)
                        labels["added"] += counters.labels_added
                        labels["removed"] += counters.labels_removed
                        if progress:
                            progress(step.statement, k, total)
                    report["written"][step.statement] = written
                    report["seconds_by_statement"][step.statement] = round(time.perf_counter() - t1, 2)
                report["batches"] = k
                report["labels"] = labels
                report["stale_deleted"] = {
                    what: _until_done(session, cypher(f"sync_stale_{what}"),
                                      {"run_id": run_id, "limit": batch_size}, "deleted")
                    for what in ("relationships", "nodes")}
                report["cases"] = label_cases(session, store)
                session.execute_write(lambda tx: tx.run(cypher("sync_state_write"), id=STATE_ID, props={
                    "status": "done", "done": k, "finished_at": _now()}).consume())
    finally:
        con.close()
    report["nodes"] = sum(v for s, v in report["written"].items()
                          if s.startswith("sync_nodes_") or s in ("sync_alerts", "sync_communities"))
    report["relationships"] = sum(v for s, v in report["written"].items()
                                  if s.startswith("sync_rels_") or s in ("sync_alert_entities",
                                                                          "sync_community_members"))
    report["seconds"] = round(time.perf_counter() - t0, 2)
    return report


def _write_batch(session, text: str, rows: list[dict], run_id: str, statement: str, k: int):
    import neo4j

    @neo4j.unit_of_work(metadata={"app": "fraudnet", "fraudnet_run": run_id, "statement": statement,
                                  "batch": k})
    def work(tx):
        summary = tx.run(text, rows=rows, run_id=run_id, derived=list(DERIVED_LABELS)).consume()
        tx.run(cypher("sync_state_write"), id=STATE_ID, props={"done": k}).consume()
        return summary.counters

    return session.execute_write(work)


def _until_done(session, text: str, params: dict, column: str) -> int:
    """Run a statement that changes at most `limit` nodes per call until it changes none."""
    total = 0
    while True:
        n = session.execute_write(lambda tx: tx.run(text, **params).single()[column])
        total += n
        if n == 0:
            return total


# --- the saved queries, from the command line ------------------------------------------------------

def saved_queries() -> list[str]:
    """The investigators' saved queries of the catalog (`queries/saved_*.cypher`)."""
    return [n for n in names() if n.startswith("saved_")]


def parse_param(text: str) -> tuple[str, object]:
    """`name=value` → (name, value): a value is text if its name ends in `_id` (ids keep leading
    zeros) or it is not a number; otherwise a number.

        >>> parse_param("provider_id=10000000072"), parse_param("limit=5"), parse_param("pattern=dense_block")
        (('provider_id', '10000000072'), ('limit', 5), ('pattern', 'dense_block'))
    """
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"a parameter is name=value, not {text!r}")
    if not name.endswith("_id"):
        for kind in (int, float):
            try:
                return name, kind(value)
            except ValueError:
                pass
    return name, value


def run_saved(settings: Neo4jSettings, name: str, params: dict) -> list[dict]:
    """Run the saved query `name` with `params`; rows with nodes, relationships and paths made
    plain (a node as its labels, id and caption; a path as the captions and types along it)."""
    if name not in saved_queries():
        raise KeyError(f"no saved query {name!r} (have: {', '.join(saved_queries())})")
    with settings.driver() as driver:
        records, _, _ = driver.execute_query(cypher(name), params, database_=settings.database)
    return [{k: _plain(v) for k, v in r.items()} for r in records]


def _plain(v):
    import neo4j.graph
    if isinstance(v, neo4j.graph.Node):
        return {"labels": sorted(v.labels), "id": v.get("id"), "caption": v.get("caption")}
    if isinstance(v, neo4j.graph.Relationship):
        return {"type": v.type, **{k: _plain(x) for k, x in v.items() if k not in ("run_id", "key")}}
    if isinstance(v, neo4j.graph.Path):
        return " ".join(_walk(v))
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if hasattr(v, "iso_format"):
        return v.iso_format()
    return v


def _walk(path) -> list[str]:
    """A path as text: `caption -TYPE-> caption <-TYPE- caption`."""
    node = path.start_node
    out = [node.get("caption") or node.get("id")]
    for rel in path.relationships:
        forward = rel.start_node.element_id == node.element_id
        node = rel.end_node if forward else rel.start_node
        out += [f"-{rel.type}->" if forward else f"<-{rel.type}-", node.get("caption") or node.get("id")]
    return out
