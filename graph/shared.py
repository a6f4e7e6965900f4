"""Intermediates several detectors (and the network analytics) need, computed once per scan.

* `patient_days`: claims aggregated per provider, patient, act, day and channel (the centre, or
  private practice): `provider_id, patient_id, service_code, service_date, centre_id, lines,
  amount` (euros), `prescriber_id` (the first, when several). Double billing judges its same-day repeats; peer_outlier counts days per patient.
* `billing`: who bills (or dispenses to) whom, one row per provider and patient, as node ids:
  `provider, patient, area` (the patient's home postcode, `?` when unknown), `degree` (the
  patient's number of providers).
* `carers`: who cares for whom heavily, `provider_id, patient_id`: a provider (not a pharmacy or
  laboratory: they serve, not care) billing the patient on `CARE_DAYS` days or more (weekly) —
  what mega_consumer (other carers corroborating a patient's needs) and peer_outlier (a patient's
  other heavy carers) both stratify by.
* `pairs`: what each provider billed (or dispensed to) each patient, all channels: `provider_id,
  patient_id, amount` (euros, to the cent) — the graph's BILLED and DISPENSED_TO edges of
  providers, their ids unprefixed (entity_network's peers: euros per patient).
* `projection`: the provider–provider shared-patient projection, `src < dst` provider node ids,
  `weight` = patients billed by both, over patients billed by 2 to `patient_max` providers
  (patients billed by more would link everyone; their pairs grow with the square of their degree).

The projection is also the graph the `sp` communities are found on (`graph.network`). Every table
but the projection is only read by later statements: on a scan's engine it stays there
(`query(..., keep=True)`, an `engine.Kept`), never copied into Python.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pyarrow as pa

from .model import Graph
from engine import Table, query


# a carer billing a patient on this many days or more (weekly or more often) cares for them heavily
CARE_DAYS = 52


@dataclass(frozen=True)
class Shared:
    patient_days: Table      # held by a scan's engine (`engine.Kept`), Arrow on the default engine
    billing: Table           # the same
    projection: pa.Table     # Arrow: the communities are found on it in Python
    carers: Table            # held by a scan's engine
    pairs: Table             # held by a scan's engine


_PATIENT_DAYS = """
SELECT provider_id, patient_id, service_code, service_date, centre_id, count(*) AS lines,
       round(sum(amount), 2) AS amount, min(prescriber_id) AS prescriber_id
FROM claims GROUP BY ALL
"""

_BILLING = """
WITH b AS (SELECT DISTINCT src AS provider, dst AS patient FROM e
           WHERE rel IN ('BILLED', 'DISPENSED_TO') AND src LIKE 'provider:%'),
deg AS (SELECT patient, count(*) AS degree FROM b GROUP BY patient),
home AS (SELECT 'patient:' || patient_id AS patient, any_value(postcode) AS area FROM patients GROUP BY ALL)
SELECT b.provider, b.patient, coalesce(h.area, '?') AS area, deg.degree
FROM b JOIN deg USING (patient) LEFT JOIN home h USING (patient)
ORDER BY b.provider, b.patient
"""

_CARERS = """
SELECT g.provider_id, g.patient_id FROM g JOIN providers p USING (provider_id)
WHERE p.kind NOT IN ('pharmacy', 'laboratory')
GROUP BY ALL HAVING count(DISTINCT g.service_date) >= $care_days
ORDER BY provider_id, patient_id
"""

_PAIRS = """
SELECT substr(src, strpos(src, ':') + 1) AS provider_id, substr(dst, strpos(dst, ':') + 1) AS patient_id, amount
FROM e WHERE rel IN ('BILLED', 'DISPENSED_TO') AND starts_with(src, 'provider:')
"""

_PROJECTION = """
WITH b AS (SELECT provider, patient FROM billing WHERE degree BETWEEN 2 AND $patient_max)
SELECT x.provider AS src, y.provider AS dst, count(*)::DOUBLE AS weight
FROM b x JOIN b y ON x.patient = y.patient AND x.provider < y.provider
GROUP BY ALL ORDER BY src, dst
"""


def build_shared(tables: Mapping[str, pa.Table], graph: Graph, patient_max: int = 40) -> Shared:
    """The intermediates of one scan (see the module docstring) from the window's contract tables
    and its graph. Deterministic: every table is sorted or keyed."""
    billing = query(_BILLING, keep=True, e=graph.edges, patients=tables["patients"])
    days = query(_PATIENT_DAYS, keep=True, claims=tables["claims"])
    return Shared(
        patient_days=days,
        billing=billing,
        projection=query(_PROJECTION, {"patient_max": patient_max}, billing=billing),
        carers=query(_CARERS, {"care_days": CARE_DAYS}, keep=True, g=days, providers=tables["providers"]),
        pairs=provider_patients(graph, keep=True),
    )


# A patient's home of no postcode is read as '?' by the statements that place patients
# (`coalesce(postcode, '?')`); `home_unknown` says whether that '?' is an unknown place
NO_HOME_KNOWN = "\x00"


def home_unknown(patients: pa.Table) -> str:
    """The home area the statements that place patients must leave out as unknown: '?' (a blank
    postcode, read as '?') when some patient's postcode is known — a patient of unknown home is
    neither local nor from elsewhere — and `NO_HOME_KNOWN`, a value no postcode takes, when none
    is (no patients table, or no postcode in it): every patient is then of one area, the region,
    as pharmacy_collusion and dense_block judged before unknown homes were told apart
    (2026-12-02). `patients`: the contract table (postcode)."""
    known = patients.num_rows > 0 and patients["postcode"].null_count < patients.num_rows
    return "?" if known else NO_HOME_KNOWN


def provider_patients(graph: Graph, keep: bool = False) -> Table:
    """`pairs` (see the module docstring) from the graph's edges; with `keep`, held by the
    scan's engine (`engine.Kept`)."""
    return query(_PAIRS, keep=keep, e=graph.edges)
