"""A control campaign's indicator, as an analyst defines it (one TOML file, `runs.campaigns`).

An indicator measures every provider (or prescriber) of one profession the same way, so that
each can be seen against its peers: the SECM's national controls of one act for a whole
profession and its indicators of manifest deviation from good practice, the Assurance Maladie's
campaigns (central antihypertensives after 65, biosimilars, cone-beam imaging by dentists).

* `numerator` and `denominator`: service codes, or code prefixes (an ATC class such as `C02A`
  takes every code starting with it); the denominator may be `all_patients` of the unit.
* `patients`: an age range (age = year of service − birth year, from `patients`) and a sex.
* `unit`: `provider` (who billed) or `prescriber` (who prescribed).
* `peers`: the provider kind (and specialty) the units are compared within.
* `measure`: `share_of_patients` (denominator patients given a numerator code by the unit),
  `acts_per_patient` (numerator lines per denominator patient) or `sessions_per_course`
  (numerator sessions per course, a course ending after a gap of more than `course_gap_days`).
* `start`, `end`: the period (within the scan's window).
"""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from contract.numbers import PlainNumbers
from contract.tables import MAX_COUNT

KINDS = ("physician", "dentist", "nurse", "physiotherapist", "midwife", "pharmacy", "laboratory", "other")


class _Frozen(PlainNumbers):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)   # a number is finite, not true


class Codes(_Frozen):
    codes: tuple[str, ...] = Field((), description="service codes, exactly")
    prefixes: tuple[str, ...] = Field((), description="code prefixes, e.g. an ATC class (C02A)")
    all_patients: bool = Field(False, description="denominator only: every patient of the unit")

    @model_validator(mode="after")
    def _something(self):
        if not (self.codes or self.prefixes or self.all_patients):
            raise ValueError("give codes, prefixes or all_patients = true")
        if any(not c for c in self.codes + self.prefixes):
            raise ValueError("a code or prefix is empty")
        return self


class PatientFilter(_Frozen):
    min_age: int | None = Field(None, ge=0, le=130)
    max_age: int | None = Field(None, ge=0, le=130)
    sex: Literal["F", "M"] | None = None

    @field_validator("max_age")
    @classmethod
    def _range(cls, max_age: int | None, info: ValidationInfo):
        """Checked with the field (not after the model), so a wrong sex does not hide it."""
        min_age = info.data.get("min_age")
        if min_age is not None and max_age is not None and min_age > max_age:
            raise ValueError(f"min_age {min_age} is above max_age {max_age}")
        return max_age


class Peers(_Frozen):
    kind: Literal[KINDS] = Field(description="providers' kind (contract: providers.kind)")
    specialty: str | None = Field(None, description="providers' specialty; any when absent")


class Campaign(_Frozen):
    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=80, description="identifier, lower case and _")
    label: str = Field(description="what the indicator measures, in words")
    unit: Literal["provider", "prescriber"] = "provider"
    measure: Literal["share_of_patients", "acts_per_patient", "sessions_per_course"] = "share_of_patients"
    numerator: Codes
    denominator: Codes = Codes(all_patients=True)
    patients: PatientFilter = PatientFilter()
    peers: Peers
    course_gap_days: int = Field(30, ge=1, le=365, description="sessions_per_course: a gap longer than this ends a course")
    start: date | None = None
    end: date | None = None
    fdr: float = Field(0.01, gt=0, lt=0.5, description="false-discovery rate over the campaign's units")
    min_peers: int = Field(5, ge=3, le=MAX_COUNT, description="units with a denominator needed to judge any")
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self):
        if self.numerator.all_patients:
            raise ValueError("numerator: all_patients is for the denominator")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self
