"""The embedded store: a folder of runs, each with its settings, report and DuckDB results.

    STORE/
      current.json                   the published run (replaced atomically)
      scan.lock                      held by the running scan (its pid); stale once that process is gone
      runs/<run_id>/run.json         id, status, stage, source, settings, counts, stage timings, error
      runs/<run_id>/results.duckdb   nodes, edges, alerts, alert_entities, entity_risk, ...
      runs/<run_id>/changes.json     what the run changed against the run published before it

A run writes only inside its own folder; its results file appears under its final name only when
complete (written as `results.duckdb.partial`, then renamed), and `current.json` is replaced only
after that. So a run that fails, or is killed at any instant, never replaces the last good
results, and readers (the API, the CLI) only ever open finished, immutable files, read-only.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

RUN_ID = re.compile(r"[0-9]{8}T[0-9]{12}-[0-9a-f]{4}")


class StoreError(Exception):
    """A store problem a user can act on (no such run, nothing published yet)."""


class NotFound(StoreError):
    pass


class Busy(StoreError):
    """Another scan holds the store's lock."""


# One configuration for every read of results: DuckDB refuses two connections to one file with
# different settings in one process (the API reading while a scan it started compares runs).
# One thread per query: a server's parallelism comes from concurrent requests.
READ_CONFIG = {"threads": 1}


def open_results(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True, config=READ_CONFIG)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _write_json(path: Path, data: dict):
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Run:
    """A run being written: its record is saved at every stage, so progress can be read."""

    def __init__(self, store: "Store", record: dict):
        self.store, self.record = store, record
        self.dir = store.runs_dir / record["run_id"]

    @property
    def id(self) -> str:
        return self.record["run_id"]

    def save(self):
        _write_json(self.dir / "run.json", self.record)

    def stage(self, name: str, seconds: float | None = None):
        """Mark `name` as started (seconds None) or finished in `seconds`."""
        if seconds is None:
            self.record["stage"] = name
        else:
            self.record["timings"][name] = round(seconds, 3)
        self.save()

    def write_results(self, tables: dict[str, pa.Table], indexes: dict[str, list[str]] | None = None):
        """Write the result tables, with indexes (table -> column lists) for the API's point lookups."""
        partial = self.dir / "results.duckdb.partial"
        partial.unlink(missing_ok=True)
        con = duckdb.connect(str(partial))
        try:
            for name, table in tables.items():
                con.register("t", table)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM t')
                con.unregister("t")
            for name, columns in (indexes or {}).items():
                for i, cols in enumerate(columns):
                    con.execute(f'CREATE INDEX "{name}_{i}" ON "{name}" ({cols})')
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(partial, self.dir / "results.duckdb")

    def write_json(self, name: str, data: dict):
        _write_json(self.dir / name, data)

    def succeed(self, counts: dict):
        self.record.update(status="succeeded", finished_at=_now(), stage=None, counts=counts)
        self.save()
        self.store.publish(self.id)

    def fail(self, error: BaseException):
        self.record.update(status="failed", finished_at=_now(),
                           error=f"{type(error).__name__}: {error}".strip())
        self.save()


class Store:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"

    def new_run(self, source: str, settings: dict, kind: str = "scan") -> Run:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(2)
        (self.runs_dir / run_id).mkdir()
        record = {"run_id": run_id, "kind": kind, "status": "running", "source": source,
                  "settings": settings, "started_at": _now(), "finished_at": None, "stage": None,
                  "timings": {}, "counts": {}, "error": None, "pid": os.getpid()}
        run = Run(self, record)
        run.save()
        return run

    def publish(self, run_id: str):
        _write_json(self.root / "current.json", {"run_id": run_id, "published_at": _now()})

    def current(self) -> str | None:
        try:
            return json.loads((self.root / "current.json").read_text())["run_id"]
        except FileNotFoundError:
            return None

    def get_run(self, run_id: str) -> dict:
        if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
            raise NotFound(f"no run {run_id!r} in store {self.root}")
        path = self.runs_dir / run_id / "run.json"
        if not path.is_file():
            raise NotFound(f"no run {run_id!r} in store {self.root}")
        record = json.loads(path.read_text())
        if record["status"] == "running" and not _pid_alive(record.get("pid")):
            record["status"] = "interrupted"   # its process died without recording an end
        record["published"] = record["run_id"] == self.current()
        return record

    def list_runs(self) -> list[dict]:
        if not self.runs_dir.is_dir():
            return []
        ids = sorted((p.name for p in self.runs_dir.iterdir() if (p / "run.json").is_file()), reverse=True)
        return [self.get_run(i) for i in ids]

    def resolve(self, run_id: str | None) -> str:
        """The given run if it has results, else the published one."""
        if run_id is None:
            run_id = self.current()
            if run_id is None:
                raise NotFound(f"no published run in store {self.root}: run `fraudnet scan` first")
        record = self.get_run(run_id)
        if record["status"] != "succeeded":
            raise NotFound(f"run {run_id} has no results (status {record['status']})")
        return run_id

    def connect(self, run_id: str | None = None) -> duckdb.DuckDBPyConnection:
        """A read-only connection to a finished run's results (the published run by default)."""
        return open_results(self.runs_dir / self.resolve(run_id) / "results.duckdb")

    def lock(self, owner: str = "scan") -> "ScanLock":
        """The store's one-scan-at-a-time lock (a context manager); raises `Busy` if held."""
        return ScanLock(self.root / "scan.lock", owner)

    def changes(self, run_id: str | None = None) -> dict:
        """The change report of a finished run (the published one by default)."""
        run_id = self.resolve(run_id)
        path = self.runs_dir / run_id / "changes.json"
        if not path.is_file():
            raise NotFound(f"run {run_id} has no change report")
        return {"run_id": run_id, **json.loads(path.read_text())}

    def remove_run(self, run_id: str):
        if run_id == self.current():
            raise StoreError(f"run {run_id} is published and cannot be removed")
        shutil.rmtree(self.runs_dir / run_id)


class ScanLock:
    """A lock file created atomically (O_EXCL) holding the owner's pid. A lock whose process is
    gone (a scan killed mid-way) is stale: it is detected, removed and taken."""

    def __init__(self, path: Path, owner: str):
        self.path, self.owner = path, owner

    def holder(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                held = self.holder()
                if held and _pid_alive(held.get("pid")):
                    raise Busy(f"a scan is already running in store {self.path.parent} "
                               f"(pid {held['pid']}, {held.get('owner')}, since {held.get('since')})")
                self.path.unlink(missing_ok=True)     # stale: its process died
                continue
            with os.fdopen(fd, "w") as f:
                json.dump({"pid": os.getpid(), "owner": self.owner, "since": _now()}, f)
            return self
        raise Busy(f"could not take the scan lock of store {self.path.parent}")

    def __exit__(self, *exc):
        held = self.holder()
        if held and held.get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
