"""Request dependencies: the store's results, the caller's identity and role, shared parameters."""
from __future__ import annotations

import threading
from typing import Annotated

import duckdb
from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.security import APIKeyHeader

from runs.store import Store

from .auth import CASE_WORKERS, Principal

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="an API key from FRAUDNET_API_KEYS")


class Results:
    """Read-only connections to finished runs, opened once per run and shared by cursors. A
    connection to a run whose results file was removed (retention) is closed at the next call,
    so the disk space is freed."""

    def __init__(self, store: Store):
        self.store = store
        self._open: dict[str, duckdb.DuckDBPyConnection] = {}
        self._lock = threading.Lock()

    def cursor(self, run_id: str | None = None) -> tuple[str, duckdb.DuckDBPyConnection]:
        run_id = self.store.resolve(run_id)
        with self._lock:
            for gone in [r for r in self._open if not self.store.results_path(r).is_file()]:
                self._open.pop(gone).close()
            if run_id not in self._open:
                self._open[run_id] = self.store.connect(run_id)
            return run_id, self._open[run_id].cursor()

    def close(self):
        with self._lock:
            for con in self._open.values():
                con.close()
            self._open.clear()


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_results(request: Request) -> Results:
    return request.app.state.results


def principal(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> Principal:
    if not key:
        raise HTTPException(401, "missing API key: send it in the X-API-Key header")
    who = request.app.state.keys.check(key)
    if who is None:
        raise HTTPException(401, "invalid API key")
    request.state.principal = who
    return who


def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role != "admin":
        raise HTTPException(403, f"this needs the admin role; key {who.name!r} has role {who.role!r}")
    return who


def analyst(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role not in CASE_WORKERS:
        raise HTTPException(403, f"this needs the analyst or admin role; key {who.name!r} has role {who.role!r}")
    return who


StoreDep = Annotated[Store, Depends(get_store)]
ResultsDep = Annotated[Results, Depends(get_results)]
CurrentUser = Annotated[Principal, Depends(principal)]
AdminUser = Annotated[Principal, Depends(admin)]
AnalystUser = Annotated[Principal, Depends(analyst)]
RunQuery = Annotated[str | None, Query(description="a run id (default: the current run)")]
