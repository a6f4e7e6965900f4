"""Response and request models, one family per resource (`XPublic`, `XsPublic{data, count}`)."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cases.store import QUALIFICATIONS, STATUSES
from contract.numbers import PlainNumbers
from contract.tables import MAX_AMOUNT
from contract.vocab import NODE_ID_PATTERN
from runs.settings import RunSettings



# "not blank": a character that is no space to the server (Rust's regex, Unicode White_Space), to
# a client reading the OpenAPI schema (ECMAScript's \s, which leaves out U+0085 and adds U+FEFF)
# nor to the case store (Python's str.strip, which adds U+001C–U+001F): all written out, so that
# schema, server and store agree on every string (a note "\x1c" passed the schema, then the store
# refused it as empty)
NOT_BLANK = "[^\\s\x1c-\x1f\u0085\ufeff]"
VERSION = r'^\s*(?:W/)?"?(\d{1,12})"?\s*$'      # an If-Match header: a case's ETag ("3", W/"3" or 3)
ACTION = r"^[a-z0-9_]{1,64}$"

class Message(BaseModel):
    detail: str


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    run_id: str | None


class RunError(BaseModel):
    type: str
    message: str


class RunPublic(BaseModel):
    run_id: str
    kind: str
    status: str = Field(description="running, succeeded, held (by its checks), failed, interrupted, damaged (its "
                                    "record cannot be read: started_at unknown)")
    current: bool = Field(description="is it the store's current run (the one readers are served)")
    sources: list[str] = Field(description="dataset folders, relative to the data root when under it")
    started_at: str | None = Field(description="UTC; null when unknown (a damaged record)")
    finished_at: str | None
    stage: str | None
    timings: dict[str, float]
    counts: dict[str, int]
    error: RunError | None
    checks: dict[str, Any] | None = Field(None, description="the checks against the previous run")
    warnings: list[str] = Field([], description="what the run's users must know: a registry linking nothing, "
                                                 "a window keeping little of the data")
    promoted_at: str | None = None
    accepted_by: str | None = None
    results: str | None = Field(None, description="a succeeded or held run's results file: `readable`, or "
                                                   "`unreadable: why` (missing, cut, overwritten)")
    changes: str | None = Field(None, description="the change report's one-line summary")
    settings: dict[str, Any] | None = None
    load_report: dict[str, Any] | None = None


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="a dataset folder, relative to the server's data root")
    settings: RunSettings = Field(default_factory=RunSettings, description="run settings (see README)")


class RunStarted(BaseModel):
    run_id: str
    status: str


class EntityRef(BaseModel):
    entity_type: str
    entity_id: str
    role: str
    standing: str | None = Field(None, description="a provider's standing among its peers (contract STANDINGS)")
    excess_euros: float | None = Field(None, description="euros beyond what its peers' rate predicts")


class PeersPublic(BaseModel):
    """An alert's statistic for its subjects and its peers (`graph.impact.PEER_DISTRIBUTION`)."""
    alert_id: str
    statistic: str
    unit: str
    detail: str | None = None
    subject_units: list[str] = Field(description="its subjects (`patient` for a patient-centred pattern)")
    subject_values: list[float]
    subject_value: float = Field(description="the subjects pooled")
    peers: int
    peer_median: float
    peer_p90: float
    share_below: float = Field(description="share of peers below the subjects (0 to 1)")
    bin_edges: list[float]
    bin_counts: list[int]


class AlertPublic(BaseModel):
    alert_id: str
    run_id: str
    pattern: str
    score: float
    rank: int = Field(description="rank within its pattern (1 = the pattern's best)")
    summary: str
    entities: list[EntityRef] | None = Field(None, description="its entities but patients, who are counted")
    evidence: dict[str, Any] | None = None
    patients: int | None = Field(None, description="distinct patients of its evidence lines")
    patients_sampled: int | None = Field(None, description="the few patients it names among its entities")
    peers: PeersPublic | None = None
    evidence_lines: int | None = Field(None, description="claim lines behind it")
    first_seen_run: str | None = Field(None, description="the first current run that had it")
    last_seen_run: str | None = Field(None, description="the last current run that had it")
    case_id: str | None = Field(None, description="the case it belongs to")
    case_status: str | None = None


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    count: int


# --- cases -------------------------------------------------------------------------------------

class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["alerts"], "properties": {"alerts": {"minItems": 1}}},
        {"required": ["entities"], "properties": {"entities": {"minItems": 1}}}]})
    alerts: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        default_factory=list, max_length=200, description="alert ids the case is opened on")
    entities: list[Annotated[str, Field(pattern=NODE_ID_PATTERN, max_length=300)]] = Field(
        default_factory=list, max_length=200, description="entities the case is opened on, as type:id")
    title: str = Field(None, max_length=300, description="default: its patterns and main entities")
    assignee: str = Field(None, max_length=100)
    note: str = Field(None, max_length=10_000, description="a first note")
    run: str = Field(None, max_length=100, description="the run whose alerts these are (default: the current)")
    opened_on: date = Field(None, description="the day the control began, if before today (a case taken over); "
                                              "decisions may not predate it")


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    status: Literal[STATUSES] = Field(None, description="open → in_review → confirmed or dismissed → closed "
                                                         "(see README, Cases)")
    assignee: str = Field(None, max_length=100, description='"" unassigns')
    qualification: Literal[QUALIFICATIONS] = Field(None, description="needed to confirm")
    title: str = Field(None, min_length=1, max_length=300, pattern=NOT_BLANK)


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000, pattern=NOT_BLANK)


# amounts and dates are checked in one place, cases.store, whose messages name the field and the value
_EUROS = Field(None, le=MAX_AMOUNT, allow_inf_nan=False, description="euros, ≥ 0")


class DecisionCreate(PlainNumbers):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(pattern=ACTION, description="an action of GET /cases/actions")
    decided_on: date = Field(description="the decision's date; the impact is measured from the latest one")
    deadline: date = Field(None, description="needed by actions that say so (a request for compliance)")
    estimated_harm: float = _EUROS
    overpayment_notified: float = _EUROS
    recovered: float = _EUROS
    note: str = Field(None, max_length=10_000)


class DecisionUpdate(PlainNumbers):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    deadline: date = None
    estimated_harm: float = _EUROS
    overpayment_notified: float = _EUROS
    recovered: float = _EUROS
