"""The HTTP API: `create_app(store, keys)` builds it; `fraudnet serve` runs it with uvicorn."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .auth import KeyRing
from .deps import Results
from .models import Message
from .routes import alerts, audit, browser, communities, entities, health, paths, runs
from runs.store import NotFound, Store, StoreError



def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"][1:]) or str(e["loc"][0])
        parts.append(f"{e['loc'][0]} parameter {loc!r}: {e['msg']}")
    return "; ".join(parts)


def create_app(store: Store, keys: KeyRing, data_root: str | Path | None = None) -> FastAPI:
    results = Results(store)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        results.close()          # the read-only connections to the runs' results

    app = FastAPI(title="fraudnet", version="0.1.0", lifespan=lifespan,
                  description="Fraud networks in health-insurance billing: alerts, entities, networks. "
                              "Every endpoint but /health and /ready needs an X-API-Key header.")
    app.state.store = store
    app.state.keys = keys
    app.state.results = results
    app.state.data_root = Path(data_root) if data_root else None

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError):   # Busy included: a scan is running
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _validation_detail(exc)})

    errors = {code: {"model": Message, "description": text} for code, text in (
        (401, "no API key, or an unknown one"), (403, "the key's role does not allow this"),
        (404, "no such run, alert, entity or community"), (409, "no published run yet, or a scan is running"),
        (422, "a parameter is invalid; `detail` names it"))}
    v1 = APIRouter(prefix="/api/v1", responses=errors)
    v1.include_router(health.router)
    v1.include_router(runs.router)
    v1.include_router(alerts.router)
    v1.include_router(entities.router)
    v1.include_router(paths.router)
    v1.include_router(communities.router)
    v1.include_router(audit.router)
    app.include_router(v1)
    # the bare paths a load balancer or orchestrator probes
    app.include_router(health.router, include_in_schema=False)
    app.include_router(browser.router)     # the Neo4j Browser's style, guide and favourites: public
    return app
