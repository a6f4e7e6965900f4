"""The embedded store: a folder of runs, each with its record, results and change report.

    STORE/
      current.json                   the current run: the one readers are served (replaced atomically)
      scan.lock                      the scan lock (an OS lock, `fcntl.flock`, held by the scanning process)
      secret.key                     the store's key for opaque alert ids (0600, made on first use)
      runs/<run_id>/run.json         id, status, stage, sources, settings, counts, timings, checks, error
      runs/<run_id>/results.duckdb   the results tables (`runs.results.RESULTS`)
      runs/<run_id>/changes.json     what the run changed against the run current before it
      audit/<YYYY-MM-DD>.jsonl       the audit log of reads (`runs.audit`)
      history.sqlite                 alerts across runs and the analysts' cases (`runs.history`, `cases`)

A run writes only inside its own folder; its results file appears under its final name only when
complete (written as `results.duckdb.partial`, then renamed), and `current.json` is replaced only
after its checks passed. So a run that fails, is held by its checks, or is killed at any instant
never replaces the last good results, and readers only ever open finished, immutable files,
read-only. Every JSON file is written to a temporary name, flushed to disk and renamed.

**The scan lock** is `fcntl.flock` on `STORE/scan.lock`, taken by the process that scans (never
by a pid written in a file): the kernel releases it when that process ends, however it ends, so
there is no stale lock to detect; it works across containers sharing the store's volume on one
host (one kernel, whatever the pid namespaces) and across hosts on NFSv4 (the lock lives on the
server). The file also holds the holder's run id and start time, for messages only. A run whose
record says `running` while its run does not hold the lock was interrupted (its process died).
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from contract.errors import Busy, NoPublishedRun, NotFound, NotReady, Refused, StoreUnwritable, Unreadable

OUTCOME_BYTES = 8192
RUN_ID = re.compile(r"[0-9]{8}T[0-9]{12}-[0-9a-f]{4}")
STATUSES = ("running", "succeeded", "held", "failed", "interrupted")

# One configuration for every read of results: DuckDB refuses two connections to one file with
# different settings in one process. One thread per query: a server's parallelism comes from
# concurrent requests.
READ_CONFIG = {"threads": 1}
DUCKDB_MAGIC = b"DUCK"       # bytes 8-11 of every DuckDB database file (its main header)


def open_results(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a finished results file."""
    return duckdb.connect(str(path), read_only=True, config=READ_CONFIG)


# what reading a results file damaged inside a block of the right size raises (DuckDB's checksums),
# for readers that show what they can without it (`cases.views.case_view`)
DAMAGED = (duckdb.Error,)
UNREADABLE_FILE = "its results file is missing, cut or overwritten"   # as `Store.readable` finds it
DAMAGED_FILE = "its results file is damaged: DuckDB found a block it cannot read"     # as a read finds it


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def write_json(path: Path, data: dict):
    """Write `data` atomically: a temporary file, flushed to disk, renamed over `path`. On
    failure (a full disk) the temporary file is removed and the old file is untouched."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data, indent=2, sort_keys=True, default=str))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> dict | None:
    """The JSON object in `path`, or None when it is absent or damaged (cut by a crash)."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


class Run:
    """A run being written by the process that scans: its record is saved at every change."""

    def __init__(self, store: "Store", record: dict):
        self.store, self.record = store, record
        self.dir = store.runs_dir / record["run_id"]

    @property
    def id(self) -> str:
        return self.record["run_id"]

    def save(self):
        write_json(self.dir / "run.json", self.record)

    def stage(self, name: str, seconds: float | None = None):
        """Mark `name` as started (seconds None) or finished in `seconds`."""
        if seconds is None:
            self.record["stage"] = name
        else:
            self.record["timings"][name] = round(seconds, 3)
        self.save()

    def save_json(self, name: str, data: dict):
        """Write another JSON file of the run (its change report) atomically."""
        write_json(self.dir / name, data)

    def finish(self, status: str, **fields):
        """End the run with `status` (succeeded, held, failed or interrupted) and `fields` (counts,
        error…); a failed or interrupted run keeps the stage it reached. When the record cannot be
        written (a full disk), a failure is still recorded, in place, in the space `outcome.json`
        reserved when the run was made."""
        self.record.update(status=status, finished_at=now(), **fields)
        if status not in ("failed", "interrupted"):
            self.record["stage"] = None
        try:
            self.save()
        except OSError as e:
            if status != "failed":
                raise
            self._record_in_place(fields.get("error"), e)

    def _record_in_place(self, error: dict | None, cause: OSError):
        error = dict(error or {})
        error["record_error"] = f"the run's record could not be written: {cause.strerror or cause}"
        text = json.dumps({"status": "failed", "finished_at": self.record["finished_at"], "error": error})
        data = text.encode()[:OUTCOME_BYTES]
        if len(text.encode()) > OUTCOME_BYTES:      # cut the message, keep valid JSON
            error["message"] = error.get("message", "")[:OUTCOME_BYTES // 2] + " …"
            data = json.dumps({"status": "failed", "finished_at": self.record["finished_at"],
                               "error": error}).encode()[:OUTCOME_BYTES]
        fd = os.open(self.dir / "outcome.json", os.O_WRONLY)
        try:
            os.pwrite(fd, data.ljust(OUTCOME_BYTES), 0)
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class ScanLock:
    """The store's one-scan-at-a-time lock (see the module docstring)."""
    path: Path

    def acquire(self, run_id: str, wait: float = 1.0) -> int:
        """Take the lock for `run_id`; returns the open file descriptor that holds it (closing
        it, or the process ending, releases it). Raises `Busy` if another process holds it after
        `wait` seconds (readers probing the lock hold it for microseconds)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN) or time.monotonic() >= deadline:
                    os.close(fd)
                    held = self.holder() or {}
                    raise Busy(held.get("run_id"), held.get("since")) from None
                time.sleep(0.02)
        holder = json.dumps({"run_id": run_id, "since": now()}).encode()
        try:                     # for messages only: a full disk must not cost the lock
            os.pwrite(fd, holder, 0)
            os.ftruncate(fd, len(holder))
        except OSError:
            pass
        return fd

    def holder(self) -> dict | None:
        """{"run_id", "since"} of the scan holding the lock, or None when nobody holds it."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:      # held: the holder wrote who it is
                return _read_json(self.path) or {"run_id": None, "since": None}
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


class Store:
    """A store folder (see the module docstring). Raises `NotFound`, `NoPublishedRun`,
    `NotReady` and `Refused` (from `contract.errors`) for what a user can act on."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"

    # --- writing runs ---------------------------------------------------------------------------
    def new_run(self, sources: list[str], settings: dict, kind: str = "scan", data_root: str | None = None) -> Run:
        """Create a run folder and its record (status `running`), with a fresh id: its UTC start
        time to the microsecond and a random suffix. `data_root`: the folder its sources must
        stay under (a scan asked for over the network; `runs.sources`). Raises `StoreUnwritable`
        (leaving nothing behind) when the store cannot be written, e.g. a full disk."""
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(2)
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.runs_dir.mkdir(exist_ok=True, mode=0o700)
            (self.runs_dir / run_id).mkdir(mode=0o700)
        except OSError as e:
            raise StoreUnwritable(e.strerror or type(e).__name__) from None
        record = {"run_id": run_id, "kind": kind, "status": "running", "sources": list(sources),
                  "settings": settings, "started_at": now(), "finished_at": None, "stage": None,
                  "timings": {}, "counts": {}, "error": None, "checks": None, "warnings": [],
                  "promoted_at": None, "accepted_by": None}
        if data_root:
            record["data_root"] = data_root
        run = Run(self, record)
        try:
            run.save()
            with open(os.open(run.dir / "outcome.json", os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
                f.write(b" " * OUTCOME_BYTES)          # room for the end, if the disk fills
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            shutil.rmtree(run.dir, ignore_errors=True)
            raise StoreUnwritable(e.strerror or type(e).__name__) from None
        return run

    def open_run(self, run_id: str) -> Run:
        """The writer's handle of an existing run (the scan process continues a run its parent made)."""
        record = self._record(run_id)
        return Run(self, record)

    def discard(self, run_id: str):
        """Remove a run that never started (its scan was refused)."""
        shutil.rmtree(self.runs_dir / self._checked(run_id), ignore_errors=True)

    def promote(self, run: "Run | str", by: str | None = None):
        """Make a run (succeeded or held; its writer's handle, or its id) the current run; `by`
        names who accepted a held run."""
        run = run if isinstance(run, Run) else self.open_run(run)
        if run.record["status"] not in ("succeeded", "held"):
            raise NotReady(run.id, run.record["status"])
        run.record.update(status="succeeded", promoted_at=now())
        if by:
            run.record["accepted_by"] = by
        run.save()
        write_json(self.root / "current.json", {"run_id": run.id, "promoted_at": run.record["promoted_at"]})

    def lock(self) -> ScanLock:
        return ScanLock(self.root / "scan.lock")

    def secret(self) -> bytes:
        """The store's key for opaque alert ids: 32 random bytes in `secret.key` (0600), made on
        first use, so ids are stable across runs of one store and meaningless outside it."""
        path = self.root / "secret.key"
        try:
            return bytes.fromhex(path.read_text().strip())
        except (FileNotFoundError, ValueError):
            self.root.mkdir(parents=True, exist_ok=True)
            key = secrets.token_hex(32)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:          # another process made it first
                return bytes.fromhex(path.read_text().strip())
            with os.fdopen(fd, "w") as f:
                f.write(key)
            return bytes.fromhex(key)

    def clean_leftovers(self, tmp_age: float = 600.0) -> list[str]:
        """Remove partial results files and the `work` and `spill` folders (the loaded claims,
        DuckDB's spilled intermediates) of runs that are not running (only the lock's holder
        writes them) and temporary files older than `tmp_age` seconds (a record being written by
        another process is younger), left by a killed scan or a full disk; returns the names
        removed. Called by each scan once it holds the lock."""
        removed = []
        if not self.runs_dir.is_dir():
            return removed
        holder = (self.lock().holder() or {}).get("run_id")
        old = time.time() - tmp_age
        for d in [d for d in self.runs_dir.iterdir() if d.is_dir()] + [self.root]:
            leftovers = [] if d.name == holder else list(d.glob("*.partial*")) + \
                [f for f in (d / "work", d / "spill") if d != self.root and f.is_dir()]   # a killed scan's folders
            leftovers += [f for f in d.glob(".*.tmp") if _mtime(f) < old]
            for f in leftovers:
                if f.is_dir():           # DuckDB's spill folder, the claims' work folder
                    shutil.rmtree(f, ignore_errors=True)
                else:
                    f.unlink(missing_ok=True)
                removed.append(f"{d.name}/{f.name}")
        return removed

    # --- reading --------------------------------------------------------------------------------
    def _checked(self, run_id: str) -> str:
        if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
            raise NotFound("run", str(run_id))
        return run_id

    def _record(self, run_id: str) -> dict:
        path = self.runs_dir / self._checked(run_id) / "run.json"
        if not path.parent.is_dir():
            raise NotFound("run", run_id)
        record = _read_json(path)
        if record is None:      # cut by a crash or a full disk: shown, never blocking the others
            return {"run_id": run_id, "kind": "scan", "status": "damaged", "sources": [], "settings": {},
                    "started_at": None, "finished_at": None, "stage": None, "timings": {}, "counts": {},
                    "error": {"type": "DamagedRecord", "message": "the run's record cannot be read"},
                    "checks": None, "warnings": [], "promoted_at": None, "accepted_by": None}
        return record

    def get_run(self, run_id: str) -> dict:
        """The run's record, with `current` (is it the current run) and `running` runs whose
        process died shown as `interrupted`."""
        record = self._record(run_id)
        if record["status"] == "running" and (self.lock().holder() or {}).get("run_id") != run_id:
            ended = _read_json(self.runs_dir / run_id / "outcome.json")
            if ended:                  # its end was recorded in place (the disk was full)
                record.update(ended)
            else:                      # its process died without recording an end, and no face saw how
                record["status"] = "interrupted"
                record["error"] = record.get("error") or {
                    "type": "Interrupted", "message": "the scan process ended without recording its end "
                                                      "(its scan log may say why)"}
        record["current"] = record["run_id"] == self.current()
        if record["status"] in ("succeeded", "held"):
            problem = self._results_problem(run_id, record)
            record["results"] = f"unreadable: {problem}" if problem else "readable"
        return record

    def is_store(self) -> bool:
        """Is the folder a fraudnet store: one a scan has written to (it has `runs/`)? Only a scan
        makes one; readers refuse anything else, so a mistyped path is not taken for an empty store."""
        return self.runs_dir.is_dir()

    def _results_problem(self, run_id: str, record: dict) -> str | None:
        """Why a finished run's results file cannot be read, judged cheaply (no query): it is
        missing, its size is not the `results_bytes` its run recorded when it wrote it (cut by a
        copy or a full disk), or its header is not DuckDB's (overwritten); None when it looks whole.
        Damage inside a block of the right size is DuckDB's to find (its blocks carry checksums)."""
        path = self.results_path(run_id)
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                header = f.read(12)
        except FileNotFoundError:
            return "the results file is missing"
        except OSError as e:
            return f"the results file cannot be opened ({e.strerror or type(e).__name__})"
        expected = record.get("results_bytes")
        if expected is not None and size != expected:
            return f"the results file has {size:,} bytes, its run wrote {expected:,}"
        if header[8:12] != DUCKDB_MAGIC:
            return "the results file is not a DuckDB database"
        return None

    def list_runs(self) -> list[dict]:
        """Every run's record, newest first."""
        if not self.runs_dir.is_dir():
            return []
        ids = sorted((p.name for p in self.runs_dir.iterdir() if RUN_ID.fullmatch(p.name)), reverse=True)
        return [self.get_run(i) for i in ids]

    def current(self) -> str | None:
        """The current run's id. A damaged `current.json` is recovered from the run records
        (the run made current last), so it never blocks readers or later scans. A current run
        whose results file has gone stays current: readers are refused it as damaged
        (`readable`), never served an older run in its place without a word."""
        data = _read_json(self.root / "current.json")
        if data and isinstance(data.get("run_id"), str) and RUN_ID.fullmatch(data["run_id"]) \
                and (self.runs_dir / data["run_id"] / "run.json").is_file():
            return data["run_id"]
        if not (self.root / "current.json").exists():
            return None
        best = None
        for d in (self.runs_dir.iterdir() if self.runs_dir.is_dir() else []):
            r = _read_json(d / "run.json")
            if r and r.get("promoted_at") and (d / "results.duckdb").is_file():
                if best is None or r["promoted_at"] > best[0]:
                    best = (r["promoted_at"], d.name)
        return best[1] if best else None

    def resolve(self, run_id: str | None) -> str:
        """The given run (the current one when None) if it finished with results (succeeded or
        held). Raises `NoPublishedRun`, `NotFound`, `NotReady` (a run without results: running,
        failed…) and `Unreadable` (a finished run whose results file is gone: worded as a cut or
        overwritten one, not as a run that made none)."""
        return self._resolve(run_id)[0]

    def _resolve(self, run_id: str | None) -> tuple[str, dict]:
        """(`resolve`'s run id, its record), its record read once: a finished run's status needs
        none of `get_run`'s amendments, which only a run without results is worded with."""
        current = run_id is None
        if run_id is None:
            run_id = self.current()
            if run_id is None:
                raise NoPublishedRun()
        record = self._record(run_id)
        if record["status"] not in ("succeeded", "held"):
            raise NotReady(run_id, self.get_run(run_id)["status"])
        if not self.results_path(run_id).is_file():
            raise Unreadable(run_id, record["status"], UNREADABLE_FILE, current)
        return run_id, record

    def results_path(self, run_id: str) -> Path:
        return self.runs_dir / self._checked(run_id) / "results.duckdb"

    def readable(self, run_id: str | None = None) -> tuple[str, Path]:
        """(run id, results file) of a finished run (the current run by default). Raises
        `Unreadable` (a `NotReady`) when the file is missing, its size is not the size its run
        recorded when it wrote it (a file cut by a copy or a disk: DuckDB would open it and fail
        later, on the first block read that is missing) or its header is not DuckDB's."""
        current = run_id is None
        run_id, record = self._resolve(run_id)          # on every read of the API: read each file once
        if self._results_problem(run_id, record):
            raise Unreadable(run_id, record["status"], UNREADABLE_FILE, current)
        return run_id, self.results_path(run_id)

    @contextmanager
    def reading(self, run_id: str | None = None):
        """`with store.reading(run) as (run_id, con)`: a read-only connection to a finished run's
        results (the current run by default), closed at the end. Raises as `readable`, and turns
        what DuckDB raises on a damaged block while reading (`DAMAGED`) into `Unreadable`."""
        current = run_id is None
        run_id, path = self.readable(run_id)
        try:
            con = open_results(path)
        except DAMAGED as e:
            raise self.damaged(run_id, e, current) from None
        try:
            yield run_id, con
        except DAMAGED as e:
            if isinstance(e, duckdb.ProgrammingError):     # a query's mistake (binder, catalog, parser): a bug
                raise
            raise self.damaged(run_id, e, current) from None
        finally:
            con.close()

    def damaged(self, run_id: str, e: Exception, current: bool = False) -> Unreadable:
        """The `Unreadable` error for what DuckDB raised reading run `run_id` (`DAMAGED`); its
        message, which may name a server path, is not kept."""
        return Unreadable(run_id, self._record(run_id)["status"], DAMAGED_FILE, current)

    def connect(self, run_id: str | None = None) -> duckdb.DuckDBPyConnection:
        """A read-only connection to a finished run's results (the current run by default).
        Raises as `readable`, and `Unreadable` when DuckDB finds the file damaged on opening it."""
        current = run_id is None
        run_id, path = self.readable(run_id)
        try:
            return open_results(path)
        except DAMAGED as e:
            raise self.damaged(run_id, e, current) from None

    def changes(self, run_id: str | None = None) -> dict:
        """The change report of a finished run (the current one by default). Its risk risers
        name no patient, also in a report written before they were left out."""
        run_id = self.resolve(run_id)
        data = _read_json(self.runs_dir / run_id / "changes.json")
        if data is None:
            raise NotReady(run_id, self.get_run(run_id)["status"], "change report")
        if "patients_risen" not in data and "risk_risers" in data:     # an older report
            risers = data["risk_risers"]
            data["risk_risers"] = [r for r in risers if r.get("entity_type") != "patient"]
            data["patients_risen"] = len(risers) - len(data["risk_risers"])
        return {"run_id": run_id, **data}

    def remove_run(self, run_id: str):
        """Delete a finished run; never the current one nor a running one."""
        if run_id == self.current():
            raise Refused(f"run {run_id} is the current run and cannot be removed")
        if self.get_run(run_id)["status"] == "running":
            raise Refused(f"run {run_id} is running and cannot be removed")
        shutil.rmtree(self.runs_dir / run_id)
