"""A run's settings: the detectors' `ScanSettings` plus what belongs to the run (the rolling
window, the checks before a run becomes current, the change report's margins, the impact
measurement's thresholds). Typed, frozen, validated up front with every
problem at once, saved in the run's record; the CLI's `--settings` file, a schedule's
`[jobs.settings]` and `POST /runs` all take this one model.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError

from contract.errors import SettingsError
from contract.numbers import PlainNumbers
from contract.tables import MAX_COUNT, MAX_DAYS
from graph.impact import ImpactSettings
from graph.settings import ScanSettings


class _Frozen(PlainNumbers):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)   # a number is finite, not true


class Bounds(_Frozen):
    """How far a count may move from the previous current run's before the run is held."""
    max_drop: float = Field(0.3, ge=0, le=1, description="a count below (1 - max_drop) × the previous one fails")
    max_rise: float = Field(1.0, ge=0, description="a count above (1 + max_rise) × the previous one fails")
    min_count: int = Field(100, ge=0, le=MAX_COUNT, description="counts below this in both runs are not judged")


class CheckSettings(_Frozen):
    """The checks of a run against the run current before it (`runs.checks`)."""
    enabled: bool = Field(True, description="off: every run that succeeds becomes current")
    claims: Bounds = Bounds(max_drop=0.3, max_rise=1.0, min_count=1000)
    claims_per_month: Bounds = Bounds(max_drop=0.3, max_rise=1.0, min_count=1000)
    providers: Bounds = Bounds(max_drop=0.3, max_rise=1.0, min_count=50)
    patients: Bounds = Bounds(max_drop=0.3, max_rise=1.0, min_count=500)
    alerts_per_pattern: Bounds = Bounds(max_drop=0.8, max_rise=4.0, min_count=10)


class ChangeSettings(_Frozen):
    """The change report's margins (`runs.changes`), as fractions of a score."""
    escalation: float = Field(0.2, ge=0, description="an alert of the previous run whose score rises by more "
                              "than this share is escalated")
    realert_margin: float = Field(0.5, ge=0, description="an alert whose case is dismissed or closed is reported "
                                  "again only when its score rises by more than this share, or a new pattern names "
                                  "its entities")


class RunSettings(ScanSettings):
    window_days: int | None = Field(None, ge=1, le=MAX_DAYS, description="scan only the claims of the last N days "
                                    "(a rolling window; within start/end when given too)")
    window_anchor: Literal["data", "today"] = Field(
        "data", description="the window ends at the last service date of the data, or today")
    checks: CheckSettings = CheckSettings()
    changes: ChangeSettings = ChangeSettings()
    impact: ImpactSettings = ImpactSettings()
    engine: Literal["duckdb", "spark"] = Field("duckdb", description="where the claims-scale SQL runs (`engine`)")
    spark_master: str = Field("local[*]", description="the Spark master URL when engine is spark")
    spark_conf: dict[str, str] = Field({}, description="Spark settings when engine is spark "
                                       "(e.g. spark.driver.memory), as Spark's configuration page names them")
    duckdb_conf: dict[str, str] = Field({}, description="DuckDB settings when engine is duckdb (e.g. memory_limit, "
                                        "threads), as DuckDB's configuration page names them; intermediates past "
                                        "the memory limit spill to the run's folder; the load stage's connection "
                                        "takes them on either engine (its memory_limit 256MB unless set)")


def settings_problems(e: ValidationError) -> list[str]:
    """One line per problem: `where: what`."""
    return [f"{'.'.join(map(str, x['loc'])) or '(settings)'}: {x['msg'].removeprefix('Value error, ')}"
            for x in e.errors()]


def parse_settings(data: dict, origin: str) -> RunSettings:
    """`RunSettings` from a dict. Raises `SettingsError` listing every problem, naming `origin`."""
    try:
        return RunSettings.model_validate(data)
    except ValidationError as e:
        raise SettingsError(origin, settings_problems(e)) from None


def read_settings(path: str | Path) -> RunSettings:
    """`RunSettings` from a JSON file. Raises `SettingsError` naming the file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SettingsError(str(path), [f"not a readable JSON object: {e}"]) from None
    if not isinstance(data, dict):
        raise SettingsError(str(path), ["not a JSON object"])
    return parse_settings(data, str(path))
