"""Scan runs: list and read."""
from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import CurrentUser, StoreDep
from ..models import RunPublic, RunsPublic

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("", response_model=RunsPublic)
def list_runs(store: StoreDep, _: CurrentUser,
              limit: Annotated[int, Query(ge=1, le=500)] = 50,
              offset: Annotated[int, Query(ge=0)] = 0) -> RunsPublic:
    """Runs, newest first, without their settings and load report."""
    runs = store.list_runs()
    page = [RunPublic(**{**r, "settings": None, "load_report": None}) for r in runs[offset:offset + limit]]
    return RunsPublic(data=page, count=len(runs))


@router.get("/{run_id}", response_model=RunPublic)
def get_run(run_id: str, store: StoreDep, _: CurrentUser) -> RunPublic:
    """One run: status, stage, counts, stage timings, settings and load report."""
    return RunPublic(**store.get_run(run_id))
