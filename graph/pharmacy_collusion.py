"""pharmacy_collusion: prescribers and a pharmacy sharing a flow far beyond what geography explains.

For every prescriber → pharmacy flow, the **observed** number of the prescriber's patients served
by that pharmacy is compared with the number **expected** from the pharmacy's market share in
each patient's home postcode, computed without the prescriber's own patients (leave-one-out):

    expected = Σ_postcode  (prescriber's patients from postcode) × share(pharmacy | postcode)

Patients from postcodes where that share is below `market_share` are **outside the pharmacy's
market**: there, nothing but the prescriber explains the flow.

A pharmacy next to a busy practice serves most of its patients because they live there: its
share of their postcode is high, so expected ≈ observed. Mule patients from other towns, sent to
one pharmacy by complicit prescribers, come from postcodes where the pharmacy has no market:
expected ≈ 0. A flow of at least `min_patients` is flagged when its patients from outside the
pharmacy's market exceed what is expected there by `min_excess` and `min_z` standard deviations
(Poisson), or when the whole flow does so with a lift (observed / expected) of `min_lift` while
prescriber and pharmacy are in different postcodes (a prescriber steering patients to a distant
pharmacy). A pharmacy in the same postcode as a practice — next door to it — is judged only on
patients from outside its market: proximity explains the rest. The
score is the excess, weighted towards watched molecules and patients from other areas:
`excess × (1 + watched share of the amount) × (1 + share of patients from another area)`.
One alert per pharmacy gathers its flagged prescribers.
"""
from __future__ import annotations

from typing import Mapping

import pyarrow as pa

from .findings import Findings, euros, make_findings
from .settings import PharmacyCollusionSettings
from engine import query

_FLOWS = """
WITH d AS (
    SELECT c.prescriber_id, c.provider_id AS pharmacy, c.patient_id, c.amount, c.service_code,
           coalesce(s.watch, false) AS watch, coalesce(p.postcode, '?') AS home, ph.postcode AS ph_postcode
    FROM claims c JOIN providers ph ON c.provider_id = ph.provider_id AND ph.kind = 'pharmacy'
    LEFT JOIN services s USING (service_code) LEFT JOIN patients p USING (patient_id)
    WHERE c.prescriber_id IS NOT NULL AND c.prescriber_id <> c.provider_id
), t AS (   -- one row per prescriber, patient and pharmacy
    SELECT DISTINCT prescriber_id, pharmacy, patient_id, home FROM d
), area_ph AS (SELECT home, pharmacy, count(*) AS n FROM t GROUP BY ALL
), area AS (SELECT home, count(*) AS n FROM t GROUP BY ALL
), mine AS (SELECT prescriber_id, home, count(*) AS n FROM t GROUP BY ALL
), mine_ph AS (SELECT prescriber_id, pharmacy, home, count(*) AS n FROM t GROUP BY ALL
), flows AS (
    SELECT prescriber_id, pharmacy, count(*) AS observed FROM t GROUP BY ALL HAVING count(*) >= $min_patients
), per_area AS (
    SELECT f.prescriber_id, f.pharmacy, coalesce(mp.n, 0) AS o,
           m.n * (coalesce(ap.n, 0) - coalesce(mp.n, 0)) / greatest(a.n - m.n, 1) AS e,
           (coalesce(ap.n, 0) - coalesce(mp.n, 0)) / greatest(a.n - m.n, 1) < $market_share AS outside
    FROM flows f
    JOIN mine m ON m.prescriber_id = f.prescriber_id
    JOIN area a ON a.home = m.home
    LEFT JOIN area_ph ap ON ap.home = m.home AND ap.pharmacy = f.pharmacy
    LEFT JOIN mine_ph mp ON mp.prescriber_id = f.prescriber_id AND mp.pharmacy = f.pharmacy AND mp.home = m.home
), expect AS (
    SELECT prescriber_id, pharmacy, sum(o)::BIGINT AS observed, round(sum(e), 6) AS expected,
           coalesce(sum(o) FILTER (WHERE outside), 0)::BIGINT AS outside_observed,
           round(coalesce(sum(e) FILTER (WHERE outside), 0), 6) AS outside_expected
    FROM per_area GROUP BY ALL
), figures AS (
    SELECT prescriber_id, pharmacy, round(sum(amount), 2) AS amount, round(sum(amount) FILTER (WHERE watch), 2) AS watched_amount,
           count(DISTINCT patient_id) FILTER (WHERE left(home, $k) <> left(coalesce(ph_postcode, ''), $k)) AS far_patients,
           list(DISTINCT service_code ORDER BY service_code) FILTER (WHERE watch) AS watched_codes
    FROM d GROUP BY ALL
)
SELECT e.*, f.amount, coalesce(f.watched_amount, 0) AS watched_amount, f.far_patients,
       coalesce(f.watched_codes, []) AS watched_codes,
       (e.observed + 1) / (e.expected + 1) AS lift,
       (e.observed - e.expected) / sqrt(e.expected + 1) AS z
FROM expect e JOIN figures f USING (prescriber_id, pharmacy)
LEFT JOIN providers pr ON pr.provider_id = e.prescriber_id
LEFT JOIN providers ph ON ph.provider_id = e.pharmacy
WHERE (e.outside_observed - e.outside_expected >= $min_excess
       AND (e.outside_observed - e.outside_expected) / sqrt(e.outside_expected + 1) >= $min_z)
   OR (coalesce(pr.postcode, '') <> coalesce(ph.postcode, '-')
       AND (e.observed + 1) / (e.expected + 1) >= $min_lift
       AND e.observed - e.expected >= $min_excess
       AND (e.observed - e.expected) / sqrt(e.expected + 1) >= $min_z)
ORDER BY pharmacy, prescriber_id
"""

_MULES = """
SELECT DISTINCT c.provider_id AS pharmacy, c.patient_id
FROM claims c JOIN f ON c.provider_id = f.pharmacy AND c.prescriber_id = f.prescriber_id
JOIN services s USING (service_code)
WHERE s.watch ORDER BY 1, 2
"""


def detect_pharmacy_collusion(tables: Mapping[str, pa.Table], settings: PharmacyCollusionSettings) -> Findings:
    """One alert per pharmacy with flagged prescriber flows (`pharmacy_collusion:<pharmacy>`).

    Parameters: contract tables `claims`, `providers`, `patients` (home postcodes; without it every
    patient is of one unknown area and only the market-share test applies), `services` (watched
    molecules); settings. Returns `Findings`.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_pharmacy_collusion(t, PharmacyCollusionSettings()).alerts.num_rows
        0
    """
    s = settings
    flagged = query(_FLOWS, {"min_patients": s.min_patients, "min_lift": s.min_lift, "min_excess": s.min_excess,
                             "min_z": s.min_z, "k": s.local_prefix, "market_share": s.market_share},
                    claims=tables["claims"], providers=tables["providers"], services=tables["services"],
                    patients=tables["patients"])
    mules = query(_MULES, claims=tables["claims"], services=tables["services"], f=flagged).to_pylist()
    labels = dict(zip(tables["services"]["service_code"].to_pylist(), tables["services"]["label"].to_pylist()))
    by_pharmacy: dict[str, list[dict]] = {}
    for row in flagged.to_pylist():
        by_pharmacy.setdefault(row["pharmacy"], []).append(row)
    alerts, entities = [], []
    for pharmacy, flows in by_pharmacy.items():
        aid = f"pharmacy_collusion:{pharmacy}"
        observed = sum(f["observed"] for f in flows)
        expected = sum(f["expected"] for f in flows)
        amount = sum(f["amount"] for f in flows)
        watched = sum(f["watched_amount"] for f in flows)
        far = sum(f["far_patients"] for f in flows)
        score = sum((f["observed"] - f["expected"]) * (1 + f["watched_amount"] / max(f["amount"], 1e-9))
                    * (1 + f["far_patients"] / f["observed"]) for f in flows)
        codes = sorted({c for f in flows for c in f["watched_codes"]})
        names = ", ".join(labels.get(c) or c for c in codes[:4]) or "none"
        alerts.append({
            "alert_id": aid, "pattern": "pharmacy_collusion", "score": score,
            "summary": (f"Pharmacy {pharmacy} filled the prescriptions of {len(flows)} prescriber(s) for {observed} patient(s) where its "
                        f"market share in their home postcodes predicts {expected:.1f} (lift {(observed + 1) / (expected + 1):.1f}×); "
                        f"{far / observed:.0%} live in another area and {watched / max(amount, 1e-9):.0%} of "
                        f"{euros(amount)} is watched molecules ({names})."),
            "evidence": {"flows": [{k: f[k] for k in ("prescriber_id", "observed", "expected", "outside_observed",
                                                     "outside_expected", "lift", "z", "amount",
                                                     "watched_amount", "far_patients", "watched_codes")}
                                   for f in flows],
                         "paths": [{"nodes": [f"provider:{f['prescriber_id']}", f"provider:{pharmacy}"],
                                    "rels": ["FLOWS_TO"]} for f in flows]},
        })
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": pharmacy, "role": "pharmacy"})
        for f in flows:
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": f["prescriber_id"],
                             "role": "prescriber"})
        for m in [m for m in mules if m["pharmacy"] == pharmacy][: s.max_examples]:
            entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": m["patient_id"], "role": "patient"})
    return make_findings(alerts, entities)
