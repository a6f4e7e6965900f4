"""A scan: load → build → detect → score → write → check → promote, as one recorded run.

`execute(store, run)` runs the stages in the process that holds the store's scan lock (see
`runs.launch` for how every face starts one). Each stage is recorded in the run as it starts and
ends, so progress can be read while it runs. The previous current run is read once, up front
(its counts, communities, alerts and risk: what the checks, the stable community ids and the
change report compare with). The results are written, then checked against that run; only a
run whose checks pass is promoted (made current); one that fails them is **held**. The store's
history across runs (`runs.history`: alerts seen, alerts reviewed, decisions to measure) is read
once up front too, and the run's alerts are recorded in it when the run becomes current.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from contract.errors import Busy, FraudnetError, NotReady, SettingsError, StoreUnwritable, withheld
from engine import open_engine, query, use
from graph.campaigns import campaign_warnings
from graph.detect import detect
from graph.evidence import evidence_lines
from graph.impact import measure, peer_distribution, span
from graph.model import build_graph, in_window
from graph.network import centrality, community_summary, flow_edges, leiden, risk_network, stable_ids
from graph.profile import billing_profile, patient_days, provider_days
from graph.shared import build_shared
from graph.risk import entity_risk
from loaders.dataset import load_dataset

from . import history, results
from .changes import compare
from .checks import check_run
from .settings import RunSettings
from .sources import confine
from .store import Run, Store, open_results

log = logging.getLogger("fraudnet.scan")
STAGES = ("load", "build", "detect", "score", "write", "check", "promote")
Progress = Callable[[str, str, float | None], None]   # (stage, "start"|"done", seconds)


@dataclass(frozen=True)
class Previous:
    """The run current before this one, read once: its record and its small result tables."""
    run_id: str
    record: dict
    tables: dict[str, pa.Table]     # alerts, communities, entity_risk

    @classmethod
    def read(cls, store: Store) -> "Previous | None":
        run_id = store.current()
        if run_id is None:
            return None
        con = open_results(store.results_path(run_id))
        try:
            tables = {name: results.table(con, name) for name in ("alerts", "communities", "entity_risk")}
        finally:
            con.close()
        return cls(run_id, store.get_run(run_id), tables)


def window(tables: dict[str, pa.Table], settings: RunSettings, today: date | None = None) -> tuple[date | None, date | None]:
    """The [start, end] of claims scanned: `start`/`end` (either may be open); with
    `window_days`, the last N days ending at `end`, else at the data's last service date
    (`window_anchor = "data"`) or today, and never before `start`."""
    if not settings.window_days:
        return settings.start, settings.end
    end = settings.end
    if end is None and settings.window_anchor == "today":
        end = today or datetime.now(timezone.utc).date()
    elif end is None:
        end = query("SELECT max(service_date) AS d FROM c", c=tables["claims"])["d"][0].as_py()
    if end is None:
        return settings.start, None
    start = end - timedelta(days=settings.window_days - 1)
    return (max(start, settings.start) if settings.start else start), end


def _figures(claims: pa.Table) -> dict:
    row = query("""SELECT count(DISTINCT provider_id) AS providers, count(DISTINCT patient_id) AS patients,
                          min(service_date)::VARCHAR AS first, max(service_date)::VARCHAR AS last FROM c""",
                c=claims).to_pylist()[0]
    months = query("SELECT strftime(service_date, '%Y-%m') AS m, count(*) AS n FROM c GROUP BY 1 ORDER BY 1",
                   c=claims).to_pylist()
    return {"providers": row["providers"], "patients": row["patients"],
            "coverage": {"first": row["first"], "last": row["last"]},
            "claims_by_month": {r["m"]: r["n"] for r in months}}


def _ranked(alerts: pa.Table) -> pa.Table:
    return query("SELECT *, row_number() OVER (PARTITION BY pattern ORDER BY score DESC, alert_id) AS rank "
                 "FROM a ORDER BY rank, pattern, alert_id", a=alerts)


def execute(store: Store, run: Run, progress: Progress | None = None,
            stopped: Callable[[], BaseException | None] = lambda: None) -> dict:
    """Run every stage of `run` (whose record names its sources and settings) and return its
    final record: status `succeeded` (made current), `held` (checks failed) or `failed` (with the
    error's type and message). Raises what failed after recording it; the current results
    are then those of the previous good run, untouched.

    `stopped()` names why the scan was stopped from outside (its time limit, a SIGTERM), if it
    was: that cause is recorded rather than what it surfaced as (DuckDB turns a signal that
    arrives during a query into `RuntimeError: Query interrupted`)."""
    settings = RunSettings.model_validate(run.record["settings"])
    sources = run.record["sources"]

    @contextmanager
    def stage(name):
        """Time a stage; the body counts the rows it made in the dict it is given ({what: rows}),
        and the scan log says both (`stage load: 0.90 s; 151,963 claims loaded`): counts, never a
        value of the data."""
        run.stage(name)
        if progress:
            progress(name, "start", None)
        t0, rows = time.perf_counter(), {}
        yield rows
        run.stage(name, time.perf_counter() - t0)
        log.info("run %s stage %s: %.2f s; %s", run.id, name, time.perf_counter() - t0,
                 ", ".join(f"{n:,} {what}" for what, n in rows.items()) or "no rows")
        if progress:
            progress(name, "done", time.perf_counter() - t0)

    scope = ExitStack()     # the scan's engine (settings.engine): every query() of the stages runs on it
    try:
        spill = run.dir / "spill"      # DuckDB's intermediates past its memory limit, gone with the scan
        scope.callback(shutil.rmtree, spill, ignore_errors=True)
        work = run.dir / "work"        # the typed claims as Parquet, read by the engine; gone with the scan
        scope.callback(shutil.rmtree, work, ignore_errors=True)
        engine = scope.enter_context(use(open_engine(settings.engine, settings.spark_master, settings.spark_conf,
                                                     {"temp_directory": str(spill), **settings.duckdb_conf})))
        scope.callback(engine.close)
        previous = Previous.read(store)
        known = history.read(store)
        with stage("load") as rows:
            if run.record.get("data_root"):      # asked for over the network: nothing outside the root
                for source in sources:
                    confine(source, run.record["data_root"])
            work.mkdir(mode=0o700, exist_ok=True)       # the claims name patients: the scan's user only
            dataset = load_dataset(sources if len(sources) > 1 else sources[0], settings.max_problems,
                                   claims_to=work / "claims.parquet",
                                   duckdb_conf={"temp_directory": str(spill), **settings.duckdb_conf})
            run.record["load_report"] = dataset.report.to_dict()
            run.record["warnings"] += [w["message"] for w in run.record["load_report"]["warnings"]
                                       if w.get("severity") == "critical"]    # loud: in every listing
            rows["claims loaded"] = dataset.tables["claims"].num_rows
        with stage("build") as rows:
            start, end = window(dataset.tables, settings)
            tables = in_window(dataset.tables, start, end)
            loaded, kept = dataset.tables["claims"].num_rows, tables["claims"].num_rows
            run.record["window"] = {"start": start and str(start), "end": end and str(end),
                                    "claims_loaded": loaded, "claims_in_window": kept}
            if loaded and not kept:            # an empty run must not become current
                first, last = span(dataset.tables["claims"])
                raise SettingsError("the scan's window", [f"the window {start or '…'} to {end or '…'} holds no claim: "
                                                          f"the data's claims run from {first} to {last}"])
            if kept < loaded / 2:
                run.record["warnings"].append(
                    f"the window {start or '…'} to {end or '…'} keeps {kept:,} of the {loaded:,} claims loaded "
                    f"({kept / loaded:.0%})")
            graph = build_graph(tables, identifier_hub_max=settings.identifier_hub_max)
            rows.update({"claims in the window": kept, "nodes": graph.nodes.num_rows, "edges": graph.edges.num_rows})
        with stage("detect") as rows:
            intermediates = build_shared(tables, graph, settings.network.patient_max)
            findings = detect(tables, graph, settings, store.secret(), intermediates)
            rows.update({"alerts": findings.alerts.num_rows, "alert entities": findings.entities.num_rows})
            run.record["warnings"] += [w for cp in settings.campaigns for w in campaign_warnings(tables, cp)]
            # a campaign whose codes match no claim, or whose peer group is empty, is said, not silent
        with stage("score") as rows:
            n = settings.network
            shared = intermediates.projection
            del intermediates      # the claims-scale intermediates: freed before the score stage makes its own
            flows = flow_edges(graph)
            before = previous.tables["communities"] if previous else None
            communities = pa.concat_tables([
                stable_ids(leiden(shared, settings.seed, n.resolution), before, "sp", n.min_community_size),
                stable_ids(leiden(flows, settings.seed, n.resolution), before, "rx", n.min_community_size)])
            membership = dict(zip(communities["node_id"].to_pylist(), communities["community_id"].to_pylist()))
            both = pa.concat_tables([shared, flows])
            central = centrality(both, membership, settings.seed, n.betweenness_sample)
            risk = entity_risk(findings, risk_network(graph, shared, flows), n.network_share)
            summary = community_summary(communities, {"sp": shared, "rx": flows}, risk)
            days = patient_days(tables["claims"], [("window", *span(tables["claims"]))], keep=True)
            pdays = provider_days(days, keep=True)      # both held by the engine, read by statements only
            peers = peer_distribution(tables, findings.alerts, findings.entities, settings.impact, days=days, pdays=pdays,
                                      campaigns=settings.campaigns)
            lines = evidence_lines(tables, findings.alerts, findings.entities,
                                   peers.select(["alert_id", "detail"]).rename_columns(["alert_id", "service_code"]),
                                   settings.impact.area_prefix, settings.impact.supply_days, settings.campaigns)
            impact = measure(tables, known["impact_watches"], settings.impact, settings.campaigns)
            profile = billing_profile(pdays, tables["providers"])
            rows.update({"community members": communities.num_rows, "risky entities": risk.num_rows,
                         "evidence lines": lines.num_rows, "impact measures": impact.num_rows})
        with stage("write") as rows:
            degree = query("SELECT node_id, count(*) AS degree FROM (SELECT src AS node_id FROM e UNION ALL "
                           "SELECT dst FROM e) GROUP BY node_id ORDER BY node_id", e=graph.edges)
            alerts = _ranked(findings.alerts)
            out = {"nodes": graph.nodes, "edges": graph.edges, "hubs": graph.hubs, "node_degree": degree,
                   "alerts": alerts, "alert_entities": findings.entities, "entity_risk": risk,
                   "communities": communities, "community_summary": summary, "centrality": central,
                   "evidence": lines, "peer_distribution": peers, "billing_profile": profile, "impact": impact}
            results.write(run.dir / "results.duckdb", out)
            rows["rows written"] = sum(t.num_rows for t in out.values())
            run.record["results_bytes"] = (run.dir / "results.duckdb").stat().st_size
            changes = compare(out, previous.tables if previous else None, previous.run_id if previous else None,
                              known, settings.changes.escalation, settings.changes.realert_margin,
                              campaigns=[c.name for c in settings.campaigns])
            run.save_json("changes.json", changes)
            run.record["changes"] = changes["summary"]
            figures = _figures(tables["claims"])
            run.record["counts"] = {**graph.count(), "claims": kept, "alerts": alerts.num_rows,
                                    "communities": summary.num_rows, "risky_entities": risk.num_rows,
                                    "providers": figures["providers"], "patients": figures["patients"],
                                    **{f"alerts.{p}": c for p, c in _count_by(alerts, "pattern").items()}}
            run.record.update(coverage=figures["coverage"], claims_by_month=figures["claims_by_month"])
        with stage("check") as rows:
            checks = check_run(run.record, previous.record if previous else None, settings.checks)
            run.record["checks"] = checks
            rows["checks failed"] = len(checks["failed"])
        if not checks["passed"]:
            run.finish("held")
            log.warning("run %s held: checks failed (%s)", run.id, ", ".join(checks["failed"]))
            return store.get_run(run.id)
        with stage("promote") as rows:
            run.finish("succeeded")
            store.promote(run)
            history.record_run(store, run.id, alerts, changes["realerted"])
            rows["alerts made current"] = alerts.num_rows
        log.info("run %s succeeded and is current", run.id)
    except BaseException as e:
        run.finish("failed", error=failure(stopped() or e))
        raise
    finally:
        scope.close()
    return store.get_run(run.id)


SQLITE_SYSTEM = ("SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_BUSY", "SQLITE_LOCKED")


def failure(e: BaseException) -> dict:
    """A failure as a run records it, {"type", "message"}, naming no patient: fraudnet's own
    errors (`FraudnetError`) are worded to name none; a system error (or DuckDB's I/O, memory and
    commit errors) keeps the system's words ("No space left on device") without file names;
    anything else — a bug, whose message may quote data — is told by its type and where it was
    raised (`contract.errors.withheld`; its stack is in the scan log)."""
    if isinstance(e, FraudnetError):
        message = str(e)
    elif isinstance(e, OSError):
        message = e.strerror or type(e).__name__
    elif isinstance(e, (duckdb.IOException, duckdb.OutOfMemoryException, duckdb.TransactionException)):
        message = re.sub(r'"[^"]*"', '"…"', str(e).splitlines()[0])     # the engine's system errors: no file names
    elif isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorname", "") == "SQLITE_FULL":
        message = "No space left on device (the store's history database)"
    elif isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorname", "").startswith(SQLITE_SYSTEM):
        message = f"{e} (the store's history database)"      # SQLite's words for its system errors name no data
    else:
        message = withheld(e)
    return {"type": type(e).__name__, "message": message}


def accept(store: Store, run_id: str, by: str) -> dict:
    """Promote a held run on an admin's word (`by`): its change report is recomputed against
    the current run, then it becomes current. Raises `NotReady` if it is not held,
    `StoreUnwritable` if the store cannot be written (the current run is then unchanged)."""
    try:
        return _accept(store, run_id, by)
    except OSError as e:
        raise StoreUnwritable(e.strerror or type(e).__name__) from None


def _accept(store: Store, run_id: str, by: str) -> dict:
    record = store.get_run(run_id)
    if record["status"] != "held":
        raise NotReady(run_id, record["status"], "held results to accept")
    previous = Previous.read(store)
    con = open_results(store.results_path(run_id))
    try:
        mine = {name: results.table(con, name) for name in ("alerts", "alert_entities", "communities", "entity_risk")}
    finally:
        con.close()
    settings = RunSettings.model_validate(record["settings"])
    changes = compare(mine, previous.tables if previous else None, previous.run_id if previous else None,
                      history.read(store), settings.changes.escalation, settings.changes.realert_margin,
                      campaigns=[c.name for c in settings.campaigns])
    store.open_run(run_id).save_json("changes.json", changes)
    store.promote(run_id, by=by)
    history.record_run(store, run_id, mine["alerts"], changes["realerted"])
    return store.get_run(run_id)


def scan(data: str | Path | list, store: Store, settings: RunSettings | None = None,
         progress: Progress | None = None) -> dict:
    """Scan in this process: take the store's lock, create the run and execute it (a library
    call for tests, benchmarks and notebooks; the faces use `runs.launch`). Raises `Busy` before
    creating anything when another scan holds the lock, else what `execute` raises."""
    settings = settings or RunSettings()
    sources = [str(d) for d in (data if isinstance(data, (list, tuple)) else [data])]
    run = store.new_run(sources, settings.model_dump(mode="json"))
    try:
        fd = store.lock().acquire(run.id)
    except Busy:
        store.discard(run.id)
        raise
    try:
        store.clean_leftovers()
        return execute(store, run, progress)
    finally:
        os.close(fd)


def _count_by(table: pa.Table, column: str) -> dict:
    out: dict = {}
    for v in table[column].to_pylist():
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))
