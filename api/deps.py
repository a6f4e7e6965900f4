"""Request dependencies: the store's results, the caller's identity and role, the heavy calls'
per-key limit, the audit of reads, shared parameters.

The dependencies are `async`: none waits on I/O, and FastAPI runs a plain `def` dependency in
its thread pool, a thread hop per dependency and request."""
from __future__ import annotations

import asyncio
import threading
from collections import Counter
from contextlib import contextmanager
from typing import Annotated

import duckdb
from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.security import APIKeyHeader

from contract.errors import NotReady, Unreadable
from contract.tables import MAX_COUNT
from runs.audit import audit, node_target
from runs.results import RunView
from runs.store import Store

from .auth import CASE_WORKERS, Principal
from .workers import HeavyReads

# the largest run (entities in its graph) whose entity and alert reads are answered from memory
# (`runs.results.RunView`, about 0.5 kB an entity: some 1 GB at this size); beyond, per call
VIEW_MAX_ENTITIES = 2_000_000

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="an API key from FRAUDNET_API_KEYS")


class Results:
    """Read-only connections to finished runs, opened once per run and shared by cursors; the
    current run's entity and alert reads held in memory (`runs.results.RunView`); and the worker
    processes of the heavy reads. A connection to a run whose results file was removed
    (retention) is closed at the next call, so the disk space is freed."""

    def __init__(self, store: Store, heavy_workers: int = 2):
        self.store = store
        self.workers = HeavyReads(heavy_workers)
        self._open: dict[str, duckdb.DuckDBPyConnection] = {}
        self._view: tuple[str, RunView | None] | None = None     # (run id, its view or None: too big)
        self._lock = threading.Lock()

    def heavy(self, run_id: str | None, name: str, *args) -> tuple[str, bytes, dict[str, int]]:
        """(run id, the JSON body {"run_id", **`runs.results.<name>(cursor, *args)`}, the length
        of each of its lists) computed and encoded in a worker process (`api.workers`):
        neighbourhoods and paths."""
        run_id, path = self.store.readable(run_id)
        return (run_id, *self.workers.run(path, run_id, name, *args))

    def _readable(self, run_id: str | None) -> str:
        """The run's id, its results file checked (`Store.readable`: a stat and its header), so a
        results file cut or overwritten while the server runs is refused with `NotReady` (409) and
        its connection and view dropped, never served from what they still hold."""
        try:
            return self.store.readable(run_id)[0]
        except NotReady as e:
            with self._lock:
                if (con := self._open.pop(e.run_id, None)) is not None:
                    con.close()
                if self._view and self._view[0] == e.run_id:
                    self._view = None
            raise

    def _connection(self, run_id: str, asked: str | None) -> duckdb.DuckDBPyConnection:
        """The open connection to run `run_id` (under `_lock`), opened if need be; connections to
        runs whose results file was removed are closed first."""
        self._close_removed()
        if run_id not in self._open:
            try:
                self._open[run_id] = self.store.connect(run_id)
            except Unreadable as e:      # damaged: found by DuckDB on opening it
                raise Unreadable(e.run_id, e.status, e.why, current=asked is None) from None
        return self._open[run_id]

    def _close_removed(self):
        """Close the connections to runs whose results file was removed (retention), under
        `_lock`: until then the file's disk space is not freed."""
        for gone in [r for r in self._open if not self.store.results_path(r).is_file()]:
            self._open.pop(gone).close()

    def cursor(self, run_id: str | None = None) -> tuple[str, duckdb.DuckDBPyConnection]:
        """(run id, a cursor on its results), the file checked at every call (`_readable`)."""
        asked = run_id
        run_id = self._readable(run_id)
        with self._lock:
            return run_id, self._connection(run_id, asked).cursor()

    def _current_view(self, asked: str | None) -> tuple[str, RunView | None]:
        """(run id, its view) for reads of the current run (`asked` None or the current run's id),
        the view built under `_lock` at its first read (one statement per table) and kept until
        another run becomes current (a finished run's results never change); (run id, None) for
        another run or one larger than `VIEW_MAX_ENTITIES`. The results file is checked at every call (`_readable`)."""
        run_id = self._readable(asked)
        if asked is not None and asked != self.store.current():
            return run_id, None
        with self._lock:
            self._close_removed()                       # served from memory: no connection opened
            if self._view is None or self._view[0] != run_id:
                self._view = None                       # the previous run's view goes first
                cur = self._connection(run_id, asked).cursor()
                try:
                    small = cur.execute("SELECT count(*) FROM nodes").fetchall()[0][0] <= VIEW_MAX_ENTITIES
                    self._view = (run_id, RunView(cur) if small else None)
                finally:
                    cur.close()
            return run_id, self._view[1]

    async def ready(self, run_id: str | None = None) -> None:
        """Build the current run's view in a worker thread if it is not built yet, so that the
        event loop (health checks, other analysts' calls) is not held while a large run's view is
        made (about 0.5 s for the 20,000-patient demo; tens of seconds near `VIEW_MAX_ENTITIES`).
        Async routes await it before `reading`. Raises what `reading` raises."""
        current = self.store.current()
        if (run_id is None or run_id == current) and (self._view is None or self._view[0] != current):
            await asyncio.to_thread(self._current_view, run_id)

    @contextmanager
    def reading(self, run_id: str | None = None):
        """`with results.reading(run) as (run_id, source)`: what entity and alert reads of a run
        (the current one by default) take in place of a cursor — the current run's
        `runs.results.RunView` (`_current_view`; async routes `await ready(run)` first, so that it
        is not built on the event loop), or, for another run (or one larger than
        `VIEW_MAX_ENTITIES`), a cursor, closed after."""
        asked = run_id
        run_id, view = self._current_view(asked)
        if view is not None:
            yield run_id, view
            return
        run_id, cur = self.cursor(asked)
        try:
            yield run_id, cur
        finally:
            cur.close()

    def close(self):
        self.workers.close()
        with self._lock:
            for con in self._open.values():
                con.close()
            self._open.clear()
            self._view = None


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_results(request: Request) -> Results:
    return request.app.state.results


class HeavyCalls:
    """At most `limit` heavy calls (neighbourhoods, paths, exports, change reports) running at
    once per key; one more is refused with 429, so one analyst's burst cannot take the threads
    and cores every other analyst needs."""
    REFUSAL_DELAY = 1.0        # seconds; the refusal says Retry-After: 1

    def __init__(self, limit: int):
        self.limit = limit
        self._running: Counter = Counter()
        self._lock = threading.Lock()

    def take(self, name: str):
        with self._lock:
            if self._running[name] >= self.limit:
                raise HTTPException(429, f"key {name!r} already has {self.limit} heavy call(s) running "
                                         f"(neighbourhoods, paths, exports, change reports): retry when one ends",
                                    headers={"Retry-After": "1"})
            self._running[name] += 1

    def give_back(self, name: str):
        with self._lock:
            self._running[name] -= 1
            if not self._running[name]:
                del self._running[name]


async def principal(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> Principal:
    """The caller, as `api.guard.Guard` authenticated it before the body was read (or checked
    here when the app runs without it)."""
    who = getattr(request.state, "principal", None)
    if who is not None:
        return who
    if not key:
        raise HTTPException(401, "missing API key: send it in the X-API-Key header")
    who = request.app.state.keys.check(key)
    if who is None:
        raise HTTPException(401, "invalid API key")
    request.state.principal = who
    return who


async def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role != "admin":
        raise HTTPException(403, f"this needs the admin role; key {who.name!r} has role {who.role!r}")
    return who


async def heavy(request: Request, who: Annotated[Principal, Depends(principal)]):
    """A heavy call's slot for the caller's key, held until the call ends. Raises 429 — after a
    second's wait (`HeavyCalls.REFUSAL_DELAY`), so that a client resending at once cannot turn
    its refusals into a load of their own."""
    calls: HeavyCalls = request.app.state.heavy_calls
    try:
        calls.take(who.name)
    except HTTPException:
        await asyncio.sleep(calls.REFUSAL_DELAY)
        raise
    try:
        yield who
    finally:
        calls.give_back(who.name)


class Auditor:
    """Writes the caller's reads to the store's audit log (`runs.audit`); raises
    `AuditUnavailable` (503) when it cannot, so the read is refused, not served unaudited."""

    def __init__(self, store: Store, who: Principal):
        self.store, self.who = store, who

    def __call__(self, action: str, target: str, run_id: str | None = None, rows: int | None = None):
        audit(self.store, self.who.name, self.who.role, action, target, run_id, rows)

    def node(self, node: str) -> str:
        """How the log names the entity `node`: a patient by its keyed pseudonym (`node_target`)."""
        return node_target(self.store, node)


async def auditor(request: Request, who: Annotated[Principal, Depends(principal)]) -> Auditor:
    return Auditor(request.app.state.store, who)


def analyst(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role not in CASE_WORKERS:
        raise HTTPException(403, f"this needs the analyst or admin role; key {who.name!r} has role {who.role!r}")
    return who


StoreDep = Annotated[Store, Depends(get_store)]
ResultsDep = Annotated[Results, Depends(get_results)]
CurrentUser = Annotated[Principal, Depends(principal)]
AdminUser = Annotated[Principal, Depends(admin)]
HeavyUser = Annotated[Principal, Depends(heavy)]
Audit = Annotated[Auditor, Depends(auditor)]
AnalystUser = Annotated[Principal, Depends(analyst)]
RunQuery = Annotated[str | None, Query(description="a run id (default: the current run)")]
# every whole-number parameter has an upper bound, `MAX_COUNT` unless its own is lower (README, Limits)
Offset = Annotated[int, Query(ge=0, le=MAX_COUNT, description="rows skipped before the first returned")]
HubDegree = Annotated[int, Query(ge=1, le=MAX_COUNT, description="nodes with more links are shown, not expanded")]
