"""Scan runs: list, read, start (admin), their change report and their exports."""
from pathlib import Path
from typing import Annotated, Any, Literal

import tempfile

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from graph.settings import ScanSettings

from ..deps import AdminUser, CurrentUser, ResultsDep, StoreDep
from ..models import RunPublic, RunsPublic
from runs.pipeline import export_csv, start_scan

router = APIRouter(prefix="/runs", tags=["runs"])


class RunCreate(BaseModel):
    source: str = Field(description="a dataset folder, relative to the server's data root")
    settings: dict[str, Any] = Field(default_factory=dict, description="scan settings (see README)")


class RunStarted(BaseModel):
    run_id: str
    status: str


@router.get("", response_model=RunsPublic)
def list_runs(store: StoreDep, _: CurrentUser,
              limit: Annotated[int, Query(ge=1, le=500)] = 50,
              offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> RunsPublic:
    """Runs, newest first, without their settings and load report."""
    runs = store.list_runs()
    page = [RunPublic(**{**r, "settings": None, "load_report": None}) for r in runs[offset:offset + limit]]
    return RunsPublic(data=page, count=len(runs))


@router.post("", response_model=RunStarted, status_code=202,
             responses={409: {"description": "a scan is already running, or scans over the API are off"}})
def create_run(body: RunCreate, request: Request, store: StoreDep, _: AdminUser) -> RunStarted:
    """Start a scan of a dataset folder under the server's data root; returns at once with the run
    id. Follow it with GET /runs/{run_id} (status, stage, timings). One scan at a time: 409."""
    root: Path | None = request.app.state.data_root
    if root is None:
        raise HTTPException(409, "scans over the API are off: start the server with --data-root")
    source = (root / body.source).resolve()
    if not source.is_relative_to(root.resolve()):
        raise HTTPException(422, f"source {body.source!r} is outside the data root")
    if not source.is_dir():
        raise HTTPException(404, f"no dataset folder {body.source!r} under the data root")
    try:
        settings = ScanSettings.model_validate(body.settings)
    except ValidationError as e:
        raise HTTPException(422, "invalid settings: " + "; ".join(
            f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()))
    return RunStarted(run_id=start_scan(source, store, settings), status="running")


@router.get("/{run_id}", response_model=RunPublic)
def get_run(run_id: str, store: StoreDep, _: CurrentUser) -> RunPublic:
    """One run: status, stage, counts, stage timings, settings and load report."""
    return RunPublic(**store.get_run(run_id))


@router.get("/{run_id}/changes", response_model=dict[str, Any])
def get_changes(run_id: str, store: StoreDep, _: CurrentUser):
    """What the run adds, escalates and resolves compared with the run published before it, new and
    dissolved communities, and the entities whose risk rose most. `latest` names the published run."""
    return store.changes(None if run_id == "latest" else run_id)


@router.get("/{run_id}/export/{name}", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the contract CSV file"}})
def get_export(run_id: str, name: Literal["alerts.csv", "alert_entities.csv", "entity_risk.csv", "communities.csv"],
               results: ResultsDep, _: CurrentUser):
    """One of the run's contract CSV files (`latest`: the published run) as a download."""
    _, cur = results.cursor(None if run_id == "latest" else run_id)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            export_csv(cur, name, Path(tmp) / name)
            body = (Path(tmp) / name).read_bytes()
    finally:
        cur.close()
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
