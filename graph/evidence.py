"""The complete evidence of each alert: every claim line behind it, not a few examples.

An alert's own `evidence` keeps a handful of examples; an investigator building a case needs all
the lines, to count, check and hand over. For each alert, from its entities and the claims:

| pattern | the lines | `item` groups | `note` |
|---|---|---|---|
| double_billing | every line of its providers in a (patient, act, day) billed more than once, any channel | one per (patient, act, day) | how many lines, through which channels |
| pharmacy_collusion | the pharmacy's dispensings prescribed by the alert's prescribers (or, without any, to patients from outside its area) | one per patient | the patient's area against the pharmacy's |
| doctor_shopping | the patient's dispensings of watched molecules | one per molecule | whether it overlaps a supply still running |
| dense_block | the block's providers' lines to patients billed by two or more of them | one per patient | how many of the block's providers billed the patient |
| peer_outlier | the provider's lines of the act it stands out on (`peer_acts`) | one per patient | |
| entity_network | the lines of its billing providers and of its centres | one per biller | the channel |
| mega_consumer | the patient's lines of the care it stands out on (`peer_acts`; without it, the lines of the providers it names) | one per provider | whether the alert names the provider |
| atypical_private_practice | the practitioner's private lines (no centre) during its full-time post | one per week (ISO) | |
| indicator_outlier | the unit's numerator lines in the campaign (`campaigns`), to the patients of its denominator | one per patient | |

Lines are the claims as given (patient ids included: the results file holds them, the faces
decide what to show). A pure function of the contract tables; column-wise SQL.
"""
from __future__ import annotations

from typing import Mapping

import pyarrow as pa

from contract.tables import empty_table
from engine import query

from .campaign_model import Campaign
from .campaigns import code_flags

EVIDENCE = pa.schema([
    ("alert_id", pa.string()), ("item", pa.int64()), ("claim_id", pa.string()), ("provider_id", pa.string()),
    ("prescriber_id", pa.string()), ("centre_id", pa.string()), ("patient_id", pa.string()),
    ("service_code", pa.string()), ("service_date", pa.date32()), ("amount", pa.float64()),
    ("quantity", pa.int64()), ("note", pa.string())])

_COLS = ("c.claim_id, c.provider_id, c.prescriber_id, c.centre_id, c.patient_id, c.service_code, c.service_date, "
         "c.amount, coalesce(c.quantity, 1) AS quantity")

_SQL = {
    "double_billing": f"""
WITH s AS (SELECT DISTINCT alert_id, entity_id AS provider_id FROM e WHERE entity_type = 'provider'),
g AS (SELECT c.provider_id, c.patient_id, c.service_code, c.service_date, count(*) AS lines,
             string_agg(DISTINCT coalesce('centre ' || c.centre_id, 'private practice'), ' and '
                        ORDER BY coalesce('centre ' || c.centre_id, 'private practice')) AS channels
      FROM claims c JOIN (SELECT DISTINCT provider_id FROM s) USING (provider_id) GROUP BY ALL HAVING count(*) > 1)
SELECT s.alert_id, dense_rank() OVER (PARTITION BY s.alert_id ORDER BY g.service_date, g.service_code, g.patient_id,
                                                                         g.provider_id) AS item,
       {_COLS}, g.lines || ' lines for the same patient, act and day (' || g.channels || ')' AS note
FROM s JOIN g USING (provider_id) JOIN claims c USING (provider_id, patient_id, service_code, service_date)
""",
    "pharmacy_collusion": f"""
WITH ph AS (SELECT DISTINCT e.alert_id, p.provider_id, p.postcode FROM e JOIN providers p ON p.provider_id = e.entity_id
            WHERE e.entity_type = 'provider' AND p.kind = 'pharmacy'),
rx AS (SELECT DISTINCT e.alert_id, e.entity_id AS prescriber_id FROM e JOIN providers p ON p.provider_id = e.entity_id
       WHERE e.entity_type = 'provider' AND p.kind <> 'pharmacy'),
lines AS (
    SELECT ph.alert_id, {_COLS}, pt.postcode AS home, ph.postcode AS shop,
           left(pt.postcode, $area_prefix) IS DISTINCT FROM left(ph.postcode, $area_prefix) AS outside
    FROM ph JOIN claims c ON c.provider_id = ph.provider_id LEFT JOIN patients pt USING (patient_id)
    WHERE c.prescriber_id IN (SELECT prescriber_id FROM rx WHERE rx.alert_id = ph.alert_id)
       OR (NOT EXISTS (SELECT 1 FROM rx WHERE rx.alert_id = ph.alert_id)
           AND left(pt.postcode, $area_prefix) <> left(ph.postcode, $area_prefix))
)
SELECT alert_id, dense_rank() OVER (PARTITION BY alert_id ORDER BY patient_id) AS item,
       claim_id, provider_id, prescriber_id, centre_id, patient_id, service_code, service_date, amount, quantity,
       CASE WHEN home IS NULL THEN 'patient''s home area unknown'
            WHEN shop IS NULL THEN 'pharmacy''s area unknown'
            WHEN outside THEN 'patient from outside the pharmacy''s area'
            ELSE 'patient from the pharmacy''s area' END AS note
FROM lines
""",
    "doctor_shopping": f"""
WITH s AS (SELECT DISTINCT alert_id, entity_id AS patient_id FROM e WHERE entity_type = 'patient'),
d AS (SELECT s.alert_id, {_COLS},
             c.service_date + CAST(coalesce(c.quantity, 1) * $supply_days AS INTEGER) AS runs_until
      FROM s JOIN claims c USING (patient_id) JOIN providers p ON p.provider_id = c.provider_id AND p.kind = 'pharmacy'
      JOIN services sv ON sv.service_code = c.service_code AND sv.watch),
o AS (SELECT *, max(runs_until) OVER (PARTITION BY alert_id, patient_id, service_code ORDER BY service_date, claim_id
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS running FROM d)
SELECT alert_id, dense_rank() OVER (PARTITION BY alert_id ORDER BY service_code) AS item,
       claim_id, provider_id, prescriber_id, centre_id, patient_id, service_code, service_date, amount, quantity,
       CASE WHEN service_date < running THEN 'overlaps a supply running until ' || strftime(running - 1, '%Y-%m-%d')
            ELSE 'no supply running' END AS note
FROM o
""",
    "dense_block": f"""
WITH s AS (SELECT DISTINCT alert_id, entity_id AS provider_id FROM e WHERE entity_type = 'provider'),
k AS (SELECT s.alert_id, c.patient_id, count(DISTINCT c.provider_id) AS k, any_value(n.n) AS n
      FROM s JOIN claims c USING (provider_id) JOIN (SELECT alert_id, count(*) AS n FROM s GROUP BY 1) n USING (alert_id)
      GROUP BY ALL HAVING count(DISTINCT c.provider_id) >= 2)
SELECT s.alert_id, dense_rank() OVER (PARTITION BY s.alert_id ORDER BY c.patient_id) AS item, {_COLS},
       'patient billed by ' || k.k || ' of the block''s ' || k.n || ' providers' AS note
FROM s JOIN claims c USING (provider_id) JOIN k ON k.alert_id = s.alert_id AND k.patient_id = c.patient_id
""",
    "peer_outlier": f"""
WITH s AS (SELECT DISTINCT e.alert_id, e.entity_id AS provider_id, a.service_code
           FROM e JOIN acts a USING (alert_id) WHERE e.entity_type = 'provider')
SELECT s.alert_id, dense_rank() OVER (PARTITION BY s.alert_id ORDER BY c.patient_id) AS item, {_COLS},
       NULL AS note
FROM s JOIN claims c USING (provider_id, service_code)
""",
    "mega_consumer": f"""
WITH s AS (SELECT DISTINCT alert_id, entity_id AS patient_id FROM e WHERE entity_type = 'patient'),
named AS (SELECT DISTINCT alert_id, entity_id AS provider_id FROM e WHERE entity_type = 'provider'),
lines AS (
    SELECT s.alert_id, {_COLS}, n.provider_id IS NOT NULL AS named
    FROM s JOIN claims c USING (patient_id) LEFT JOIN acts a ON a.alert_id = s.alert_id
    LEFT JOIN named n ON n.alert_id = s.alert_id AND n.provider_id = c.provider_id
    WHERE c.service_code = a.service_code OR (a.service_code IS NULL AND n.provider_id IS NOT NULL)
)
SELECT alert_id, dense_rank() OVER (PARTITION BY alert_id ORDER BY provider_id) AS item,
       claim_id, provider_id, prescriber_id, centre_id, patient_id, service_code, service_date, amount, quantity,
       CASE WHEN named THEN 'billed by a provider the alert names' ELSE 'billed by another provider' END AS note
FROM lines
""",
    "atypical_private_practice": f"""
WITH s AS (SELECT DISTINCT alert_id, entity_id AS provider_id FROM e WHERE entity_type = 'provider'),
post AS (SELECT provider_id, min(start_date) AS since, max(coalesce(end_date, DATE '9999-12-31')) AS until
         FROM affiliations WHERE role = 'fulltime_hospital' GROUP BY ALL)
SELECT s.alert_id, dense_rank() OVER (PARTITION BY s.alert_id ORDER BY date_trunc('week', c.service_date)) AS item,
       {_COLS}, NULL AS note
FROM s JOIN claims c USING (provider_id) JOIN post p USING (provider_id)
WHERE c.centre_id IS NULL AND c.service_date BETWEEN coalesce(p.since, DATE '0001-01-01') AND p.until
""",
    "entity_network": f"""
WITH b AS (SELECT DISTINCT alert_id, entity_type, entity_id FROM e WHERE entity_type IN ('provider', 'centre')),
lines AS (
    SELECT b.alert_id, b.entity_type || ':' || b.entity_id AS biller, {_COLS}
    FROM b JOIN claims c ON (b.entity_type = 'provider' AND c.provider_id = b.entity_id)
                         OR (b.entity_type = 'centre' AND c.centre_id = b.entity_id)
)
SELECT alert_id, dense_rank() OVER (PARTITION BY alert_id ORDER BY biller) AS item,
       claim_id, provider_id, prescriber_id, centre_id, patient_id, service_code, service_date, amount, quantity,
       coalesce('billed through centre ' || centre_id, 'billed in private practice') AS note
FROM (SELECT DISTINCT ON (alert_id, claim_id) * FROM lines ORDER BY alert_id, claim_id, biller)
""",
}


def evidence_lines(tables: Mapping[str, pa.Table], alerts: pa.Table, alert_entities: pa.Table,
                   peer_acts: pa.Table | None = None, area_prefix: int = 2, supply_days: int = 28,
                   campaigns: tuple[Campaign, ...] = ()) -> pa.Table:
    """Every claim line behind each alert (`EVIDENCE`: alert_id, item, the claim's columns,
    note), ordered by alert, item and date. `alerts`: alert_id, pattern; `alert_entities`:
    alert_id, entity_type, entity_id. `peer_acts`: alert_id, service_code — the act each
    peer_outlier alert is judged on (`graph.impact.peer_distribution`'s detail). `area_prefix`:
    postcode characters of an area; `supply_days`: days a unit of a dispensing lasts;
    `campaigns`: the scan's (indicator_outlier's lines)."""
    acts = peer_acts if peer_acts is not None else pa.table({"alert_id": pa.array([], pa.string()),
                                                            "service_code": pa.array([], pa.string())})
    # one pass over the claims: those of the alerts' providers, centres and patients, all any
    # pattern's lines can come from
    claims = query("""SELECT c.* FROM claims c
                      WHERE c.provider_id IN (SELECT entity_id FROM e WHERE entity_type = 'provider')
                         OR c.centre_id IN (SELECT entity_id FROM e WHERE entity_type = 'centre')
                         OR c.patient_id IN (SELECT entity_id FROM e WHERE entity_type = 'patient')""",
                   claims=tables["claims"], e=alert_entities)
    parts = []
    for pattern, sql in _SQL.items():
        e = query("SELECT e.alert_id, e.entity_type, e.entity_id FROM e JOIN a USING (alert_id) WHERE a.pattern = $p",
                  {"p": pattern}, e=alert_entities, a=alerts)
        if e.num_rows == 0:
            continue
        params = {k: v for k, v in (("area_prefix", area_prefix), ("supply_days", supply_days)) if f"${k}" in sql}
        parts.append(query(sql, params, e=e, acts=acts, claims=claims, providers=tables["providers"],
                           patients=tables["patients"], services=tables["services"],
                           affiliations=tables.get("affiliations", empty_table("affiliations")))
                     .select(EVIDENCE.names).cast(EVIDENCE))
    parts += [_campaign_lines(tables, alerts, cp) for cp in campaigns]
    if not parts:
        return EVIDENCE.empty_table()
    return query("SELECT * FROM t ORDER BY alert_id, item, service_date, claim_id", t=pa.concat_tables(parts))


def _campaign_lines(tables: Mapping[str, pa.Table], alerts: pa.Table, cp: Campaign) -> pa.Table:
    """The numerator lines of the campaign's outlying units (`indicator_outlier:<campaign>:<unit>`
    alerts): the unit's lines (as provider or prescriber) of a numerator code, in the campaign's
    period, to patients of the filter given a denominator code by the unit."""
    prefix = f"indicator_outlier:{cp.name}:"
    ids = [a for a in alerts["alert_id"].to_pylist() if a.startswith(prefix)]
    if not ids:
        return EVIDENCE.empty_table()
    claims = tables["claims"]
    c = query("""SELECT c.*, CASE WHEN $by_prescriber THEN c.prescriber_id ELSE c.provider_id END AS unit_id,
                        coalesce(f.num, false) AS num, coalesce(f.den, false) AS den
                 FROM c LEFT JOIN f USING (service_code)""",     # the campaign's unit as unit_id, its code flags
              {"by_prescriber": cp.unit != "provider"}, keep=True, c=claims, f=code_flags(claims, cp))
    return query("""
WITH s AS (SELECT alert_id, substr(alert_id, length($prefix) + 1) AS unit_id FROM a),
pt AS (SELECT patient_id, any_value(birth_year) AS birth_year, any_value(sex) AS sex FROM patients GROUP BY ALL),
c AS (SELECT s.alert_id, c.* FROM s JOIN c USING (unit_id) LEFT JOIN pt USING (patient_id)
      WHERE c.service_date BETWEEN coalesce($start, DATE '0001-01-01') AND coalesce($end, DATE '9999-12-31')
        AND ($min_age IS NULL OR year(c.service_date) - pt.birth_year >= $min_age)
        AND ($max_age IS NULL OR year(c.service_date) - pt.birth_year <= $max_age)
        AND ($sex IS NULL OR pt.sex = $sex)),
den AS (SELECT DISTINCT alert_id, patient_id FROM c WHERE den)
SELECT alert_id, dense_rank() OVER (PARTITION BY alert_id ORDER BY patient_id) AS item,
       claim_id, provider_id, prescriber_id, centre_id, patient_id, service_code, service_date, amount, quantity,
       NULL AS note
FROM c JOIN den USING (alert_id, patient_id) WHERE num
""", {"prefix": prefix, "start": cp.start, "end": cp.end, "min_age": cp.patients.min_age,
      "max_age": cp.patients.max_age, "sex": cp.patients.sex},
        a=pa.table({"alert_id": pa.array(ids, pa.string())}), c=c, patients=tables["patients"]) \
        .select(EVIDENCE.names).cast(EVIDENCE)
