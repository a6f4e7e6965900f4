"""Heavy reads — neighbourhoods and paths — in worker processes of their own, at a lower CPU
priority (nice 10).

A neighbourhood of depth 3 or a path search walks thousands of edges in Python. Run in the
server's threads, two of them hold the interpreter's lock often enough to make every other
analyst's entity and alert calls wait (from 20 ms to 200–500 ms on two cores; see
`benchmarks/api_load.py`). In processes of their own they cannot take that lock, and at nice 10
the kernel gives the interactive calls the cores first. A worker opens the results file for each
call and closes it after (a few milliseconds against a call's hundreds), so it never holds a file
that retention removed. The pool starts on the first heavy call (spawned, so it inherits no thread or open connection of
the server) and stops with the app.

A worker also encodes its answer as the JSON the API sends: a neighbourhood of 2,000 nodes
costs about 0.4 s to validate and encode in FastAPI, which the server's process would otherwise
spend holding the interpreter's lock (see `benchmarks/api_load.py`).
"""
from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from contract.errors import NotFound, withheld


def _start():
    os.nice(10)


def _ended(process) -> bool:
    """Whether a worker process has ended: its exit code is known, or the kernel no longer runs it
    (no /proc entry, or a zombie: `is_alive` says True for a child someone else reaped)."""
    if process.exitcode is not None:
        return True
    try:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _plain(value):
    """JSON for what `runs.results` returns beside JSON's own types (dates), as FastAPI writes it."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def encode(answer: dict) -> bytes:
    """`answer` as FastAPI's `JSONResponse` writes it (compact, UTF-8, no NaN)."""
    return json.dumps(answer, default=_plain, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode()


def _call(path: str, name: str, args: tuple, run_id: str):
    """In a worker: `runs.results.<name>(cursor on path, *args)` as ("ok", the JSON of
    {"run_id", **result}, {list field: its length}), ("not_found", kind, key) or ("error", what,
    without its message)."""
    from runs import results
    from runs.store import open_results
    try:
        con = open_results(Path(path))
        try:
            found = getattr(results, name)(con, *args)
        finally:
            con.close()
        return ("ok", encode({"run_id": run_id, **found}),
                {k: len(v) for k, v in found.items() if isinstance(v, list)})
    except NotFound as e:
        return ("not_found", e.kind, e.key)
    except Exception as e:          # sent back as words only: its message may quote data
        return ("error", withheld(e))


class HeavyReads:
    """A pool of `workers` processes running `runs.results` functions on results files."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, path: Path, run_id: str, name: str, *args) -> tuple[bytes, dict[str, int]]:
        """`runs.results.<name>(cursor on path, *args)` in a worker, as (the JSON body
        {"run_id": run_id, **result}, the length of each of the result's lists). Raises `NotFound`."""
        outcome = self.pool().submit(_call, str(path), name, args, run_id).result()
        if outcome[0] == "not_found":
            raise NotFound(outcome[1], outcome[2])
        if outcome[0] == "error":
            raise RuntimeError(outcome[1])
        return outcome[1], outcome[2]

    def pool(self) -> ProcessPoolExecutor:
        """The workers, started at the first heavy read."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_start)
            return self._pool

    def close(self):
        """Stop the workers now: queued reads are cancelled and running ones ended (a heavy read
        can take half a minute, and a server told to stop must stop before its supervisor kills
        it — `docker stop` waits 10 s); their callers are gone with the server."""
        with self._lock:
            if self._pool is not None:
                processes = list((self._pool._processes or {}).values())   # no public way before Python 3.14
                self._pool.shutdown(wait=False, cancel_futures=True)
                for p in processes:
                    p.terminate()
                deadline = time.monotonic() + 4
                for p in processes:
                    p.join(max(deadline - time.monotonic(), 0))
                for p in processes:     # one that SIGTERM has not ended yet (a worker at nice 10 on
                    if p.is_alive():    # a loaded machine: seen in a full make test) is killed
                        p.kill()
                deadline = time.monotonic() + 3
                while not all(map(_ended, processes)) and time.monotonic() < deadline:
                    time.sleep(0.05)
                self._pool = None
