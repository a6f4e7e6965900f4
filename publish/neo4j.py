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
file through `runs.results` (`graph_*`: read-only, streamed in batches), never from string
formatting: values go in as parameters.
"""
from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Callable, Iterator

import duckdb

from config import Neo4jSettings
from contract.errors import FraudnetError
from contract.tables import MAX_COUNT
from contract.vocab import DERIVED_LABELS, LABELS, RELS
from queries import cypher, names
from runs import results
from runs.store import Store

from .neo4j_cases import label_cases

log = logging.getLogger("fraudnet.neo4j")

STATE_ID = "fraudnet"


class Neo4jError(FraudnetError):
    """The Neo4j server cannot be reached (or refuses the credentials); the message names it by
    its URI without credentials."""


def driver(settings: Neo4jSettings):
    """A Bolt driver for `settings` (close it: `with driver(settings) as d:`)."""
    import neo4j
    # notifications off: a first sync's reads of properties not yet written are not warnings
    return neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password.get_secret_value()),
                                      notifications_min_severity="OFF")


@contextmanager
def connected(settings: Neo4jSettings):
    """A driver whose server answered (`with connected(settings) as d:`). Raises `Neo4jError`
    at once when the server cannot be reached or refuses the credentials, rather than after the
    driver's retries."""
    import neo4j
    with driver(settings) as bolt:
        try:
            bolt.verify_connectivity()
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.AuthError, OSError) as e:
            raise Neo4jError(f"cannot reach Neo4j at {settings.shown_uri}: {type(e).__name__}: {e}") from e
        yield bolt


# --- what each upsert step writes: rows from the run's results (runs.results) -------------------

@dataclass(frozen=True)
class Step:
    statement: str                                        # catalog name
    rows: Callable[[object], duckdb.DuckDBPyRelation]     # cursor -> the rows (a runs.results function)
    top: tuple = ()         # columns passed as row fields; the others go into row["props"]
    props: bool = True      # (but for src, dst and labels, which are never properties)


def upsert_steps() -> list[Step]:
    steps = [Step(f"sync_nodes_{t}", partial(results.graph_nodes, entity_type=t), ("key", "labels")) for t in LABELS]
    steps += [Step(f"sync_rels_{r.lower()}", partial(results.graph_relationships, rel=r), ("src", "dst", "key"))
              for r in RELS]
    steps += [Step("sync_alerts", results.graph_alerts, ("id",)),
              Step("sync_alert_entities", results.graph_alert_entities, ("alert_id", "key", "role", "standing"), False),
              Step("sync_communities", results.graph_communities, ("id",)),
              Step("sync_community_members", results.graph_members, ("community_id", "key"), False)]
    return steps


def _rows(con, step: Step, batch_size: int) -> Iterator[list[dict]]:
    for batch in step.rows(con).to_arrow_reader(batch_size):
        out = []
        for r in batch.to_pylist():
            row = {k: r[k] for k in step.top}
            if step.props:
                row["props"] = {k: v for k, v in r.items() if v is not None and k not in ("src", "dst", "labels")}
            out.append(row)
        if out:
            yield out


# --- the sync ------------------------------------------------------------------------------------

Progress = Callable[[str, int, int], None]     # (statement, batches done, batches in all)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def schema(settings: Neo4jSettings, bolt=None) -> list[str]:
    """Create the constraints and indexes (`IF NOT EXISTS`), on the driver `bolt` if given (else
    one of its own); returns the statements run. Raises `Neo4jError` when the server cannot be
    reached."""
    if bolt is None:
        with connected(settings) as own:
            return schema(settings, own)
    done = [name for name in names() if name.startswith("schema_")]
    for name in done:
        bolt.execute_query(cypher(name), database_=settings.database)
    return done


def sync(store: Store, settings: Neo4jSettings, run_id: str | None = None, batch_size: int = 5000,
         progress: Progress | None = None) -> dict:
    """Write run `run_id` (the current one by default) of `store` to Neo4j; returns a report:
    rows written per statement, batches skipped by a resume, labels added and removed, stale items
    deleted.

    Raises `Neo4jError` if the server cannot be reached or fails part-way (a failure part-way
    leaves a state from which the next `sync` of the same run resumes); `NoPublishedRun`,
    `NotReady` from the store.
    """
    import neo4j

    run_id = store.resolve(run_id)
    con = store.connect(run_id)
    t0 = time.perf_counter()
    report = {"run_id": run_id, "database": settings.database, "written": {}, "seconds_by_statement": {},
              "resumed_after_batches": 0}
    try:
        with connected(settings) as bolt:
            report["schema"] = len(schema(settings, bolt))
            with bolt.session(database=settings.database) as session:
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
                total = sum(-(-results.count(s.rows(con)) // batch_size) for s in steps)
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
    except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as e:
        raise Neo4jError(f"the sync to Neo4j at {settings.shown_uri} stopped ({type(e).__name__}: {e}); "
                         "run it again to resume") from e
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
    zeros) or it is not a number (`1_0`, which Python's int() reads as 10, is not); otherwise a number.

        >>> parse_param("provider_id=10000000072"), parse_param("limit=5"), parse_param("pattern=dense_block")
        (('provider_id', '10000000072'), ('limit', 5), ('pattern', 'dense_block'))
        >>> parse_param("max_degree=1_0")
        ('max_degree', '1_0')
    """
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"a parameter is name=value, not {text!r}")
    if not name.endswith("_id") and "_" not in value:
        for kind in (int, float):
            try:
                number = kind(value)
            except ValueError:
                continue
            if not math.isfinite(number) or abs(number) > MAX_COUNT:      # the CLI's bound on a number
                raise ValueError(f"parameter {name}: {value!r} is not a finite number within "
                                 f"-{MAX_COUNT:,} to {MAX_COUNT:,}")
            return name, number
    return name, value


def run_saved(settings: Neo4jSettings, name: str, params: dict) -> list[dict]:
    """Run the saved query `name` with `params`; rows with nodes, relationships and paths made
    plain (a node as its labels, id and caption; a path as the captions and types along it).
    Raises `KeyError` for an unknown query, `Neo4jError` when the server cannot be reached, and
    the driver's own errors (a missing parameter…) as they come."""
    if name not in saved_queries():
        raise KeyError(f"no saved query {name!r} (have: {', '.join(saved_queries())})")
    with connected(settings) as bolt:
        records, _, _ = bolt.execute_query(cypher(name), params, database_=settings.database)
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
