"""Response models, one family per resource (`XPublic`, `XsPublic{data, count}`)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Message(BaseModel):
    detail: str


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    run_id: str | None


class RunPublic(BaseModel):
    run_id: str
    kind: str
    status: str
    published: bool
    source: str
    started_at: str
    finished_at: str | None
    stage: str | None
    timings: dict[str, float]
    counts: dict[str, int]
    error: str | None
    settings: dict[str, Any] | None = None
    load_report: dict[str, Any] | None = None


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class EntityRef(BaseModel):
    entity_type: str
    entity_id: str
    role: str


class AlertPublic(BaseModel):
    alert_id: str
    run_id: str
    pattern: str
    score: float
    summary: str
    entities: list[EntityRef] | None = None
    evidence: dict[str, Any] | None = None


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    count: int
