"""Scheduled network scans: a validated schedule file, APScheduler triggers, one job = one scan.

Each job scans the newest dataset folder matching its `source` (a folder, or a glob of dated
folders) the way every face starts a scan (`runs.launch`: a child process with the job's time
limit, the run id chosen here, so an outcome always names its own run); retries a failure or a
timeout a bounded number of times (not bad input, which would fail again, nor a refused
overlap or a run held by its checks); then, for a current run, applies the store's retention,
syncs Neo4j if asked and POSTs the change report to the job's webhook, each publication written
to the store's audit log first (who: the job, role `scheduler`; not made if it cannot be). A run
held by its checks is reported to the webhook as held. Two scans never run on one store at once: the store's lock
refuses the second (logged as refused), and APScheduler runs at most one instance of a job.
"""
from __future__ import annotations

import glob
import logging
import threading
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from config import Neo4jSettings
from contract.errors import AuditUnavailable, Busy, NotFound, SettingsError, StoreUnwritable, not_utf8
from contract.numbers import PlainNumbers
from contract.tables import MAX_COUNT
from cases.store import CaseStore
from publish.webhook import body, check_url, notify, where
from runs.audit import audit
from runs.launch import outcome, run as run_scan
from runs.settings import RunSettings
from runs.shown import without_paths
from runs.store import Store

log = logging.getLogger("fraudnet.schedule")


class ScheduleError(SettingsError):
    """The schedule file is unusable; `problems` lists every problem."""


class Job(PlainNumbers):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)   # a number is finite
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    source: str = Field(description="a dataset folder, or a glob of dated folders (the last by name is scanned)")
    cron: str | None = Field(None, description="5-field crontab, UTC")
    interval_seconds: float | None = Field(None, gt=0, description="instead of cron: every N seconds")
    timeout_seconds: float = Field(3600, gt=0, le=MAX_COUNT, description="a scan running longer is stopped")
    retries: int = Field(1, ge=0, le=10, description="new attempts after a failed scan (not after bad input)")
    retry_delay_seconds: float = Field(60, ge=0)
    settings: RunSettings = Field(default_factory=RunSettings, description="run settings, as in --settings")
    webhook: str | None = Field(None, description="POST the change report here (https://, or http:// on loopback)")
    webhook_timeout_seconds: float = Field(10, gt=0)
    neo4j: bool = Field(False, description="sync the new run to Neo4j (server from the NEO4J_* environment)")

    @field_validator("cron")
    @classmethod
    def _cron(cls, v):
        if v is not None:
            from apscheduler.triggers.cron import CronTrigger
            CronTrigger.from_crontab(v, timezone="UTC")
        return v

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, v):
        return None if v is None else check_url(v)

    @model_validator(mode="wrap")
    @classmethod
    def _one_trigger(cls, data, handler):
        # judged on the input, so that it is reported beside the fields' own problems
        given = {k: data.get(k) for k in ("cron", "interval_seconds")} if isinstance(data, dict) else {}
        problems = []
        if given and (given["cron"] is None) == (given["interval_seconds"] is None):
            problems.append("give exactly one of cron or interval_seconds (" + (
                f"both given: cron {given['cron']!r}, interval_seconds {given['interval_seconds']!r})"
                if given["cron"] is not None else "neither given)"))
        return _with_problems(cls, data, handler, problems)

    def describe(self) -> str:
        trigger = self.cron or f"every {self.interval_seconds:g} s"
        extra = [f"window {self.settings.window_days} days"] if self.settings.window_days else []
        extra += [f"webhook {where(self.webhook)}"] if self.webhook else []
        extra += ["neo4j"] if self.neo4j else []
        return (f"{self.name}: {trigger}, source {self.source}, timeout {self.timeout_seconds:g} s, "
                f"{self.retries} retr{'y' if self.retries == 1 else 'ies'}" + "".join(f", {e}" for e in extra))


class Schedule(PlainNumbers):
    model_config = ConfigDict(frozen=True, extra="forbid")
    store: str = "fraudnet-store"
    keep_runs: int = Field(30, ge=1, description="finished runs kept in the store; older ones are removed, but the current run and the runs that cases still worked on were opened on")
    jobs: list[Job] = Field(min_length=1)
    # the Neo4j server of the jobs that sync, from the environment, validated when the file loads
    _neo4j: Neo4jSettings | None = PrivateAttr(None)

    @model_validator(mode="wrap")
    @classmethod
    def _unique(cls, data, handler):
        # judged on the input, so that it is reported beside the jobs' own problems
        jobs = [j for j in (data.get("jobs") or []) if isinstance(j, dict)] if isinstance(data, dict) else []
        names = [j["name"] for j in jobs if isinstance(j.get("name"), str)]     # a missing name is its job's problem
        problems = [f"job names must be unique: {names}"] if len(set(names)) != len(names) else []
        syncing = [str(j.get("name")) for j in jobs if j.get("neo4j") is True]
        neo4j = None
        if syncing:
            try:
                neo4j = Neo4jSettings.load()
            except SettingsError as e:
                problems.append(f"job(s) {', '.join(syncing)} sync to Neo4j: set NEO4J_URI, NEO4J_USER, "
                                "NEO4J_PASSWORD and NEO4J_DATABASE in the scheduler's environment ("
                                + "; ".join(e.problems) + ")")
        schedule = _with_problems(cls, data, handler, problems)
        schedule._neo4j = neo4j
        return schedule

    @property
    def neo4j(self) -> Neo4jSettings | None:
        """The Neo4j settings of the jobs that sync (None if no job does)."""
        return self._neo4j

    def job(self, name: str) -> Job:
        for j in self.jobs:
            if j.name == name:
                return j
        raise NotFound("job", name, f"(jobs: {', '.join(j.name for j in self.jobs)})")


def _with_problems(model: type[BaseModel], data, handler, problems: list[str]):
    """`handler(data)` (pydantic's validation of `model`), raising one `ValidationError` with its
    own errors and `problems` (the whole object's) together, so a file's report is complete."""
    mine = [{"type": PydanticCustomError("schedule_rule", p), "loc": (), "input": data} for p in problems]
    try:
        out = handler(data)
    except ValidationError as e:
        if not mine:
            raise
        fields = [{"type": PydanticCustomError(x["type"], x["msg"]), "loc": x["loc"], "input": x["input"]}
                  for x in e.errors()]
        raise ValidationError.from_exception_data(e.title, fields + mine) from None
    if mine:
        raise ValidationError.from_exception_data(model.__name__, mine)
    return out


def schedule_problems(e: ValidationError, data: dict) -> list[str]:
    """One line per problem of a schedule file: where (the job by name and position, the key),
    the value given and what is wrong with it."""
    jobs = data.get("jobs") if isinstance(data.get("jobs"), list) else []
    lines = []
    for x in e.errors():
        loc, place = list(x["loc"]), []
        if loc[:1] == ["jobs"] and len(loc) > 1 and isinstance(loc[1], int):
            job = jobs[loc[1]] if loc[1] < len(jobs) and isinstance(jobs[loc[1]], dict) else {}
            place.append(f"job {job['name']!r} (jobs[{loc[1]}])" if isinstance(job.get("name"), str)
                         else f"jobs[{loc[1]}]")
            loc = loc[2:]
        if loc:
            key = ".".join(map(str, loc))
            value = x["input"]
            if loc[-1] in ("webhook", "uri") and isinstance(value, str):   # a URL may carry a token or a password
                value = where(value) if urlsplit(value).hostname else "(not shown: not a URL)"
            place.append(f"key {key}" if x["type"] == "missing" else f"key {key}, value {value!r}")
        message = x["msg"].removeprefix("Value error, ")
        lines.append(f"{', '.join(place) or '(schedule)'}: {message}")
    return lines


def load_schedule(path: str | Path) -> Schedule:
    """The schedule file, validated, its relative paths made absolute against the file's own
    folder (whatever the current folder). Raises `ScheduleError` with every problem at once."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScheduleError(str(path), ["no such file"]) from None
    except UnicodeDecodeError as e:
        raise ScheduleError(str(path), [not_utf8(e)]) from None
    except tomllib.TOMLDecodeError as e:
        raise ScheduleError(str(path), [f"not valid TOML: {e}"]) from None
    try:
        schedule = Schedule.model_validate(data)
    except ValidationError as e:
        raise ScheduleError(str(path), schedule_problems(e, data)) from None
    base = path.resolve().parent
    return schedule.model_copy(update={"store": str(base / schedule.store), "jobs": [
        j.model_copy(update={"source": str(base / j.source)}) for j in schedule.jobs]})


def resolve_source(pattern: str) -> Path:
    """The last dataset folder (by name) matching `pattern`. Raises `NotFound`."""
    matches = sorted(p for p in glob.glob(pattern) if Path(p).is_dir())
    if not matches:
        raise NotFound("dataset folder matching", pattern)
    return Path(matches[-1])


def run_job(schedule: Schedule, job: Job) -> dict:
    """Run one job now; returns its outcome: {"status": succeeded|held|failed|timeout|bad_input|
    refused, "run_id" (absent when refused or when no dataset folder matches: `bad_input`, no
    run), "job", "source", "attempt", …}."""
    try:
        source = resolve_source(job.source)
    except NotFound:
        log.warning("job %s: bad_input (no dataset folder matches its source)", job.name)
        result = {"status": "bad_input", "error": f"no dataset folder matches {job.source}", "job": job.name,
                  "source": job.source, "attempt": 1}
        if job.webhook:
            result["webhook"] = notify(job.webhook, failure_body(result, schedule.store), job.webhook_timeout_seconds)
        return result
    store = Store(schedule.store)
    result: dict = {}
    for attempt in range(job.retries + 1):
        try:
            record = run_scan(store, [str(source)], job.settings, timeout=job.timeout_seconds)
            result = {"status": outcome(record), "run_id": record["run_id"]}
            if warned := run_warnings(record):
                result["warnings"] = warned
            if record.get("error"):
                result["error"] = record["error"]["message"][:2000]
            if record["status"] == "held":
                result["checks_failed"] = record["checks"]["failed"]
        except Busy as e:
            result = {"status": "refused", "error": str(e)}
        except StoreUnwritable as e:          # a full disk: retried, like a failure
            result = {"status": "failed", "error": str(e)}
        result.update(job=job.name, source=str(source), attempt=attempt + 1)
        # a job that did not make its run current (bad input, held, failed, timed out, refused) or
        # warned is a warning of the scheduler's log: whoever watches it at that level sees it
        level = logging.INFO if result["status"] == "succeeded" and not result.get("warnings") else logging.WARNING
        log.log(level, "job %s: %s (attempt %d, run %s)%s",
                job.name, result["status"], attempt + 1, result.get("run_id", "-"),
                f", {len(result['warnings'])} warning(s)" if result.get("warnings") else "")
        for w in result.get("warnings", []):
            log.warning("job %s: run %s: warning: %s", job.name, result["run_id"], w)
        if result["status"] not in ("failed", "timeout", "interrupted") or attempt == job.retries:
            break
        time.sleep(job.retry_delay_seconds)
    if result["status"] in ("succeeded", "held"):     # a held run counts too: held runs never pile up
        result["removed_runs"] = apply_retention(store, schedule.keep_runs)
    if result["status"] == "succeeded" and job.neo4j:
        refused = _audited(store, job, "neo4j.sync", "neo4j", result["run_id"])
        result["neo4j"] = ({"status": "failed", "error": refused} if refused
                           else publish_neo4j(store, result["run_id"], schedule.neo4j))
    if job.webhook and result["status"] in ("succeeded", "held"):
        payload = {"job": job.name, **body(store.changes(result["run_id"]), result["status"],
                                           result.get("warnings", []))}
        refused = _audited(store, job, "webhook", f"webhook:{where(job.webhook)}", result["run_id"],
                           sum(len(payload[k]) for k in ("new", "escalated", "resolved", "risk_risers")))
        result["webhook"] = (f"failed: {refused}" if refused
                             else notify(job.webhook, payload, job.webhook_timeout_seconds))
    elif job.webhook:      # no run made current, no change report: whoever watches the webhook is told why
        result["webhook"] = notify(job.webhook, failure_body(result, schedule.store), job.webhook_timeout_seconds)
    return result


def failure_body(result: dict, store_root: str) -> dict:
    """The webhook's JSON body for a job that made no run current and has no change report
    (`bad_input`, `failed`, `timeout`, `refused`): {"job", "status", "run_id" (null when no run
    was started), "attempt", "error", "warnings"}. The error is the run's, which names no patient;
    server paths in it are shown as the webhook may see them: the dataset folder by its name, the
    store as `STORE/`. It carries no entity-level data, so it is not an audited publication."""
    source = result.get("source")
    folders = sorted({source, str(Path(source).resolve())}) if source else []
    error = without_paths(result.get("error") or "", folders, store_root)
    return {"job": result["job"], "status": result["status"], "run_id": result.get("run_id"),
            "attempt": result["attempt"], "error": error, "warnings": result.get("warnings", [])}


def run_warnings(record: dict) -> list[str]:
    """What a job's outcome says of a run's warnings: the run's own (`warnings`: the load's critical
    warnings, a window keeping under half the claims, a campaign whose codes match no claim) and
    the load report's warnings of severity `warning` (rows kept, probably a data problem: unknown
    prescribers, ids cut by a spreadsheet, identifiers stored as numbers); not its `info` notes."""
    said = list(record.get("warnings") or [])
    for w in (record.get("load_report") or {}).get("warnings", []):
        if w.get("severity") == "warning" and w["message"] not in said:
            said.append(w["message"])
    return said


def _audited(store: Store, job: Job, action: str, target: str, run_id: str, rows: int | None = None) -> str | None:
    """Write a publication of entity-level data to the store's audit log (who: the job, role
    `scheduler`); returns why it could not be (the publication is then not made), else None."""
    try:
        audit(store, job.name, "scheduler", action, target, run_id, rows)
    except AuditUnavailable as e:
        log.warning("job %s: %s not made: %s", job.name, action, e)
        return str(e)
    return None


def apply_retention(store: Store, keep: int) -> list[str]:
    """Remove the oldest finished runs beyond the `keep` newest; never the current one, a running
    one, nor one a case still worked on was opened on (`CaseStore.runs_in_use`: its case file reads
    the alerts' evidence there). The impact a removed run measured is kept in the history first
    (`CaseStore.keep_impact`). Returns the removed runs' ids."""
    cases = CaseStore(store)
    spared = {store.current()} | cases.runs_in_use()
    finished = [r for r in store.list_runs() if r["status"] != "running"]
    removed = []
    for r in finished[keep:]:
        if r["run_id"] not in spared:
            cases.keep_impact(r)
            store.remove_run(r["run_id"])
            removed.append(r["run_id"])
    return removed


def publish_neo4j(store: Store, run_id: str, settings: Neo4jSettings) -> dict:
    """Sync the run to the Neo4j of `settings`; a failed sync fails the publication (said in the
    outcome and the log, the server named by its URI without credentials), never the scan, and the
    next sync of the run resumes where this one stopped."""
    from publish.neo4j import sync
    try:
        report = sync(store, settings, run_id)
    except Exception as e:    # any failure of the target: reported in the outcome, the scan stands
        log.warning("neo4j sync of run %s to %s failed: %s", run_id, settings.shown_uri, type(e).__name__)
        return {"status": "failed", "error": f"{type(e).__name__}: {e}"[:500]}
    return {"status": "synced", **{k: report[k] for k in ("nodes", "relationships", "seconds")},
            "stale_deleted": report["stale_deleted"]}


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
    # stopped from a timer thread, not by a job of its own: a job that shuts its scheduler down is
    # then removed from a scheduler already stopped (APScheduler's JobLookupError, a traceback)
    timer = threading.Timer(stop_after, scheduler.shutdown, kwargs={"wait": False}) if stop_after else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        scheduler.start()
    finally:
        if timer:
            timer.cancel()


def _guarded(schedule: Schedule, job: Job):
    try:
        run_job(schedule, job)
    except NotFound as e:
        log.error("job %s: %s", job.name, e)
