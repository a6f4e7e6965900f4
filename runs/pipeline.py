"""A scan: load → build → detect → score → publish, as one recorded run of the store.

Every stage is timed and recorded in the run as it starts and ends, so progress can be read
while it runs (`fraudnet runs`, the API). Results are published only when every stage succeeded.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import pyarrow as pa

from graph.detect import detect
from graph.model import build_graph, in_window
from graph.network import centrality, community_summary, flow_edges, leiden, risk_network, stable_ids
from graph.risk import entity_risk
from graph.settings import ScanSettings
from graph.shared import build_shared
from engine import query
from loaders.dataset import load_dataset

from .changes import compare
from .store import NotFound, Store

log = logging.getLogger("fraudnet.scan")
INDEXES = {"nodes": ["node_id"], "edges": ["src", "dst"], "node_degree": ["node_id"], "alerts": ["alert_id"],
           "alert_entities": ["alert_id", "entity_type, entity_id"], "entity_risk": ["entity_type, entity_id"],
           "communities": ["node_id", "community_id"], "centrality": ["node_id"]}
Progress = Callable[[str, str, float | None], None]   # (stage, "start"|"done", seconds)


def _previous_communities(store: Store) -> pa.Table | None:
    try:
        con = store.connect()
    except NotFound:
        return None
    try:
        return con.sql("SELECT community_id, node_id FROM communities").to_arrow_table()
    finally:
        con.close()


def scan(data: str | Path | list, store: Store, settings: ScanSettings = ScanSettings(),
         progress: Progress | None = None) -> dict:
    """Run a scan of the dataset folder `data` (or of several, merged) into `store`; returns the
    finished run record.

    Raises what failed (a `DatasetError` for bad input) after recording the run as failed; the
    published results are then those of the previous good run, untouched. Raises `Busy`, before
    recording anything, when another scan holds the store's lock.
    """
    with store.lock(f"scan {_label(data)}"):
        return _scan(data, store, settings, progress)


def _label(data) -> str:
    return " + ".join(str(d) for d in data) if isinstance(data, (list, tuple)) else str(data)


def start_scan(data: str | Path, store: Store, settings: ScanSettings = ScanSettings()) -> str:
    """Start a scan in a background thread and return its run id at once (the API's POST /runs).

    Raises `Busy` if another scan holds the lock; the run's progress is in its record.
    """
    lock = store.lock(f"scan {_label(data)}")
    lock.__enter__()
    try:
        run = store.new_run(_label(data), settings.model_dump(mode="json"))
    except BaseException:
        lock.__exit__(None, None, None)
        raise

    def work():
        try:
            _scan(data, store, settings, None, run)
        except Exception as e:    # recorded in the run as failed; said in the log too
            log.warning("run %s failed: %s", run.id, type(e).__name__)
        finally:
            lock.__exit__(None, None, None)

    threading.Thread(target=work, name=f"scan-{run.id}", daemon=True).start()
    return run.id


def _scan(data, store: Store, settings: ScanSettings, progress: Progress | None, run=None) -> dict:
    run = run or store.new_run(_label(data), settings.model_dump(mode="json"))

    @contextmanager
    def stage(name):
        run.stage(name)
        if progress:
            progress(name, "start", None)
        t0 = time.perf_counter()
        yield
        run.stage(name, time.perf_counter() - t0)
        if progress:
            progress(name, "done", time.perf_counter() - t0)

    try:
        with stage("load"):
            dataset = load_dataset(data, settings.max_problems)
            run.record["load_report"] = dataset.report.to_dict()
        with stage("build"):
            tables = in_window(dataset.tables, settings.start, settings.end)
            graph = build_graph(tables, identifier_hub_max=settings.identifier_hub_max)
        with stage("detect"):
            intermediates = build_shared(tables, graph, settings.network.patient_max)
            findings = detect(tables, graph, settings, _alert_id_key(store), intermediates)
        with stage("score"):
            n = settings.network
            shared = intermediates.projection
            flows = flow_edges(graph)
            previous = _previous_communities(store)
            communities = pa.concat_tables([
                stable_ids(leiden(shared, settings.seed, n.resolution), previous, "sp", n.min_community_size),
                stable_ids(leiden(flows, settings.seed, n.resolution), previous, "rx", n.min_community_size)])
            membership = dict(zip(communities["node_id"].to_pylist(), communities["community_id"].to_pylist()))
            both = pa.concat_tables([shared, flows])
            central = centrality(both, membership, settings.seed, n.betweenness_sample)
            risk = entity_risk(findings, risk_network(graph, shared, flows), n.network_share)
            summary = community_summary(communities, both, risk)
        with stage("publish"):
            degree = query("SELECT node_id, count(*) AS degree FROM (SELECT src AS node_id FROM e UNION ALL "
                           "SELECT dst FROM e) GROUP BY node_id ORDER BY node_id", e=graph.edges)
            results = {"nodes": graph.nodes, "edges": graph.edges, "hubs": graph.hubs, "node_degree": degree,
                       "alerts": findings.alerts, "alert_entities": findings.entities,
                       "entity_risk": risk, "communities": communities,
                       "community_summary": summary, "centrality": central}
            run.write_results(results, INDEXES)
            previous = store.current()
            changes = compare(run.dir / "results.duckdb",
                              store.runs_dir / previous / "results.duckdb" if previous else None, previous)
            run.write_json("changes.json", changes)
            run.record["changes"] = changes["summary"]
            counts = {**graph.count(), "claims": tables["claims"].num_rows,
                      "alerts": findings.alerts.num_rows, "communities": summary.num_rows,
                      "risky_entities": risk.num_rows,
                      **{f"alerts.{p}": c for p, c in _count_by(findings.alerts, "pattern").items()}}
        run.succeed(counts)
    except BaseException as e:
        run.fail(e)
        raise
    return store.get_run(run.id)


def _alert_id_key(store: Store) -> bytes:
    """The store's secret keying opaque alert ids (graph.findings.opaque_id): made once, kept in
    the store (owner-only), so ids stay the same run after run. (Placeholder until the store
    manages its secrets.)"""
    path = Path(store.root) / "alert-id.key"
    if not path.exists():
        import secrets
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        os.replace(tmp, path)
    return path.read_bytes()


def _count_by(table: pa.Table, column: str) -> dict:
    out: dict = {}
    for v in table[column].to_pylist():
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


EXPORTS = {
    "alerts.csv": "SELECT alert_id, pattern, score, summary, evidence FROM alerts ORDER BY pattern, score DESC, alert_id",
    "alert_entities.csv": "SELECT alert_id, entity_type, entity_id, role, standing FROM alert_entities "
                          "ORDER BY alert_id, entity_type, entity_id, role",
    "entity_risk.csv": "SELECT entity_type, entity_id, score, reasons, direct_score, network_score, alerts "
                       "FROM entity_risk ORDER BY score DESC, entity_type, entity_id",
    "communities.csv": "SELECT community_id, entity_type, entity_id FROM communities "
                       "ORDER BY community_id, entity_type, entity_id",
}


def export_csv(con, name: str, path: Path):
    """One contract file of the results `con` is connected to, written by DuckDB (quoted only where needed)."""
    con.sql(EXPORTS[name]).to_csv(str(path))


def export(store: Store, directory: str | Path, run_id: str | None = None) -> list[Path]:
    """Write the contract's CSV files of a run (the published one by default) into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    con = store.connect(run_id)
    try:
        for name in EXPORTS:
            export_csv(con, name, directory / name)
    finally:
        con.close()
    return [directory / name for name in EXPORTS]
