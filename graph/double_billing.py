"""double_billing: the same care billed twice.

Two cases, both scored in euros billed twice (comparable within the pattern):

* **Re-billed lines**: lines of one provider for the same patient, act and day through the same
  channel (the same centre, or private practice). Some acts repeat
  legitimately (twice-daily nursing injections); so each act's usual same-day repeat rate is the
  median, over providers with at least `min_peer_groups` (patient, day) groups of that act, of
  their share of groups with a repeat (floored at `baseline_floor`). A provider is flagged on an
  act when its repeated groups reach `min_repeats`, exceed `min_ratio` times what the usual rate
  predicts, and do so by `min_z` standard deviations (Poisson approximation).
* **Cross-channel**: a practitioner affiliated `fulltime_hospital` to a hospital who bills
  privately (no centre) a patient that hospital billed the same day. The alert carries the
  double-billing path practitioner -WORKS_AT-> hospital -BILLED-> patient <-BILLED- practitioner
  with both claim ids.
"""
from __future__ import annotations

from typing import Mapping

import pyarrow as pa

from .findings import Findings, euros, make_findings
from .settings import DoubleBillingSettings
from engine import query

_REBILLED = """
WITH g AS (
    SELECT provider_id, patient_id, service_code, service_date, centre_id, count(*) AS lines,
           round(sum(amount), 2) AS amount
    FROM claims GROUP BY ALL
), per AS (
    SELECT provider_id, service_code, count(*) AS groups,
           count(*) FILTER (WHERE lines > 1) AS repeated,
           sum(lines - 1)::BIGINT AS extra_lines,
           round(coalesce(sum(amount * (lines - 1) / lines) FILTER (WHERE lines > 1), 0), 2) AS extra_amount
    FROM g GROUP BY ALL
), act AS (
    SELECT service_code,
           coalesce(median(repeated / groups) FILTER (WHERE groups >= $min_peer_groups), 0) AS usual
    FROM per GROUP BY ALL
), judged AS (
    SELECT per.*, greatest(act.usual, $floor) AS usual_rate,
           per.groups * greatest(act.usual, $floor) AS expected
    FROM per JOIN act USING (service_code)
    WHERE per.repeated >= $min_repeats
)
SELECT *, (repeated - expected) / sqrt(expected + 1) AS z FROM judged
WHERE repeated >= $min_ratio * expected AND (repeated - expected) / sqrt(expected + 1) >= $min_z
ORDER BY provider_id, service_code
"""

_REBILLED_EXAMPLES = """
WITH flagged AS (SELECT provider_id, service_code FROM f),
d AS (
    SELECT c.provider_id, c.service_code, c.patient_id, c.service_date, c.centre_id,
           list(c.claim_id ORDER BY c.claim_id) AS claim_ids
    FROM claims c JOIN flagged USING (provider_id, service_code)
    GROUP BY ALL HAVING count(*) > 1
)
SELECT * FROM (
    SELECT *, row_number() OVER (PARTITION BY provider_id ORDER BY service_date, claim_ids) AS k FROM d
) WHERE k <= $max_examples ORDER BY provider_id, k
"""

_CROSS = """
WITH ft AS (
    SELECT provider_id, centre_id, start_date, end_date FROM affiliations WHERE role = 'fulltime_hospital'
), private AS (
    SELECT c.claim_id, c.provider_id, ft.centre_id, c.patient_id, c.service_date, c.service_code, c.amount
    FROM claims c JOIN ft ON c.provider_id = ft.provider_id
    WHERE c.centre_id IS NULL
      AND c.service_date BETWEEN coalesce(ft.start_date, DATE '0001-01-01') AND coalesce(ft.end_date, DATE '9999-12-31')
), matched AS (
    SELECT p.*, h.claim_id AS hospital_claim_id, h.provider_id AS hospital_provider_id,
           h.service_code AS hospital_service_code,
           row_number() OVER (PARTITION BY p.claim_id
                              ORDER BY (h.service_code = p.service_code) DESC, h.claim_id) AS pick
    FROM private p JOIN claims h
      ON h.centre_id = p.centre_id AND h.patient_id = p.patient_id AND h.service_date = p.service_date
)
SELECT * EXCLUDE (pick) FROM matched WHERE pick = 1
ORDER BY provider_id, centre_id, service_date, claim_id
"""


def detect_double_billing(tables: Mapping[str, pa.Table], settings: DoubleBillingSettings) -> Findings:
    """Alerts for re-billed lines and cross-channel double billing (see module docstring).

    Parameters: contract tables `claims`, `providers`, `centres`, `affiliations`; settings.
    Returns `Findings` with one alert per provider for re-billed lines
    (`double_billing:rebilled:<provider>`) and one per provider and hospital for the
    cross-channel case (`double_billing:hospital:<provider>:<centre>`).

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_double_billing(t, DoubleBillingSettings()).alerts.num_rows
        0

    Notes: two aggregations over the claims (columnar, DuckDB); evidence is fetched only for
    flagged providers.
    """
    s = settings
    alerts, entities = [], []
    flagged = query(_REBILLED, {"min_peer_groups": s.min_peer_groups, "floor": s.baseline_floor,
                                "min_repeats": s.min_repeats, "min_ratio": s.min_ratio, "min_z": s.min_z},
                    claims=tables["claims"])
    examples = query(_REBILLED_EXAMPLES, {"max_examples": s.max_examples},
                     claims=tables["claims"], f=flagged).to_pylist()
    by_provider: dict[str, list[dict]] = {}
    for row in flagged.to_pylist():
        by_provider.setdefault(row["provider_id"], []).append(row)
    for provider, acts in by_provider.items():
        aid = f"double_billing:rebilled:{provider}"
        amount = sum(a["extra_amount"] for a in acts)
        lines = sum(a["extra_lines"] for a in acts)
        worst = max(acts, key=lambda a: (a["extra_lines"], a["service_code"]))
        alerts.append({
            "alert_id": aid, "pattern": "double_billing", "score": amount,
            "summary": (f"Provider {provider} billed {lines} line(s) twice for the same patient, act and day "
                        f"({euros(amount)}); on act {worst['service_code']} {worst['repeated']} of "
                        f"{worst['groups']} patient-days repeat, against a usual rate of "
                        f"{worst['usual_rate']:.1%}."),
            "evidence": {"kind": "rebilled", "acts": [
                {k: a[k] for k in ("service_code", "groups", "repeated", "extra_lines", "extra_amount",
                                   "usual_rate", "expected", "z")} for a in acts],
                "examples": [{k: e[k] for k in ("service_code", "patient_id", "service_date", "claim_ids")}
                             for e in examples if e["provider_id"] == provider]},
        })
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": provider, "role": "biller"})
        for e in examples:
            if e["provider_id"] == provider and e["k"] <= 5:
                entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": e["patient_id"],
                                 "role": "billed_twice"})

    cross = query(_CROSS, claims=tables["claims"], affiliations=tables["affiliations"]).to_pylist()
    groups: dict[tuple, list[dict]] = {}
    for row in cross:
        groups.setdefault((row["provider_id"], row["centre_id"]), []).append(row)
    for (provider, centre), rows in groups.items():
        if len(rows) < s.min_cross_channel:
            continue
        aid = f"double_billing:hospital:{provider}:{centre}"
        amount = sum(r["amount"] for r in rows)
        same_act = sum(r["service_code"] == r["hospital_service_code"] for r in rows)
        alerts.append({
            "alert_id": aid, "pattern": "double_billing", "score": amount,
            "summary": (f"Full-time hospital practitioner {provider} billed privately {len(rows)} service(s) "
                        f"({euros(amount)}) to patients that hospital {centre} billed the same day "
                        f"({same_act} for the same act)."),
            "evidence": {"kind": "hospital", "matches": len(rows), "same_act": same_act, "paths": [
                {"nodes": [f"provider:{provider}", f"centre:{centre}", f"patient:{r['patient_id']}",
                           f"provider:{provider}"],
                 "rels": ["WORKS_AT", "BILLED", "BILLED"],
                 "role": "fulltime_hospital", "service_date": r["service_date"],
                 "hospital_claim_id": r["hospital_claim_id"], "private_claim_id": r["claim_id"],
                 "service_code": r["service_code"], "hospital_service_code": r["hospital_service_code"]}
                for r in rows[: s.max_examples]]},
        })
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": provider, "role": "biller"})
        entities.append({"alert_id": aid, "entity_type": "centre", "entity_id": centre, "role": "hospital"})
        for r in rows[:5]:
            entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": r["patient_id"],
                             "role": "billed_twice"})
    return make_findings(alerts, entities)
