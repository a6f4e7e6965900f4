"""Providers' billing aggregated from the claims, once per scan.

- `patient_days(claims, periods)`: the claims of each period grouped by provider, patient, act
  and day, and `provider_days(days)` the same without the act — the tables every behaviour
  statistic (`graph.impact`) and the billing profiles start from, so the claims are grouped
  once, not once per use;
- `billing_profile(pdays)` → one row per billing provider: kind, specialty, patients, lines,
  patient-days (days on which it billed a patient), amount (euros), and per patient: lines,
  patient-days and amount. Peers are providers of the same kind and specialty (read with
  `runs.results.profile`).

Pure functions of the contract tables; column-wise SQL.
"""
from __future__ import annotations

from datetime import date

import pyarrow as pa

from engine import Kept, Table, query

PROFILE = pa.schema([
    ("provider_id", pa.string()), ("kind", pa.string()), ("specialty", pa.string()), ("patients", pa.int64()),
    ("lines", pa.int64()), ("patient_days", pa.int64()), ("amount", pa.float64()),
    ("lines_per_patient", pa.float64()), ("days_per_patient", pa.float64()), ("amount_per_patient", pa.float64())])


DAYS = pa.schema([("period", pa.string()), ("provider_id", pa.string()), ("patient_id", pa.string()),
                  ("service_code", pa.string()), ("service_date", pa.date32()), ("lines", pa.int64()),
                  ("amount", pa.float64())])
PROVIDER_DAYS = pa.schema([f for f in DAYS if f.name != "service_code"])


def patient_days(claims: pa.Table, periods: list[tuple[str, date, date]], keep: bool = False) -> Table:
    """`DAYS` rows: per period (name, first day, last day, inclusive), provider, patient, act and
    day, the lines billed and their amount in euros; with `keep`, held by a scan's engine
    (`engine.Kept`, `DAYS`' types given by the SQL)."""
    per = pa.table({"period": [p[0] for p in periods], "first_day": pa.array([p[1] for p in periods], pa.date32()),
                    "last_day": pa.array([p[2] for p in periods], pa.date32())})
    out = query("""SELECT p.period, c.provider_id, c.patient_id, c.service_code, c.service_date,
                          count(*) AS lines, round(sum(c.amount), 2) AS amount
                   FROM claims c JOIN periods p ON c.service_date BETWEEN p.first_day AND p.last_day
                   GROUP BY ALL""", keep=keep, claims=claims, periods=per)
    return out if isinstance(out, Kept) else out.cast(DAYS)


def provider_days(days: Table, keep: bool = False) -> Table:
    """`PROVIDER_DAYS` rows: `patient_days` without the act — per period, provider, patient and
    day, the lines and euros billed; with `keep`, held by a scan's engine (`engine.Kept`)."""
    out = query("""SELECT period, provider_id, patient_id, service_date, CAST(sum(lines) AS BIGINT) AS lines,
                          round(sum(amount), 2) AS amount
                   FROM days GROUP BY ALL""", keep=keep, days=days)
    return out if isinstance(out, Kept) else out.cast(PROVIDER_DAYS)


def billing_profile(pdays: Table, providers: pa.Table) -> pa.Table:
    """`PROFILE` rows, by provider id, from one period of `provider_days`; amounts rounded to the
    cent, ratios to 1e-6."""
    return query("""
        WITH per AS (SELECT provider_id, count(DISTINCT patient_id) AS patients, sum(lines) AS lines,
                            count(*) AS patient_days, round(sum(amount), 2) AS amount FROM pdays GROUP BY ALL)
        SELECT per.provider_id, p.kind, p.specialty, patients, lines, patient_days, amount,
               round(lines / patients, 6) AS lines_per_patient, round(patient_days / patients, 6) AS days_per_patient,
               round(amount / patients, 6) AS amount_per_patient
        FROM per LEFT JOIN providers p USING (provider_id) ORDER BY per.provider_id""",
                 pdays=pdays, providers=providers).cast(PROFILE)
