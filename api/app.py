"""The HTTP API: `create_app(store, keys, ...)` builds it; `fraudnet serve` runs it with uvicorn.

This package is the HTTP face only: routes (one module per resource), their dependencies, models
and the one mapping of errors to statuses (`api.errors`); what they serve is read through
`runs.results`, started through `runs.launch`, exported through `publish`.
"""
from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from contract.errors import FraudnetError
from runs.store import DAMAGED, Store

from . import errors
from .auth import KeyRing
from .deps import HeavyCalls, Results
from .guard import Guard
from .routes import alerts, audit, browser, cases, communities, entities, health, paths, runs


def _templates(app: FastAPI) -> set[str]:
    """Every path template the app serves (for the access log)."""
    return set(app.openapi()["paths"]) | {r.path for r in app.routes if isinstance(getattr(r, "path", None), str)} \
        | {"/health", "/ready"}


def create_app(store: Store, keys: KeyRing, data_root: str | Path | None = None,
               scan_timeout: float = 3600.0, max_body_bytes: int = 1_000_000, client_timeout: float = 10.0,
               heavy_calls_per_key: int = 2, heavy_workers: int | None = None) -> FastAPI:
    """The API over `store`, authenticating with `keys` before anything else (`api.guard`);
    `POST /runs` scans folders under `data_root` (off when None) with a time limit of
    `scan_timeout` seconds. Request bodies: at most `max_body_bytes`, within `client_timeout`
    seconds; heavy calls (neighbourhoods, paths, exports, change reports): at most
    `heavy_calls_per_key` at once per key (`api.deps.HeavyCalls`), run by `heavy_workers` processes
    (None: a worker per core and one more, so one key at the default limit never holds them all)."""
    results = Results(store, heavy_workers=heavy_workers or (os.cpu_count() or 1) + 1)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        results.close()          # the read-only connections to the runs' results

    app = FastAPI(title="fraudnet", version="0.1.0", lifespan=lifespan,
                  description="Fraud networks in health-insurance billing: alerts, entities, networks, cases. "
                              "Every endpoint but /health and /ready needs an X-API-Key header.")
    app.state.store = store
    app.state.keys = keys
    app.state.results = results
    app.state.data_root = Path(data_root) if data_root else None
    app.state.scan_timeout = scan_timeout
    app.state.heavy_calls = HeavyCalls(heavy_calls_per_key)
    app.add_middleware(Guard, keys=keys, templates=lambda: _templates(app), max_body_bytes=max_body_bytes,
                       client_timeout=client_timeout)

    app.add_exception_handler(FraudnetError, errors.handle)
    for damaged in DAMAGED:
        app.add_exception_handler(damaged, errors.handle_damaged)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": errors.validation_detail(exc.errors(), request.path_params)})

    v1 = APIRouter(prefix="/api/v1")
    for r in (health, runs, alerts, entities, paths, communities, cases, audit):
        v1.include_router(r.router)
    app.include_router(v1)
    # the bare paths a load balancer or orchestrator probes
    app.include_router(health.router, include_in_schema=False)
    app.include_router(browser.router)     # the Neo4j Browser's style, guide and favourites: public
    return app
