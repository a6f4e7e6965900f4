"""Scan settings: typed, frozen, validated up front, saved as JSON beside each run's results."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DoubleBillingSettings(_Frozen):
    min_repeats: int = Field(3, ge=1, description="same-day repeats of an act a provider needs before it is judged")
    min_ratio: float = Field(5.0, gt=1, description="repeats must exceed the act's usual rate by this factor")
    min_z: float = Field(3.0, ge=0, description="and by this many standard deviations")
    baseline_floor: float = Field(0.002, gt=0, lt=1, description="lowest usual repeat rate assumed for an act")
    min_peer_groups: int = Field(10, ge=1, description="(patient, day) groups a provider needs to count in an act's baseline")
    min_cross_channel: int = Field(2, ge=1, description="private claims on a hospital-billed patient-day that make an alert")
    max_examples: int = Field(10, ge=1, le=100, description="claim pairs kept as evidence per alert")


class NetworkSettings(_Frozen):
    patient_max: int = Field(40, ge=2, description="patients billed by more providers are left out of the shared-patient projection")
    resolution: float = Field(1.0, gt=0, description="Leiden resolution: higher gives smaller communities")
    min_community_size: int = Field(3, ge=2, description="smaller communities are not reported")
    betweenness_sample: int = Field(300, ge=10, description="betweenness is estimated from this many sources above this size")
    network_max: float = Field(50.0, ge=0, le=100, description="most points guilt by association can add to an entity's risk")


class ScanSettings(_Frozen):
    start: date | None = Field(None, description="first service date scanned (inclusive)")
    end: date | None = Field(None, description="last service date scanned (inclusive)")
    identifier_hub_max: int = Field(10, ge=2, description="an identifier shared by more entities links nothing")
    max_problems: int = Field(50, ge=1, description="input problems listed before the rest are only counted")
    seed: int = Field(42, description="seed of every randomised algorithm")
    double_billing: DoubleBillingSettings = DoubleBillingSettings()
    network: NetworkSettings = NetworkSettings()

    @model_validator(mode="after")
    def _window(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self
