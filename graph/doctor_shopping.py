"""doctor_shopping: a patient obtaining the same watched molecule from many prescribers and
pharmacies, with supplies that overlap (nomadisme, méga-consommation).

For each patient and watched molecule (`services.watch`), dispensings are ordered by date; each
unit is taken to last `supply_days`. A dispensing **overlaps** when it happens while an earlier
supply still runs. A patient is flagged with `min_prescribers` distinct prescribers,
`min_pharmacies` distinct pharmacies and `min_overlaps` overlapping dispensings. The score is the
days of supply obtained beyond the days elapsed (from the first dispensing to the end of the
last supply): a patient on one steady monthly treatment scores 0.

A chronic patient seeing several specialists, or renewing one treatment monthly with two
prescribers and one pharmacy, is not flagged. Summaries never name the patient; the alert's
entities do.
"""
from __future__ import annotations

from typing import Mapping

import pyarrow as pa

from .findings import Findings, make_findings
from .settings import DoctorShoppingSettings
from engine import query

_SHOPPING = """
WITH d AS (
    SELECT c.patient_id, c.service_code, c.service_date, c.claim_id, c.prescriber_id,
           c.provider_id AS pharmacy, c.quantity
    FROM claims c JOIN services s USING (service_code)
    JOIN providers p ON p.provider_id = c.provider_id AND p.kind = 'pharmacy'
    WHERE s.watch
), o AS (
    SELECT *, max(service_date + INTERVAL (quantity * $supply) DAY) OVER (
                  PARTITION BY patient_id, service_code ORDER BY service_date, claim_id
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_until
    FROM d
), g AS (
    SELECT patient_id, service_code, count(*) AS dispensings, sum(quantity)::BIGINT AS units,
           count(DISTINCT prescriber_id) AS prescribers, count(DISTINCT pharmacy) AS pharmacies,
           count(*) FILTER (WHERE service_date < covered_until) AS overlapping,
           min(service_date) AS first_date,
           max(service_date + INTERVAL (quantity * $supply) DAY)::DATE AS supply_end,
           list(DISTINCT prescriber_id ORDER BY prescriber_id) FILTER (WHERE prescriber_id IS NOT NULL) AS prescriber_ids,
           list(DISTINCT pharmacy ORDER BY pharmacy) AS pharmacy_ids
    FROM o GROUP BY ALL
)
SELECT *, (units * $supply - date_diff('day', first_date, supply_end))::BIGINT AS excess_days
FROM g
WHERE prescribers >= $min_prescribers AND pharmacies >= $min_pharmacies AND overlapping >= $min_overlaps
ORDER BY patient_id, service_code
"""


def detect_doctor_shopping(tables: Mapping[str, pa.Table], settings: DoctorShoppingSettings) -> Findings:
    """One alert per patient (`doctor_shopping:<patient>`), listing each watched molecule shopped.

    Needs `services` (which molecules are watched) and `providers` (which are pharmacies); with no
    watched molecule, nothing is flagged.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_doctor_shopping(t, DoctorShoppingSettings()).alerts.num_rows
        0
    """
    s = settings
    rows = query(_SHOPPING, {"supply": s.supply_days, "min_prescribers": s.min_prescribers,
                             "min_pharmacies": s.min_pharmacies, "min_overlaps": s.min_overlaps},
                 claims=tables["claims"], services=tables["services"], providers=tables["providers"]).to_pylist()
    labels = dict(zip(tables["services"]["service_code"].to_pylist(), tables["services"]["label"].to_pylist()))
    by_patient: dict[str, list[dict]] = {}
    for r in rows:
        by_patient.setdefault(r["patient_id"], []).append(r)
    alerts, entities = [], []
    for patient, mols in by_patient.items():
        aid = f"doctor_shopping:{patient}"
        top = max(mols, key=lambda m: (m["excess_days"], m["service_code"]))
        span = (top["supply_end"] - top["first_date"]).days
        alerts.append({
            "alert_id": aid, "pattern": "doctor_shopping", "score": max(sum(max(m["excess_days"], 0) for m in mols), 0.01),
            "summary": (f"A patient obtained {top['units']} unit(s) of {labels.get(top['service_code']) or top['service_code']} "
                        f"({top['units'] * s.supply_days} days of supply over {span} days) in {top['dispensings']} "
                        f"dispensings from {top['prescribers']} prescribers and {top['pharmacies']} pharmacies; "
                        f"{top['overlapping']} dispensings overlapped a running supply"
                        + (f", and {len(mols) - 1} other watched molecule(s)." if len(mols) > 1 else ".")),
            "evidence": {"molecules": [{k: m[k] for k in ("service_code", "dispensings", "units", "prescribers",
                                                         "pharmacies", "overlapping", "first_date", "supply_end",
                                                         "excess_days", "prescriber_ids", "pharmacy_ids")}
                                       for m in mols]},
        })
        entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": patient, "role": "shopper"})
        for m in mols:
            for p in m["prescriber_ids"]:
                entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": p, "role": "shopped_prescriber"})
            for p in m["pharmacy_ids"]:
                entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": p, "role": "shopped_pharmacy"})
    return make_findings(alerts, entities)
