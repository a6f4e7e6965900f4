"""The error root, and the problems found in input data.

Every error fraudnet raises on purpose is a `FraudnetError`; each subclass carries its facts as
fields, and each face (the CLI, the HTTP API, the scheduler) words its own message from them.
`str(error)` is a default wording that names no server path, process or patient.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

from .vocab import is_patient_node, patient_alert


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, pointing at file, line, column and value."""
    file: str
    message: str
    line: int | None = None
    column: str | None = None
    value: str | None = None
    unit: str = "line"          # "line" for CSV, "row" for Parquet

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"{self.unit} {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        return f"{', '.join(where)}: {self.message}"


class FraudnetError(Exception):
    """Root of the errors fraudnet raises on purpose (not bugs)."""


class NotFound(FraudnetError):
    """No `kind` (run, alert, entity, community, case, dataset, query…) named `key`. A patient's
    id is never worded (`str` says "no such patient in the current run", or in `run_id` when the
    read named one), nor the id of an alert of a patient-centred pattern (`contract.vocab.
    patient_alert`: one typed wrong may hold a patient's id); the faces word them the same way
    (`worded_patient`, `worded_alert`)."""

    def __init__(self, kind: str, key: str, detail: str = "", run_id: str | None = None):
        self.kind, self.key, self.detail, self.run_id = kind, key, detail, run_id
        super().__init__(worded_patient(run_id) if kind == "patient" else
                         worded_alert(key, run_id) if kind == "alert" and patient_alert(key) else
                         f"no {kind} with the id given: it starts with 'patient:' (a patient's node id under "
                         f"another type? the id is not repeated)" if is_patient_node(key) else
                         f"no {kind} {key!r}" + (f" {detail}" if detail else ""))

    @property
    def unsaid(self) -> bool:
        """Its key is never worded (a patient's id, a patient-centred alert's, or a key that starts
        with `patient:`: a patient's node id given under another type)."""
        return self.kind == "patient" or (self.kind == "alert" and patient_alert(self.key)) or is_patient_node(self.key)



def worded_patient(run_id: str | None = None) -> str:
    """What a face says of a patient it cannot find: never the id the caller gave."""
    return f"no such patient in {f'run {run_id}' if run_id else 'the current run'}"


def worded_alert(alert_id: str, run_id: str | None = None) -> str:
    """What a face says of an alert of a patient-centred pattern it cannot find: its pattern, never
    the id the caller gave (it may hold a patient's id)."""
    pattern = alert_id.split(":", 1)[0].strip().lower()
    where = f"run {run_id}" if run_id else "the current run"
    return f"no such {pattern} alert in {where} (the id given is not repeated)"


class NoPublishedRun(NotFound):
    """The store has no current run yet."""

    def __init__(self):
        super().__init__("current run", "", "")
        self.args = ("no current run yet",)


class NotReady(FraudnetError):
    """Run `run_id` exists but cannot serve this request in its `status` (no results yet, …)."""

    def __init__(self, run_id: str, status: str, wanted: str = "results"):
        self.run_id, self.status, self.wanted = run_id, status, wanted
        super().__init__(f"run {run_id} has no {wanted} (status {status})")


class Unreadable(NotReady):
    """Run `run_id` finished (`status`: succeeded or held) but its results file cannot be read:
    `why` (its results file is missing, cut or overwritten; or damaged, found by DuckDB while
    reading). `current`: the run was read as the current one (no run named)."""

    def __init__(self, run_id: str, status: str, why: str, current: bool = False):
        super().__init__(run_id, status, "readable results")
        self.why, self.current = why, current
        self.args = (f"{'the current run' if current else 'run'} {run_id} cannot be read ({why})",)


class Busy(FraudnetError):
    """Another scan holds the store's lock: `holder` is its run id (None if unknown), `since` when."""

    def __init__(self, holder: str | None = None, since: str | None = None):
        self.holder, self.since = holder, since
        super().__init__("a scan is already running" + (f" (run {holder}, since {since})" if holder else ""))


class Refused(FraudnetError):
    """The request is understood but not allowed in the current state (`reason`)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class AuditUnavailable(FraudnetError):
    """The audit log cannot be written (`reason`: the system's words, e.g. "No space left on
    device"), so reads that must be audited are refused rather than served unaudited."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"the audit log cannot be written ({reason})")


class StoreUnwritable(FraudnetError):
    """The store cannot be written (`reason`: the system's words, e.g. "No space left on
    device"); nothing was started or changed."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"the store cannot be written ({reason})")


class Stale(FraudnetError):
    """`kind` `key` changed since the caller read it: it is at `version`, the caller expected
    `expected` (an edit made on an old copy would lose the other one)."""

    def __init__(self, kind: str, key: str, expected: int, version: int):
        self.kind, self.key, self.expected, self.version = kind, key, expected, version
        super().__init__(f"{kind} {key} changed since it was read (version {version}, expected {expected})")


class Invalid(FraudnetError):
    """A request's values are invalid: `problems`, every one at once, each naming its field."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class TimedOut(FraudnetError):
    """A scan ran past its time limit of `seconds`."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"stopped after its time limit of {seconds:g} s")


class Stopped(FraudnetError):
    """A scan was stopped from outside (signal `signal`)."""

    def __init__(self, signal: str):
        self.signal = signal
        super().__init__(f"stopped from outside ({signal})")


class SettingsError(FraudnetError):
    """Settings, a schedule file or the environment are invalid: `problems`, every one at once;
    `origin` names where they came from (a file the user gave, an environment variable)."""

    def __init__(self, origin: str, problems: list[str]):
        self.origin, self.problems = origin, list(problems)
        super().__init__(f"{origin}: {len(self.problems)} problem(s):\n"
                         + "\n".join(f"  - {p}" for p in self.problems))


class DatasetError(FraudnetError):
    """The dataset cannot be scanned. `problems` lists them (up to a cap); `total` counts all."""

    def __init__(self, source: str, problems: list[Problem], total: int | None = None):
        self.source = source
        # listed file by file (in the order the files were found), each file's in line order (its
        # own problems, without a line, first): the checks find them column by column
        files = {p.file: i for i, p in reversed(list(enumerate(problems)))}
        self.problems = sorted(problems, key=lambda p: (files[p.file], p.line is not None, p.line or 0))
        self.total = total if total is not None else len(problems)
        lines = [f"{self.total} problem(s) in {source}:"]
        lines += [f"  - {p}" for p in self.problems]
        if self.total > len(problems):
            lines.append(f"  ... and {self.total - len(problems)} more")
        super().__init__("\n".join(lines))


def withheld(e: BaseException) -> str:
    """Where an unexpected error (a bug) was raised and its type, without its message, which may
    quote data (a patient id in a `KeyError`, a value in a conversion error): what records and
    messages may say about it."""
    frames = traceback.extract_tb(e.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"internal error ({type(e).__name__}{where}); its message is withheld, as it may quote data"


def trace(e: BaseException) -> str:
    """An exception's stack (files, lines, code) and type, without its message: what logs may
    say about an unexpected error."""
    return ("".join(traceback.format_tb(e.__traceback__))
            + f"{type(e).__module__}.{type(e).__name__} (message withheld)")


def not_utf8(e: UnicodeDecodeError) -> str:
    """What to say of a file that is not UTF-8 text: the line (1-based, counted in the bytes read
    before the first bad one) and that byte, never the text around it."""
    line = e.object[:e.start].count(b"\n") + 1
    return f"line {line}: not UTF-8 text (byte 0x{e.object[e.start]:02x}); save the file as UTF-8"
