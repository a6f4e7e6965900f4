"""doctor_shopping: a patient obtaining the same watched molecule from several prescribers and
pharmacies, each unaware of the others (nomadisme médical).

Statistic: Pradel's doctor-shopping indicator counts what a patient obtains through
prescriptions that overlap in time with a prescription from another prescriber (Pradel et al.,
"Assessment of doctor-shopping for high dosage buprenorphine maintenance treatment in a French
region", Pharmacoepidemiol. Drug Saf. 18, 2009). We keep the overlaps a shopper hides: a
dispensing of a watched molecule (`services.watch`) is **concealed** when, on its day, a supply of
that molecule is still running that another prescriber prescribed *and another pharmacy
dispensed* — neither the prescriber nor the pharmacist could see it. A palliative patient whose
oncologist, GP and palliative team all prescribe the opioid, filled at one pharmacy, conceals
nothing: the pharmacist sees every supply. Nor does a care team: two prescribers who both
**follow** the patient — each sees them (bills them anything) on more days than it has the
molecule dispensed to them, as a GP's weekly home visits or a palliative team's rounds do — know
each other's supplies, even when one in three is filled at a second pharmacy; a shopper's
prescribers see the patient only to prescribe (the overlaps Pradel's indicator counts are those
of prescribers unaware of each other). And a patient needs **two** prescribers or more who see
them only to prescribe to conceal anything: one such prescriber beside doctors who follow the
patient — the oncologist beside the GP and the palliative team — is the coordinated care
pathway, in which the treating doctor coordinates the specialists it refers the patient to (the
*parcours de soins coordonnés* of the *médecin traitant*, Code de la sécurité sociale art.
L162-5-3): the followers know its supplies, and the one prescriber left out of the team deceives
nobody it could be hidden from. A patient unit (patient × molecule) with fewer than two
prescribers who only prescribe counts no concealed dispensing. Each unit lasts `supply_days` (28:
the longest prescription of a narcotic in France).

Null model: honest patients have a concealed dispensing now and then (a pharmacy closed, a
locum) at the population's usual rate p₀ (the pooled rate, each patient winsorised), and patients
differ around it (τ² estimated robustly, `graph.stats.rate_null`). Of
a patient's n dispensings of a molecule, the number c concealed is beta-binomial(n, p₀, ρ);
tail probability P(C ≥ c). A patient active a few months with three prescribers and three
pharmacies is judged on what they did, not on a minimum count.

Decision: Benjamini–Hochberg at `fdr` over every patient × watched molecule. Score: the days of
supply obtained through concealed dispensings beyond what p₀ predicts; `excess_euros` prices
them at the molecule's euros per day.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa

from .findings import Findings, make_findings, opaque_id
from .settings import DoctorShoppingSettings
from .stats import benjamini_hochberg, betabinom_logsf, rate_null, surprise_bits
from engine import query

_DISPENSINGS = """
WITH d0 AS (
    SELECT c.claim_id, c.patient_id, c.service_code, c.service_date, c.prescriber_id,
           c.provider_id AS pharmacy, coalesce(c.quantity, 1) AS quantity, c.amount,
           c.service_date + INTERVAL (coalesce(c.quantity, 1) * $supply) DAY AS supply_end
    FROM claims c JOIN services s USING (service_code)
    JOIN providers p ON p.provider_id = c.provider_id AND p.kind = 'pharmacy'
    WHERE s.watch
), seen AS (        -- days each provider billed each of these patients anything
    SELECT patient_id, provider_id AS prescriber_id, count(DISTINCT service_date) AS days FROM claims
    WHERE patient_id IN (SELECT patient_id FROM d0) GROUP BY ALL
), follows AS (     -- a prescriber who sees the patient on more days than it has the molecule dispensed
    SELECT r.patient_id, r.service_code, r.prescriber_id
    FROM (SELECT patient_id, service_code, prescriber_id, count(*) AS n FROM d0
          WHERE prescriber_id IS NOT NULL GROUP BY ALL) r
    JOIN seen USING (patient_id, prescriber_id) WHERE seen.days > r.n
), d AS (
    SELECT d.*, f.prescriber_id IS NOT NULL AS follows FROM d0 d
    LEFT JOIN follows f USING (patient_id, service_code, prescriber_id)
), unaware AS (     -- units with two prescribers or more who see the patient only to prescribe
    SELECT patient_id, service_code FROM d WHERE NOT follows
    GROUP BY ALL HAVING count(DISTINCT coalesce(prescriber_id, '')) >= 2
), concealed AS (   -- a dispensing made while another prescriber's supply from another pharmacy runs,
                    -- unless both prescribers follow the patient (a care team), in a unit with two
                    -- prescribers or more who only prescribe
    SELECT DISTINCT x.claim_id FROM d x JOIN unaware u USING (patient_id, service_code) JOIN d y
      ON x.patient_id = y.patient_id AND x.service_code = y.service_code
     AND (y.service_date < x.service_date OR (y.service_date = x.service_date AND y.claim_id < x.claim_id))
     AND y.supply_end > x.service_date
     AND y.pharmacy <> x.pharmacy
     AND coalesce(y.prescriber_id, '') <> coalesce(x.prescriber_id, '')
     AND NOT (x.follows AND y.follows)
)
SELECT d.patient_id, d.service_code, count(*) AS dispensings, sum(d.quantity)::BIGINT AS units,
       count(*) FILTER (WHERE d.claim_id IN (SELECT claim_id FROM concealed)) AS concealed,
       coalesce(sum(d.quantity) FILTER (WHERE d.claim_id IN (SELECT claim_id FROM concealed)), 0)::BIGINT
           AS concealed_units,
       count(DISTINCT d.prescriber_id) AS prescribers, count(DISTINCT d.pharmacy) AS pharmacies,
       min(d.service_date) AS first_date, max(d.supply_end)::DATE AS supply_end,
       round(sum(d.amount), 2) AS amount,
       list(DISTINCT d.prescriber_id ORDER BY d.prescriber_id) FILTER (WHERE d.prescriber_id IS NOT NULL) AS prescriber_ids,
       list(DISTINCT d.pharmacy ORDER BY d.pharmacy) AS pharmacy_ids
FROM d GROUP BY ALL ORDER BY d.patient_id, d.service_code
"""


def detect_doctor_shopping(tables: Mapping[str, pa.Table], settings: DoctorShoppingSettings,
                           key: bytes) -> Findings:
    """One alert per patient (`doctor_shopping:<HMAC of the patient id under key>`): the patient
    accused; the prescribers and pharmacies they deceived as victims. Score: excess days of supply.

    Needs `services` (which molecules are watched) and `providers` (which are pharmacies); with no
    watched molecule, nothing is flagged. Summaries and alert ids never name the patient.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_doctor_shopping(t, DoctorShoppingSettings(), b"key").alerts.num_rows
        0
    """
    s = settings
    per = query(_DISPENSINGS, {"supply": s.supply_days}, claims=tables["claims"], services=tables["services"],
                providers=tables["providers"])
    n, c = per["dispensings"].to_numpy().astype(float), per["concealed"].to_numpy().astype(float)
    p0, rho = rate_null(n, c)
    log_p = betabinom_logsf(c, n, p0, rho)
    hit = benjamini_hochberg(log_p, s.fdr) & (c > n * p0)
    labels = dict(zip(tables["services"]["service_code"].to_pylist(), tables["services"]["label"].to_pylist()))
    by_patient: dict[str, list[dict]] = {}
    for r, lp in zip(per.filter(pa.array(hit)).to_pylist(), log_p[hit]):
        units = r["units"]
        r["excess_days"] = (r["concealed_units"] - p0 * units) * s.supply_days
        r["euros_per_day"] = r["amount"] / (units * s.supply_days)
        r["log10_p"] = lp / np.log(10)
        by_patient.setdefault(r["patient_id"], []).append(r)
    alerts, entities = [], []
    for patient, mols in by_patient.items():
        aid = opaque_id(key, "doctor_shopping", patient)
        top = max(mols, key=lambda m: (m["excess_days"], m["service_code"]))
        span = (top["supply_end"] - top["first_date"]).days
        excess = sum(m["excess_days"] for m in mols)
        alerts.append({
            "alert_id": aid, "pattern": "doctor_shopping", "score": excess,
            "excess_euros": sum(m["excess_days"] * m["euros_per_day"] for m in mols),
            "surprise_bits": float(surprise_bits(sum(m["log10_p"] for m in mols) * np.log(10))),
            "summary": (f"A patient obtained {top['units']} unit(s) of {labels.get(top['service_code']) or top['service_code']} "
                        f"({top['units'] * s.supply_days} days of supply over {span} days) in {top['dispensings']} "
                        f"dispensings from {top['prescribers']} prescribers and {top['pharmacies']} pharmacies; "
                        f"{top['concealed']} were dispensed while another prescriber's supply from another pharmacy "
                        f"still ran, where {p0 * top['dispensings']:.1f} would be usual"
                        + (f"; and {len(mols) - 1} other watched molecule(s)." if len(mols) > 1 else ".")),
            "evidence": {"test": "beta-binomial tail of concealed dispensings, Benjamini-Hochberg", "fdr": s.fdr,
                         "usual_rate": p0, "rho": rho,
                         "molecules": [{k: m[k] for k in ("service_code", "dispensings", "units", "concealed",
                                                         "concealed_units", "prescribers", "pharmacies", "first_date",
                                                         "supply_end", "excess_days", "prescriber_ids",
                                                         "pharmacy_ids", "log10_p")} for m in mols]},
        })
        entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": patient, "role": "shopper",
                         "standing": "accused"})
        for m in mols:
            for p in m["prescriber_ids"]:
                entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": p,
                                 "role": "shopped_prescriber", "standing": "victim"})
            for p in m["pharmacy_ids"]:
                entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": p,
                                 "role": "shopped_pharmacy", "standing": "victim"})
    return make_findings(alerts, entities)
