"""Scheduled network scans: a validated schedule file, APScheduler triggers, one job = one scan.

Each job scans the newest dataset folder matching its `source` (a folder, or a glob of dated
folders), in a subprocess (`fraudnet scan`) so that a time limit can stop it; retries a failure
a bounded number of times (not bad input, which would fail again); then applies the store's
retention and POSTs the run's change report to the job's webhook. Two scans never run on one
store at once: the store's lock refuses the second (logged as refused), and APScheduler runs at
most one instance of a job.
"""
from __future__ import annotations

import glob
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graph.settings import ScanSettings

from runs.store import Store

log = logging.getLogger("fraudnet.schedule")

EXIT_BAD_INPUT, EXIT_BUSY = 2, 3


class ScheduleError(Exception):
    """The schedule file is unusable; the message lists every problem."""


class Job(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    source: str = Field(description="a dataset folder, or a glob of dated folders (the last by name is scanned)")
    cron: str | None = Field(None, description="5-field crontab, UTC")
    interval_seconds: float | None = Field(None, gt=0, description="instead of cron: every N seconds")
    timeout_seconds: float = Field(3600, gt=0, description="a scan running longer is stopped")
    retries: int = Field(1, ge=0, le=10, description="new attempts after a failed scan (not after bad input)")
    retry_delay_seconds: float = Field(60, ge=0)
    window_days: int | None = Field(None, ge=1, description="scan only the claims of the last N days")
    settings: dict = Field(default_factory=dict, description="scan settings, as in --settings")
    webhook: str | None = Field(None, pattern=r"^https?://", description="POST the change report here")
    webhook_timeout_seconds: float = Field(10, gt=0)
    neo4j: bool = Field(False, description="sync the new run to Neo4j (server from the NEO4J_* environment)")

    @field_validator("cron")
    @classmethod
    def _cron(cls, v):
        if v is not None:
            from apscheduler.triggers.cron import CronTrigger
            CronTrigger.from_crontab(v, timezone="UTC")
        return v

    @model_validator(mode="after")
    def _one_trigger(self):
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("give exactly one of cron or interval_seconds")
        ScanSettings.model_validate(self.settings)
        return self


class Schedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    store: str = "fraudnet-store"
    keep_runs: int = Field(30, ge=1, description="runs kept in the store; older ones are removed")
    jobs: list[Job] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        names = [j.name for j in self.jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        publishing = [j.name for j in self.jobs if j.neo4j]
        if publishing and not os.environ.get("NEO4J_URI"):
            raise ValueError(f"job(s) {', '.join(publishing)} publish to Neo4j: set NEO4J_URI, NEO4J_USER, "
                             "NEO4J_PASSWORD and NEO4J_DATABASE in the scheduler's environment")
        return self

    def job(self, name: str) -> Job:
        for j in self.jobs:
            if j.name == name:
                return j
        raise ScheduleError(f"no job {name!r} (jobs: {', '.join(j.name for j in self.jobs)})")


def load_schedule(path: str | Path) -> Schedule:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ScheduleError(f"{path}: no such file")
    except tomllib.TOMLDecodeError as e:
        raise ScheduleError(f"{path}: not valid TOML: {e}")
    try:
        schedule = Schedule.model_validate(data)
    except ValidationError as e:
        raise ScheduleError(f"{path}: {e.error_count()} problem(s):\n" + "\n".join(
            f"  - {'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()))
    base = path.parent   # relative paths in the file are relative to it
    return schedule.model_copy(update={"store": str(base / schedule.store), "jobs": [
        j.model_copy(update={"source": str(base / j.source)}) for j in schedule.jobs]})


def resolve_source(pattern: str) -> Path:
    matches = sorted(p for p in glob.glob(pattern) if Path(p).is_dir())
    if not matches:
        raise ScheduleError(f"no dataset folder matches {pattern!r}")
    return Path(matches[-1])


def run_job(schedule: Schedule, job: Job, today: date | None = None) -> dict:
    """Run one job now; returns {"status": succeeded|failed|refused|bad_input|timeout, ...}."""
    source = resolve_source(job.source)
    settings = dict(job.settings)
    if job.window_days:
        end = today or datetime.now(timezone.utc).date()
        settings.update(start=str(end - timedelta(days=job.window_days)), end=str(end))
    outcome: dict = {}
    for attempt in range(job.retries + 1):
        outcome = _scan_once(schedule.store, source, settings, job.timeout_seconds)
        outcome.update(job=job.name, source=str(source), attempt=attempt + 1)
        log.info("job %s: %s (attempt %d, %s)", job.name, outcome["status"], attempt + 1, outcome.get("run_id", "-"))
        if outcome["status"] in ("succeeded", "refused", "bad_input") or attempt == job.retries:
            break
        time.sleep(job.retry_delay_seconds)
    if outcome["status"] == "succeeded":
        store = Store(schedule.store)
        outcome["removed_runs"] = apply_retention(store, schedule.keep_runs)
        if job.neo4j:
            outcome["neo4j"] = publish_neo4j(store, outcome["run_id"])
        if job.webhook:
            outcome["webhook"] = notify(job.webhook, store.changes(outcome["run_id"]), job.webhook_timeout_seconds)
    return outcome


def _scan_once(store: str, source: Path, settings: dict, timeout: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(settings, f)
    cmd = [sys.executable, "-m", "cli.main", "scan", str(source), "--store", store, "--settings", f.name]
    before = {r["run_id"] for r in Store(store).list_runs()}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "error": f"stopped after {timeout:g} s", **_new_run(store, before)}
    finally:
        Path(f.name).unlink(missing_ok=True)
    if done.returncode == 0:
        return {"status": "succeeded", **_new_run(store, before)}
    status = {EXIT_BAD_INPUT: "bad_input", EXIT_BUSY: "refused"}.get(done.returncode, "failed")
    return {"status": status, "error": done.stderr.strip()[-2000:], **_new_run(store, before)}


def _new_run(store: str, before: set) -> dict:
    new = [r["run_id"] for r in Store(store).list_runs() if r["run_id"] not in before]
    return {"run_id": new[0]} if new else {}


def apply_retention(store: Store, keep: int) -> list[str]:
    """Remove the oldest finished runs beyond `keep`; never the published one or a running one."""
    current = store.current()
    finished = [r for r in store.list_runs() if r["status"] != "running"]
    removed = []
    for r in finished[keep:]:
        if r["run_id"] != current:
            store.remove_run(r["run_id"])
            removed.append(r["run_id"])
    return removed


def publish_neo4j(store: Store, run_id: str) -> dict:
    """Sync the run to Neo4j; a failed sync fails the publication (said in the outcome and the
    log), never the scan, and the next sync of the run resumes where this one stopped."""
    from publish.neo4j import Neo4jSettings, sync
    try:
        report = sync(store, Neo4jSettings.from_env(), run_id)
    except Exception as e:
        log.warning("neo4j sync of run %s failed: %s", run_id, type(e).__name__)
        return {"status": "failed", "error": f"{type(e).__name__}: {e}"[:500]}
    return {"status": "synced", **{k: report[k] for k in ("nodes", "relationships", "seconds")},
            "stale_deleted": report["stale_deleted"]}


def notify(url: str, report: dict, timeout: float) -> str:
    """POST the change report; a dead webhook fails the notification, never the scan."""
    body = json.dumps(report, default=str).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return f"delivered ({r.status})"
    except (urllib.error.URLError, OSError, ValueError) as e:
        log.warning("webhook %s failed: %s", url, e)
        return f"failed: {e}"


def run_scheduler(schedule: Schedule, stop_after: float | None = None):
    """Run every job on its trigger in the foreground until interrupted (or `stop_after` seconds)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger
    scheduler = BlockingScheduler(timezone="UTC")
    for job in schedule.jobs:
        trigger = CronTrigger.from_crontab(job.cron, timezone="UTC") if job.cron else \
            IntervalTrigger(seconds=job.interval_seconds)
        scheduler.add_job(_guarded, trigger, args=[schedule, job], id=job.name, name=job.name,
                          max_instances=1, coalesce=True, misfire_grace_time=None)
        log.info("job %s scheduled: %s", job.name, job.cron or f"every {job.interval_seconds:g} s")
    if stop_after:
        scheduler.add_job(scheduler.shutdown, "date", run_date=datetime.now(timezone.utc) + timedelta(seconds=stop_after),
                          kwargs={"wait": False})
    scheduler.start()


def _guarded(schedule: Schedule, job: Job):
    try:
        run_job(schedule, job)
    except ScheduleError as e:
        log.error("job %s: %s", job.name, e)
