"""Scan settings: typed, frozen, validated up front, saved as JSON beside each run's results."""
from __future__ import annotations

from datetime import date

from pydantic import ConfigDict, Field, model_validator

from contract.numbers import PlainNumbers
from contract.tables import MAX_COUNT, MAX_DAYS

from .campaign_model import Campaign


class _Frozen(PlainNumbers):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)   # a number is finite, not true


FDR = Field(0.01, gt=0, lt=0.5, description="false-discovery rate at which the detector's tests are judged "
                                             "(Benjamini-Hochberg over all its tests)")


class DoubleBillingSettings(_Frozen):
    fdr: float = FDR
    max_examples: int = Field(10, ge=1, le=100, description="claim pairs kept as evidence per alert")


class PharmacyCollusionSettings(_Frozen):
    fdr: float = FDR
    local_prefix: int = Field(2, ge=1, le=5, description="postcodes sharing this many leading characters are one area: a "
                                                         "prescriber's patients from another area are travellers, whose "
                                                         "watched share is judged, and are counted in summaries (2: a "
                                                         "French département)")
    max_examples: int = Field(10, ge=1, le=100, description="patients named per alert")


class DoctorShoppingSettings(_Frozen):
    fdr: float = FDR
    supply_days: int = Field(28, ge=1, le=MAX_DAYS, description="days one unit (box) of a watched molecule lasts: the longest "
                                                   "prescription of a narcotic in France (Code de la santé publique, "
                                                   "art. R5132-30)")


class DenseBlockSettings(_Frozen):
    fdr: float = FDR
    min_providers: int = Field(3, ge=2, le=MAX_COUNT, description="providers a block needs (a block is a group, not a pair)")
    min_patients: int = Field(5, ge=2, le=MAX_COUNT, description="patients a block's list needs (billed by two members or more): "
                                                   "a list, not a few patients who travelled")
    max_blocks: int = Field(200, ge=1, le=MAX_COUNT, description="blocks looked at, at most, in one scan")


class EntityNetworkSettings(_Frozen):
    fdr: float = FDR
    phoenix_days: int = Field(180, ge=0, le=MAX_DAYS, description="a new entity created this many days after one dissolved, at its "
                                                     "address or with its officer, succeeds it")
    min_entities: int = Field(2, ge=2, le=MAX_COUNT, description="legal entities a network needs")


class PeerOutlierSettings(_Frozen):
    fdr: float = FDR
    min_peers: int = Field(3, ge=3, le=MAX_COUNT, description="providers of the same kind and specialty billing the act, for it to "
                                                "have peers at all")
    acts_only: bool = Field(True, description="judge acts and lab tests only, not drugs or devices (needs services)")


class MegaConsumerSettings(_Frozen):
    fdr: float = FDR
    chronic_months: int = Field(3, ge=1, le=12, description="a drug class dispensed to a patient in this many "
                                                          "distinct months is one of the patient's chronic "
                                                          "conditions (read from their own claims)")
    min_stratum: int = Field(30, ge=5, le=MAX_COUNT, description="patients receiving a care that a stratum (age band, sex, "
                                                   "conditions) needs to set its yardstick; smaller ones are pooled")
    bulk_share: float = Field(0.8, gt=0, le=1, description="providers named, largest share first, until they bill "
                                                          "this share of the excess")


class AtypicalPrivatePracticeSettings(_Frozen):
    fdr: float = FDR
    fulltime_share: float = Field(0.2, gt=0, le=1, description="the private activity a full-time post leaves room "
                                                              "for, as a share of its hospital activity: 20 % of "
                                                              "the hospital service time (Code de la santé publique, "
                                                              "art. L6154-2)")
    max_acts: int = Field(5, ge=1, le=50, description="top private acts kept as evidence")


class NetworkSettings(_Frozen):
    patient_max: int = Field(40, ge=2, le=MAX_COUNT, description="patients billed by more providers are left out of the shared-patient projection")
    resolution: float = Field(1.0, gt=0, description="Leiden resolution: higher gives smaller communities")
    min_community_size: int = Field(3, ge=2, le=MAX_COUNT, description="smaller communities are not reported")
    betweenness_sample: int = Field(300, ge=10, le=MAX_COUNT, description="betweenness is estimated from this many sources above this size")
    network_share: float = Field(0.1, ge=0, le=1, description="guilt by association: at most this share of the "
                                                             "riskiest tied neighbour's direct risk")


class ScanSettings(_Frozen):
    start: date | None = Field(None, description="first service date scanned (inclusive)")
    end: date | None = Field(None, description="last service date scanned (inclusive)")
    identifier_hub_max: int = Field(10, ge=2, le=MAX_COUNT, description="an identifier shared by more entities links nothing")
    max_problems: int = Field(50, ge=1, le=MAX_COUNT, description="input problems listed before the rest are only counted")
    seed: int = Field(42, ge=0, le=MAX_COUNT, description="seed of every randomised algorithm "
                      "(at most contract.tables.MAX_COUNT: Leiden takes no seed past 2**63)")
    double_billing: DoubleBillingSettings = DoubleBillingSettings()
    pharmacy_collusion: PharmacyCollusionSettings = PharmacyCollusionSettings()
    doctor_shopping: DoctorShoppingSettings = DoctorShoppingSettings()
    dense_block: DenseBlockSettings = DenseBlockSettings()
    entity_network: EntityNetworkSettings = EntityNetworkSettings()
    peer_outlier: PeerOutlierSettings = PeerOutlierSettings()
    mega_consumer: MegaConsumerSettings = MegaConsumerSettings()
    atypical_private_practice: AtypicalPrivatePracticeSettings = AtypicalPrivatePracticeSettings()
    campaigns: tuple[Campaign, ...] = Field((), description="control campaigns' indicators judged in the scan "
                                                           "(`graph.campaigns`; `fraudnet scan --campaigns DIR`)")
    network: NetworkSettings = NetworkSettings()

    @model_validator(mode="after")
    def _window(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self
