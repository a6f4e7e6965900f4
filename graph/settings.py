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


class PharmacyCollusionSettings(_Frozen):
    min_patients: int = Field(5, ge=1, description="patients a prescriber → pharmacy flow needs before it is judged")
    min_lift: float = Field(3.0, gt=1, description="a whole flow exceeding what market share predicts by this factor is flagged too")
    market_share: float = Field(0.05, gt=0, lt=1, description="postcodes where the pharmacy's share is below this are outside its market")
    min_excess: float = Field(5.0, ge=0, description="patients beyond what is expected")
    min_z: float = Field(3.0, ge=0, description="standard deviations beyond what is expected")
    local_prefix: int = Field(2, ge=1, le=5, description="postcodes sharing this many leading characters are one area (2: a French département)")
    max_examples: int = Field(10, ge=1, le=100)


class DoctorShoppingSettings(_Frozen):
    min_prescribers: int = Field(4, ge=2, description="distinct prescribers of the same watched molecule")
    min_pharmacies: int = Field(3, ge=1, description="distinct pharmacies dispensing it")
    min_overlaps: int = Field(3, ge=1, description="dispensings made while a previous supply still ran")
    supply_days: int = Field(28, ge=1, description="days one unit (box) of a dispensing lasts")


class DenseBlockSettings(_Frozen):
    min_providers: int = Field(3, ge=2, description="providers a block needs")
    min_patients: int = Field(20, ge=2, description="patients a block needs")
    min_shared: int = Field(10, ge=2, description="patients two providers must share to be linked")
    min_lift: float = Field(5.0, gt=1, description="shared patients over what the patients' home areas predict")
    column_c: float = Field(5.0, gt=1, description="FRAUDAR's column weight 1/log(degree + c)")
    min_fill: float = Field(0.8, gt=0, le=1, description="share of the block's provider-patient pairs that must be billed")
    max_blocks: int = Field(200, ge=1, description="blocks looked at, at most, in one scan")


class EntityNetworkSettings(_Frozen):
    phoenix_days: int = Field(180, ge=0, description="a new entity created this many days after one dissolved, at its address or with its officer, succeeds it")
    min_entities: int = Field(2, ge=2, description="legal entities a group needs")
    min_ratio: float = Field(2.0, gt=1, description="the group's amount per patient over the peer median")
    min_patients: int = Field(20, ge=1, description="patients the group's centres must have billed")


class PeerOutlierSettings(_Frozen):
    min_peers: int = Field(5, ge=3, description="providers of the same kind and specialty billing the act")
    min_patients: int = Field(10, ge=1, description="patients a provider must have billed the act to")
    min_z: float = Field(5.0, ge=0, description="robust z-score (median/MAD) of days of the act per patient")
    min_ratio: float = Field(1.5, gt=1, description="days of the act per patient over the peer median")
    acts_only: bool = Field(True, description="judge acts and lab tests only, not drugs or devices (needs services)")


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
    pharmacy_collusion: PharmacyCollusionSettings = PharmacyCollusionSettings()
    doctor_shopping: DoctorShoppingSettings = DoctorShoppingSettings()
    dense_block: DenseBlockSettings = DenseBlockSettings()
    entity_network: EntityNetworkSettings = EntityNetworkSettings()
    peer_outlier: PeerOutlierSettings = PeerOutlierSettings()
    network: NetworkSettings = NetworkSettings()

    @model_validator(mode="after")
    def _window(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self
