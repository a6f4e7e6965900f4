"""Small hand-built contract tables for detector tests."""
from datetime import date, timedelta

import pyarrow as pa

from contract.tables import TABLES

from .conftest import tables_of

D0 = date(2025, 1, 1)


def day(k: int) -> date:
    return D0 + timedelta(days=k)


class Region:
    """Accumulates rows; `tables()` gives typed contract tables (missing ones empty)."""

    def __init__(self):
        self.rows = {name: [] for name in TABLES}
        self.n = 0

    def add(self, table: str, **row):
        self.rows[table].append(row)

    def provider(self, pid, kind, specialty=None, postcode=None, legal_entity_id=None):
        self.add("providers", provider_id=pid, kind=kind, specialty=specialty, postcode=postcode,
                 legal_entity_id=legal_entity_id)

    def patient(self, pid, postcode):
        self.add("patients", patient_id=pid, postcode=postcode)

    def claim(self, patient, provider, code, k, amount=10.0, prescriber=None, centre=None, quantity=1):
        self.n += 1
        self.add("claims", claim_id=f"C{self.n:06d}", patient_id=patient, provider_id=provider,
                 prescriber_id=prescriber, centre_id=centre, service_code=code, service_date=day(k),
                 amount=amount, quantity=quantity)

    def service(self, code, kind, label, watch=False):
        self.add("services", service_code=code, kind=kind, label=label, watch=watch)

    def tables(self) -> dict:
        given = {}
        for name, rows in self.rows.items():
            if rows:
                schema = TABLES[name].schema
                dates = {f.name for f in schema if f.type == pa.date32()}
                full = [{c: date.fromisoformat(r[c]) if c in dates and isinstance(r.get(c), str) else r.get(c)
                         for c in schema.names} for r in rows]
                given[name] = pa.Table.from_pylist(full, schema)
        return tables_of(**given)
