"""Response and request models, one family per resource (`XPublic`, `XsPublic{data, count}`)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runs.settings import RunSettings


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
    status: str = Field(description="running, succeeded, held (by its checks), failed, interrupted")
    current: bool = Field(description="is it the store's current run (the one readers are served)")
    sources: list[str] = Field(description="dataset folders, relative to the data root when under it")
    started_at: str
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


class AlertPublic(BaseModel):
    alert_id: str
    run_id: str
    pattern: str
    score: float
    rank: int = Field(description="rank within its pattern (1 = the pattern's best)")
    summary: str
    entities: list[EntityRef] | None = None
    evidence: dict[str, Any] | None = None


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    count: int
