"""Scan runs: list, read, start and accept (admin), their change report and their exports."""
import threading
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from contract.errors import Refused
from publish.export import csv_bytes
from runs import launch
from runs.pipeline import accept
from runs.sources import confine
from runs.shown import source_shown, without_paths
from runs.store import Store

from ..deps import AdminUser, Audit, CurrentUser, HeavyUser, Offset, ResultsDep, StoreDep
from ..errors import responses
from ..models import RunCreate, RunPublic, RunsPublic, RunStarted

router = APIRouter(prefix="/runs", tags=["runs"])


def public(record: dict, data_root: Path | None, store: Store, full: bool = True) -> RunPublic:
    """A run's record for HTTP clients: dataset folders relative to the data root, and no server
    path in any text (errors, warnings, the load report), the settings and load report only when
    `full`."""
    sources = record.get("sources", [])
    out = {**without_paths(record, sources, store.root, data_root),
           "sources": [source_shown(s, data_root) for s in sources]}
    if not full:
        out.update(settings=None, load_report=None)
    return RunPublic(**out)


@router.get("", response_model=RunsPublic, responses=responses(401, 422))
def list_runs(request: Request, store: StoreDep, _: CurrentUser,
              limit: Annotated[int, Query(ge=1, le=500)] = 50,
              offset: Offset = 0) -> RunsPublic:
    """Runs, newest first, without their settings and load report."""
    runs = store.list_runs()
    root = request.app.state.data_root
    return RunsPublic(data=[public(r, root, store, full=False) for r in runs[offset:offset + limit]],
                      count=len(runs))


@router.post("", response_model=RunStarted, status_code=202,
             responses=responses(401, 403, 404, 408, 409, 413, 422, 503))
def create_run(body: RunCreate, request: Request, store: StoreDep, _: AdminUser) -> RunStarted:
    """Start a scan of a dataset folder under the server's data root, in a child process with the
    server's time limit; returns at once with the run id. Follow it with GET /runs/{run_id}
    (status, stage, timings). One scan at a time: 409. A folder holding a link to outside the
    data root is refused (422)."""
    root: Path | None = request.app.state.data_root
    if root is None:
        raise Refused("scans over the API are off: the server has no data root")
    source = (root / body.source).resolve()
    if not source.is_relative_to(root.resolve()):
        raise HTTPException(422, f"source {body.source!r} is outside the data root")
    if not source.is_dir():
        raise HTTPException(404, f"no dataset folder {body.source!r} under the data root")
    confine(source, root)
    scan = launch.start(store, [str(source)], body.settings, request.app.state.scan_timeout, data_root=root)
    threading.Thread(target=scan.wait, name=f"scan-{scan.run_id}", daemon=True).start()
    return RunStarted(run_id=scan.run_id, status="running")


@router.get("/{run_id}", response_model=RunPublic, responses=responses(401, 404, 503))
def get_run(run_id: str, request: Request, store: StoreDep, audit: Audit) -> RunPublic:
    """One run: status, stage, counts, stage timings, checks, warnings, settings and load report
    (which may name providers and centres: audited)."""
    record = store.get_run(run_id)
    audit("runs.get", f"run:{record['run_id']}", record["run_id"])
    return public(record, request.app.state.data_root, store)


@router.post("/{run_id}/accept", response_model=RunPublic, responses=responses(401, 403, 404, 409, 503))
def accept_run(run_id: str, request: Request, store: StoreDep, who: AdminUser, audit: Audit) -> RunPublic:
    """Accept a run held by its checks (admin): it becomes the current run; who accepted it is
    recorded in the run."""
    record = accept(store, run_id, by=f"{who.name} (api)")
    audit("runs.accept", f"run:{record['run_id']}", record["run_id"])
    return public(record, request.app.state.data_root, store)


@router.get("/{run_id}/changes", response_model=dict[str, Any], responses=responses(401, 404, 409, 429, 503))
def get_changes(run_id: str, store: StoreDep, _: HeavyUser, audit: Audit):
    """What the run adds, escalates and resolves compared with the run current before it, new and
    dissolved communities, and the entities whose risk rose most. `current` names
    the current run."""
    report = store.changes(None if run_id == "current" else run_id)
    audit("runs.changes", f"changes:{report['run_id']}", report["run_id"],
          sum(len(report[k]) for k in ("new", "escalated", "resolved", "risk_risers")))
    return report


@router.get("/{run_id}/export/{name}", response_class=Response, responses={
    200: {"content": {"text/csv": {}}, "description": "the contract CSV file"}, **responses(401, 404, 409, 429, 503)})
def get_export(run_id: str, name: Literal["alerts.csv", "alert_entities.csv", "entity_risk.csv", "communities.csv"],
               reader: ResultsDep, _: HeavyUser, audit: Audit):
    """One of the run's contract CSV files (`current`: the current run) as a download."""
    read, cur = reader.cursor(None if run_id == "current" else run_id)
    try:
        body = csv_bytes(cur, name)
    finally:
        cur.close()
    audit("runs.export", f"export:{name}", read, body.count(b"\n") - 1)
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
