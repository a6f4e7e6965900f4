"""The fraud graph: typed nodes and aggregated, typed edges built from contract tables.

Node ids are stable strings `<entity_type>:<entity_id>` (`provider:10000000001`); nothing outside
an igraph/networkx adapter sees an integer vertex id.

Edges (`rel`), each aggregated over the claims of the window:

| rel | from → to | carries |
|---|---|---|
| BILLED | provider (not pharmacy) or centre → patient | n, amount, first_date, last_date |
| DISPENSED_TO | pharmacy → patient | n, amount, first_date, last_date |
| PRESCRIBED_FOR | prescriber → patient | n, amount, first_date, last_date |
| FLOWS_TO | prescriber → executing provider (pharmacy, lab, nurse…) | n, amount, patients, first/last |
| WORKS_AT | provider → centre | role, start_date, end_date |
| OPERATED_BY | centre → legal_entity | |
| BILLS_UNDER | provider → legal_entity | |
| OFFICER_OF | person (or provider) → legal_entity | role, start_date, end_date |
| SHARES_IDENTIFIER | entity → entity (src < dst) | kind, value |

An identifier held by more than `identifier_hub_max` entities (an accountant's address, a bank's
pooled account) links nothing: it is listed in `hubs` instead. Patients' identifiers are not linked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

import pyarrow as pa

from engine import query

NODE_COLUMNS = ("node_id", "entity_type", "entity_id", "kind", "specialty", "name", "postcode", "roles")


@dataclass(frozen=True)
class Graph:
    nodes: pa.Table
    edges: pa.Table
    hubs: pa.Table      # identifiers not linked: kind, value, entities

    def count(self) -> dict:
        rels = query("SELECT rel, count(*) AS n FROM e GROUP BY rel ORDER BY rel", e=self.edges)
        return {"nodes": self.nodes.num_rows, "edges": self.edges.num_rows,
                **{f"edges.{r['rel']}": r["n"] for r in rels.to_pylist()}}


def in_window(tables: Mapping[str, pa.Table], start: date | None = None,
              end: date | None = None) -> dict[str, pa.Table]:
    """Claims dated within [start, end] (held by a scan's engine: `query(..., keep=True)`);
    affiliations and officers whose period meets it."""
    out = dict(tables)
    if start is None and end is None:
        return out
    p = {"s": start or date.min, "e": end or date.max}
    out["claims"] = query("SELECT * FROM c WHERE service_date BETWEEN $s AND $e", p, keep=True, c=tables["claims"])
    for name in ("affiliations", "officers"):
        out[name] = query("SELECT * FROM t WHERE coalesce(start_date, DATE '0001-01-01') <= $e "
                          "AND coalesce(end_date, DATE '9999-12-31') >= $s", p, t=tables[name])
    return out


_NODES = """
WITH prov AS (
    SELECT provider_id AS id, kind, specialty, name, postcode FROM providers
    UNION ALL
    SELECT DISTINCT x, NULL, NULL, NULL, NULL FROM (
        SELECT provider_id AS x FROM claims UNION SELECT prescriber_id FROM claims
        UNION SELECT person_id FROM officers WHERE person_id IN (SELECT provider_id FROM claims)
    ) WHERE x IS NOT NULL AND x NOT IN (SELECT provider_id FROM providers)
), roles AS (   -- a provider's parts in the claims scanned (its kind is `kind`): '' for neither
    SELECT id, concat_ws('|',
        CASE WHEN id IN (SELECT provider_id FROM claims) THEN 'biller' END,
        CASE WHEN id IN (SELECT prescriber_id FROM claims WHERE prescriber_id IS NOT NULL) THEN 'prescriber' END) AS roles
    FROM prov
), cen AS (
    SELECT centre_id AS id, kind, name, postcode FROM centres
    UNION ALL
    SELECT DISTINCT centre_id, NULL, NULL, NULL FROM claims
    WHERE centre_id IS NOT NULL AND centre_id NOT IN (SELECT centre_id FROM centres)
), ent AS (
    SELECT legal_entity_id AS id, kind, name FROM legal_entities
    UNION ALL
    SELECT DISTINCT x, NULL, NULL FROM (
        SELECT legal_entity_id AS x FROM providers UNION SELECT legal_entity_id FROM centres
        UNION SELECT legal_entity_id FROM officers
    ) WHERE x IS NOT NULL AND x NOT IN (SELECT legal_entity_id FROM legal_entities)
)
SELECT 'provider:' || p.id AS node_id, 'provider' AS entity_type, p.id AS entity_id, p.kind,
       p.specialty, p.name, p.postcode, r.roles
FROM prov p JOIN roles r USING (id)
UNION ALL
SELECT 'centre:' || id, 'centre', id, kind, NULL, name, postcode, NULL FROM cen
UNION ALL
SELECT 'legal_entity:' || id, 'legal_entity', id, kind, NULL, name, NULL, NULL FROM ent
UNION ALL
SELECT DISTINCT 'person:' || person_id, 'person', person_id, NULL, NULL, NULL, NULL, NULL FROM officers
WHERE person_id NOT IN (SELECT provider_id FROM providers)
  AND person_id NOT IN (SELECT provider_id FROM claims)
UNION ALL
SELECT 'patient:' || id, 'patient', id, NULL, NULL, NULL, pc, NULL FROM (
    SELECT patient_id AS id, postcode AS pc FROM patients
    UNION ALL
    SELECT DISTINCT patient_id, NULL FROM claims WHERE patient_id NOT IN (SELECT patient_id FROM patients)
)
ORDER BY node_id
"""

_EDGE_COLS = ("src, dst, rel, n, amount, patients, first_date, last_date, role, kind, value, "
              "start_date, end_date")
_NO_AGG = "NULL::BIGINT, NULL::DOUBLE, NULL::BIGINT, NULL::DATE, NULL::DATE"
_NO_LINK = "NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::DATE, NULL::DATE"
# a claims edge from the claims grouped per provider, patient, prescriber and centre (`k`): claims, euros, dates
_SUMS = ("sum(n)::BIGINT AS n, round(sum(amount), 2) AS amount, min(first_date) AS first_date, "
         "max(last_date) AS last_date")

_EDGES = f"""
WITH k AS (   -- the claims per provider, patient, prescriber and centre: each claims edge sums these
    SELECT provider_id, patient_id, prescriber_id, centre_id, count(*) AS n, sum(amount) AS amount,
           min(service_date) AS first_date, max(service_date) AS last_date
    FROM claims GROUP BY ALL
), c AS (
    SELECT k.*, p.kind AS provider_kind FROM k LEFT JOIN providers p USING (provider_id)
), person_node AS (
    SELECT DISTINCT person_id,
        CASE WHEN person_id IN (SELECT provider_id FROM providers)
               OR person_id IN (SELECT provider_id FROM k)
             THEN 'provider:' ELSE 'person:' END || person_id AS node_id
    FROM officers
), ident AS (
    SELECT DISTINCT entity_type || ':' || entity_id AS node_id, kind, value
    FROM identifiers WHERE entity_type <> 'patient'
), shared AS (
    SELECT kind, value FROM ident GROUP BY kind, value
    HAVING count(*) BETWEEN 2 AND $hub_max
)
SELECT 'provider:' || provider_id, 'patient:' || patient_id, rel, n, amount, NULL::BIGINT, first_date, last_date,
       {_NO_LINK}
FROM (SELECT provider_id, patient_id, CASE WHEN any_value(provider_kind) = 'pharmacy' THEN 'DISPENSED_TO' ELSE 'BILLED' END
             AS rel, {_SUMS} FROM c GROUP BY provider_id, patient_id)
UNION ALL
SELECT 'centre:' || centre_id, 'patient:' || patient_id, 'BILLED', n, amount, NULL, first_date, last_date, {_NO_LINK}
FROM (SELECT centre_id, patient_id, {_SUMS} FROM c WHERE centre_id IS NOT NULL GROUP BY centre_id, patient_id)
UNION ALL
SELECT 'provider:' || prescriber_id, 'patient:' || patient_id, 'PRESCRIBED_FOR', n, amount, NULL, first_date, last_date,
       {_NO_LINK}
FROM (SELECT prescriber_id, patient_id, {_SUMS} FROM c WHERE prescriber_id IS NOT NULL GROUP BY prescriber_id, patient_id)
UNION ALL
SELECT 'provider:' || prescriber_id, 'provider:' || provider_id, 'FLOWS_TO', n, amount, patients, first_date, last_date,
       {_NO_LINK}
FROM (SELECT prescriber_id, provider_id, {_SUMS}, count(DISTINCT patient_id) AS patients
      FROM c WHERE prescriber_id IS NOT NULL AND prescriber_id <> provider_id GROUP BY prescriber_id, provider_id)
UNION ALL
SELECT 'provider:' || provider_id, 'centre:' || centre_id, 'WORKS_AT', {_NO_AGG},
       role, NULL, NULL, start_date, end_date
FROM affiliations
UNION ALL
SELECT 'centre:' || centre_id, 'legal_entity:' || legal_entity_id, 'OPERATED_BY', {_NO_AGG}, {_NO_LINK}
FROM centres WHERE legal_entity_id IS NOT NULL
UNION ALL
SELECT 'provider:' || provider_id, 'legal_entity:' || legal_entity_id, 'BILLS_UNDER', {_NO_AGG}, {_NO_LINK}
FROM providers WHERE legal_entity_id IS NOT NULL
UNION ALL
SELECT p.node_id, 'legal_entity:' || o.legal_entity_id, 'OFFICER_OF', {_NO_AGG},
       o.role, NULL, NULL, o.start_date, o.end_date
FROM officers o JOIN person_node p USING (person_id)
UNION ALL
SELECT DISTINCT a.node_id, b.node_id, 'SHARES_IDENTIFIER', {_NO_AGG}, NULL, kind, value, NULL, NULL
FROM ident a JOIN ident b USING (kind, value) JOIN shared USING (kind, value)
WHERE a.node_id < b.node_id
ORDER BY 3, 1, 2
"""

_HUBS = """
SELECT kind, value, count(DISTINCT entity_type || ':' || entity_id) AS entities
FROM identifiers WHERE entity_type <> 'patient'
GROUP BY kind, value HAVING count(DISTINCT entity_type || ':' || entity_id) > $hub_max
ORDER BY entities DESC, kind, value
"""


def build_graph(tables: Mapping[str, pa.Table], start: date | None = None, end: date | None = None,
                identifier_hub_max: int = 10) -> Graph:
    """Build the graph of the claims dated within [start, end] (both optional).

    Parameters: the contract tables (every table present, possibly empty), the window, and the
    number of entities above which a shared identifier is a hub that links nothing.
    Returns a `Graph` of Arrow tables, sorted, so the same input gives the same output.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> build_graph(t).nodes.num_rows
        0
    """
    t = in_window(tables, start, end)
    nodes = query(_NODES, **t)
    edges = query(_EDGES, {"hub_max": identifier_hub_max}, **t)
    edges = edges.rename_columns([c.strip() for c in _EDGE_COLS.split(",")])
    hubs = query(_HUBS, {"hub_max": identifier_hub_max}, **t)
    return Graph(nodes, edges, hubs)
