"""Liveness and readiness, without authentication."""
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..deps import StoreDep
from ..models import Health, Ready
from runs.store import NotFound

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> Health:
    """The process answers."""
    return Health(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
def ready(store: StoreDep):
    """The store is reachable and a published run exists."""
    try:
        run_id = store.resolve(None)
    except NotFound:
        return JSONResponse(status_code=503, content={"status": "no published run", "run_id": None})
    return Ready(status="ready", run_id=run_id)
