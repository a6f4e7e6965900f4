"""Entity risk: one score per entity that an analyst can sort by, with readable reasons.

**Direct risk** is the money at stake in the alerts that accuse an entity or in which it took
part: Σ over its alerts of weight(standing) × its euros in the alert — its own part when the
detector attributes one (a block member's share of the pairs, a prescriber's flow, a centre's
billing), else the alert's `excess_euros` (the euros beyond what honest behaviour explains) —
weight 1 for `accused` and `STANDING_WEIGHTS["participant"]` for a participant. Victims (a shopper's deceived prescribers, a borrowed list's patients) carry no
risk. So the score is

* **monotone**: a new alert never lowers an entity's risk, a resolved one never raises it;
* **stable**: an alert that does not name an entity leaves its direct risk unchanged (each
  alert's weight is its own figure, not a rank among the others);
* **unsaturated**: a sum of euros has no ceiling, so the riskiest entities stay ordered.

**Guilt by association** is kept apart and bounded: an entity tied to entities with direct risk
(shared patients, prescription flows, works at, operated by, bills under, officer of, shared
identifier: `graph.network.risk_network`) gets `network_share` × the largest of tie × the
neighbour's direct risk, the tie t = w / (w + 1) of the link's weight w in (0, 1). It never
exceeds that share of its riskiest neighbour's risk, depends only on its own neighbours, and
never lowers anything. The direct risk is the sum of its parts each rounded to the cent (as
`reasons` show them), summed in whole cents so the order of summation never moves a cent.
`score` = direct + network; `reasons` say which alerts, or which
neighbours, explain it.
"""
from __future__ import annotations

import pyarrow as pa

from contract.vocab import RISK_STANDINGS
from engine import query

from .findings import Findings

# what an alert's standing makes an entity carry of the alert's euros
STANDING_WEIGHTS = {"accused": 1.0, "participant": 0.5}
assert set(STANDING_WEIGHTS) == set(RISK_STANDINGS)

RISK = pa.schema([("entity_type", pa.string()), ("entity_id", pa.string()), ("score", pa.float64()),
                  ("direct_score", pa.float64()), ("network_score", pa.float64()),
                  ("alerts", pa.int64()), ("reasons", pa.string())])

_DIRECT = """
WITH e AS (     -- an entity named twice in one alert counts once, at its heaviest standing
    SELECT e.alert_id, e.entity_type, e.entity_id, max(w.weight) AS weight, max(e.excess_euros) AS own,
           string_agg(DISTINCT e.role, '/' ORDER BY e.role) AS role
    FROM entities e JOIN weights w USING (standing) GROUP BY ALL
)
SELECT e.entity_type, e.entity_id,      -- the parts in whole cents, summed exactly: any order, the same total
       sum(CAST(round(e.weight * e.euros * 100, 0) AS BIGINT)) / 100 AS direct_score, count(*) AS alerts,
       string_agg(a.pattern || ' as ' || e.role || ' (' || a.alert_id || '): ' ||
                  format('€{:,.2f}', round(e.weight * e.euros, 2)), '; '
                  ORDER BY e.weight * e.euros DESC, a.alert_id) AS reasons
FROM (SELECT e.*, greatest(coalesce(e.own, a.excess_euros), 0) AS euros FROM e JOIN alerts a USING (alert_id)) e
JOIN alerts a USING (alert_id) GROUP BY ALL
"""

_NETWORK = """
WITH d AS (SELECT entity_type || ':' || entity_id AS node, direct_score FROM direct WHERE direct_score > 0),
links AS (SELECT src AS a, dst AS b, weight FROM net UNION ALL SELECT dst, src, weight FROM net),
tied AS (      -- one row per neighbour, at its strongest tie: a pair linked both ways, or by
               -- several edges, is one neighbour (counted and named once)
    SELECT l.a AS node, d.node AS neighbour, max($share * l.weight / (l.weight + 1) * d.direct_score) AS part
    FROM links l JOIN d ON d.node = l.b WHERE l.a <> l.b GROUP BY l.a, d.node
)
SELECT node, round(max(part), 2) AS network_score, count(DISTINCT neighbour) AS neighbours,
       string_agg(neighbour, ', ' ORDER BY part DESC, neighbour) AS via
FROM tied GROUP BY node
"""


def entity_risk(findings: Findings, network: pa.Table | None = None, network_share: float = 0.1) -> pa.Table:
    """entity_type, entity_id, score, direct_score, network_score (euros), alerts, reasons.

    `findings`: alerts (with `excess_euros`) and their entities (with `standing`); `network`: src,
    dst, weight edges between node ids (`provider:…`) over which association is judged, None for
    direct evidence only. Rows: every entity with a direct or network score above zero, riskiest
    first. Deterministic: ties are ordered by entity.
    """
    weights = pa.table({"standing": list(STANDING_WEIGHTS), "weight": list(STANDING_WEIGHTS.values())})
    direct = query(_DIRECT, alerts=findings.alerts, entities=findings.entities, weights=weights)
    if network is None:
        network = pa.table({"src": pa.array([], pa.string()), "dst": pa.array([], pa.string()),
                            "weight": pa.array([], pa.float64())})
    spread = query(_NETWORK, {"share": network_share}, direct=direct, net=network)
    out = query("""
        WITH s AS (SELECT split_part(node, ':', 1) AS entity_type, substr(node, strpos(node, ':') + 1) AS entity_id,
                          network_score, neighbours, via FROM spread)
        SELECT coalesce(d.entity_type, s.entity_type) AS entity_type, coalesce(d.entity_id, s.entity_id) AS entity_id,
               round(coalesce(d.direct_score, 0) + coalesce(s.network_score, 0), 2) AS score,
               coalesce(d.direct_score, 0) AS direct_score, coalesce(s.network_score, 0) AS network_score,
               coalesce(d.alerts, 0) AS alerts,
               concat_ws('; ', nullif(d.reasons, ''),
                         CASE WHEN s.network_score > 0 THEN 'network: tied to ' || s.neighbours || ' entit'
                              || CASE WHEN s.neighbours = 1 THEN 'y' ELSE 'ies' END || ' at risk ('
                              || array_to_string(list_slice(string_split(s.via, ', '), 1, 3), ', ') || ')' END) AS reasons
        FROM direct d FULL JOIN s ON s.entity_type = d.entity_type AND s.entity_id = d.entity_id
        WHERE coalesce(d.direct_score, 0) + coalesce(s.network_score, 0) > 0
        ORDER BY score DESC, entity_type, entity_id
    """, direct=direct, spread=spread)
    return out.cast(RISK)
