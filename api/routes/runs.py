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

from ..deps import AdminUser, CurrentUser, ResultsDep, StoreDep
from ..errors import responses
from ..models import RunCreate, RunPublic, RunsPublic, RunStarted

router = APIRouter(prefix="/runs", tags=["runs"])


def public(record: dict, data_root: Path | None, full: bool = True) -> RunPublic:
    """A run's record for HTTP clients: dataset folders relative to the data root (never a
    server path), the settings and load report only when `full`."""
    root = data_root.resolve() if data_root else None

    def shown(source: str) -> str:
        p = Path(source)
        return str(p.relative_to(root)) if root and p.is_relative_to(root) else p.name
    out = {**record, "sources": [shown(s) for s in record.get("sources", [])]}
    if not full:
        out.update(settings=None, load_report=None)
    return RunPublic(**out)


@router.get("", response_model=RunsPublic, responses=responses(401, 422))
def list_runs(request: Request, store: StoreDep, _: CurrentUser,
              limit: Annotated[int, Query(ge=1, le=500)] = 50,
              offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> RunsPublic:
    """Runs, newest first, without their settings and load report."""
    runs = store.list_runs()
    return RunsPublic(data=[public(r, request.app.state.data_root, full=False) for r in runs[offset:offset + limit]],
                      count=len(runs))


@router.post("", response_model=RunStarted, status_code=202, responses=responses(401, 403, 404, 409, 413, 422))
def create_run(body: RunCreate, request: Request, store: StoreDep, _: AdminUser) -> RunStarted:
    """Start a scan of a dataset folder under the server's data root, in a child process with the
    server's time limit; returns at once with the run id. Follow it with GET /runs/{run_id}
    (status, stage, timings). One scan at a time: 409."""
    root: Path | None = request.app.state.data_root
    if root is None:
        raise Refused("scans over the API are off: the server has no data root")
    source = (root / body.source).resolve()
    if not source.is_relative_to(root.resolve()):
        raise HTTPException(422, f"source {body.source!r} is outside the data root")
    if not source.is_dir():
        raise HTTPException(404, f"no dataset folder {body.source!r} under the data root")
    scan = launch.start(store, [str(source)], body.settings, request.app.state.scan_timeout)
    threading.Thread(target=scan.wait, name=f"scan-{scan.run_id}", daemon=True).start()
    return RunStarted(run_id=scan.run_id, status="running")


@router.get("/{run_id}", response_model=RunPublic, responses=responses(401, 404))
def get_run(run_id: str, request: Request, store: StoreDep, _: CurrentUser) -> RunPublic:
    """One run: status, stage, counts, stage timings, checks, warnings, settings and load report."""
    return public(store.get_run(run_id), request.app.state.data_root)


@router.post("/{run_id}/accept", response_model=RunPublic, responses=responses(401, 403, 404, 409))
def accept_run(run_id: str, request: Request, store: StoreDep, who: AdminUser) -> RunPublic:
    """Accept a run held by its checks (admin): it becomes the current run; who accepted it is
    recorded in the run."""
    return public(accept(store, run_id, by=f"{who.name} (api)"), request.app.state.data_root)


@router.get("/{run_id}/changes", response_model=dict[str, Any], responses=responses(401, 404, 409))
def get_changes(run_id: str, store: StoreDep, _: CurrentUser):
    """What the run adds, escalates and resolves compared with the run current before it, new and
    dissolved communities, and the entities whose risk rose most. `current` names
    the current run."""
    return store.changes(None if run_id == "current" else run_id)


@router.get("/{run_id}/export/{name}", response_class=Response, responses={
    200: {"content": {"text/csv": {}}, "description": "the contract CSV file"}, **responses(401, 404, 409)})
def get_export(run_id: str, name: Literal["alerts.csv", "alert_entities.csv", "entity_risk.csv", "communities.csv"],
               reader: ResultsDep, _: CurrentUser):
    """One of the run's contract CSV files (`current`: the current run) as a download."""
    _, cur = reader.cursor(None if run_id == "current" else run_id)
    try:
        body = csv_bytes(cur, name)
    finally:
        cur.close()
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
