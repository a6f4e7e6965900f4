"""Liveness and readiness, without authentication."""
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contract.errors import FraudnetError

from ..deps import StoreDep
from ..models import Health, Ready

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> Health:
    """The process answers."""
    return Health(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
def ready(store: StoreDep):
    """The store is reachable and a current run exists whose results can be opened."""
    try:
        run_id = store.resolve(None)
    except FraudnetError:
        return JSONResponse(status_code=503, content={"status": "no current run", "run_id": None})
    try:
        store.connect(run_id).close()
    except Exception:      # a results file cut short (its recorded size) or that cannot be opened
        return JSONResponse(status_code=503, content={"status": "the current run's results cannot be read",
                                                      "run_id": None})
    return Ready(status="ready", run_id=run_id)
