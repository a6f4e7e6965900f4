"""Each provider's billing over the scanned window, to set beside its peers' medians.

`billing_profile(tables)` → one row per billing provider: kind, specialty, patients, lines,
patient-days (days on which it billed a patient), amount (euros), and per patient: lines,
patient-days and amount. Peers are providers of the same kind and specialty (read with
`runs.results.profile`). A pure function of the contract tables; column-wise SQL.
"""
from __future__ import annotations

from typing import Mapping

import pyarrow as pa

from engine import query

PROFILE = pa.schema([
    ("provider_id", pa.string()), ("kind", pa.string()), ("specialty", pa.string()), ("patients", pa.int64()),
    ("lines", pa.int64()), ("patient_days", pa.int64()), ("amount", pa.float64()),
    ("lines_per_patient", pa.float64()), ("days_per_patient", pa.float64()), ("amount_per_patient", pa.float64())])


def billing_profile(tables: Mapping[str, pa.Table]) -> pa.Table:
    """`PROFILE` rows, by provider id; amounts rounded to the cent, ratios to 1e-6."""
    return query("""
        SELECT c.provider_id, any_value(p.kind) AS kind, any_value(p.specialty) AS specialty,
               count(DISTINCT c.patient_id) AS patients, count(*) AS lines,
               count(DISTINCT (c.patient_id, c.service_date)) AS patient_days, round(sum(c.amount), 2) AS amount,
               round(count(*) / count(DISTINCT c.patient_id), 6) AS lines_per_patient,
               round(count(DISTINCT (c.patient_id, c.service_date)) / count(DISTINCT c.patient_id), 6) AS days_per_patient,
               round(sum(c.amount) / count(DISTINCT c.patient_id), 6) AS amount_per_patient
        FROM claims c LEFT JOIN providers p USING (provider_id)
        GROUP BY c.provider_id ORDER BY c.provider_id""",
                 claims=tables["claims"], providers=tables["providers"]).cast(PROFILE)
