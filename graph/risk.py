"""Entity risk: one score per entity from the alerts that name it, with readable reasons.

Each alert's score is first made comparable across patterns: its rank within its pattern, as a
fraction in (0, 1] (the pattern's top alert is 1). An entity's direct risk combines its alerts as
independent pieces of evidence (noisy-OR), each weighted by the entity's role in the alert:
`1 - prod(1 - weight * strength)`, scaled to 0-100.

Network risk ("guilt by association") is kept apart: personalised PageRank restarting at the
flagged entities (weighted by direct risk) over the provider and entity network; a node whose
mass reaches that of an average flagged node gets `network_max` points. The final score combines
both as noisy-OR; reasons say which part came from where.
"""
from __future__ import annotations

import pyarrow as pa

from .findings import Findings
from .network import propagate
from engine import query

# roles that are context rather than the suspected actor count for less
ROLE_WEIGHTS = {"billed_twice": 0.3, "hospital": 0.5, "patient": 0.3, "officer": 0.5,
                "shopped_prescriber": 0.1, "shopped_pharmacy": 0.1}

RISK = pa.schema([("entity_type", pa.string()), ("entity_id", pa.string()), ("score", pa.float64()),
                  ("direct_score", pa.float64()), ("network_score", pa.float64()),
                  ("alerts", pa.int64()), ("reasons", pa.string())])


def alert_strength(findings: Findings) -> pa.Table:
    """alert_id, pattern, strength: the alert's rank within its pattern as a fraction in (0, 1]."""
    return query("""
        SELECT alert_id, pattern,
               1 - (rank() OVER (PARTITION BY pattern ORDER BY score DESC) - 1)
                   / count(*) OVER (PARTITION BY pattern) AS strength
        FROM a ORDER BY alert_id""", a=findings.alerts)


def entity_risk(findings: Findings, network: pa.Table | None = None, network_max: float = 50.0,
                min_network: float = 5.0) -> pa.Table:
    """entity_type, entity_id, score (0-100), direct_score, network_score, alerts, reasons.

    `network`: src, dst, weight edges between node ids (`provider:…`) over which risk spreads;
    None for direct evidence only. Entities with no alert appear when their network score
    reaches `min_network`.
    """
    weights = pa.table({"role": list(ROLE_WEIGHTS), "weight": list(ROLE_WEIGHTS.values())})
    direct = query("""
        WITH e AS (
            SELECT e.entity_type, e.entity_id, e.role, a.pattern, a.alert_id,
                   a.strength * coalesce(w.weight, 1.0) AS evidence
            FROM entities e JOIN strength a USING (alert_id) LEFT JOIN weights w USING (role)
        )
        SELECT entity_type, entity_id,
               round(100 * (1 - exp(sum(ln(greatest(1 - evidence, 1e-9))))), 6) AS direct_score,
               count(DISTINCT alert_id) AS alerts,
               string_agg(pattern || ' as ' || role || ' (' || alert_id || ')', '; '
                          ORDER BY evidence DESC, alert_id) AS reasons
        FROM e GROUP BY entity_type, entity_id
    """, entities=findings.entities, strength=alert_strength(findings), weights=weights)
    seeds = {f"{t}:{i}": s / 100 for t, i, s in zip(direct["entity_type"].to_pylist(),
                                                   direct["entity_id"].to_pylist(),
                                                   direct["direct_score"].to_pylist())}
    mass = propagate(network, seeds) if network is not None else {}
    near: dict[str, list[str]] = {}
    if mass:
        for s_, d_ in zip(network["src"].to_pylist(), network["dst"].to_pylist()):
            for a, b in ((s_, d_), (d_, s_)):
                if b in seeds and a not in seeds:
                    near.setdefault(a, []).append(b)
    spread = [{"node_id": n, "network_score": min(1.0, m) * network_max,
               "network_reason": f"network: tied to {len(set(near.get(n, [])))} flagged "
                                 f"entit{'y' if len(set(near.get(n, []))) == 1 else 'ies'}"
                                 + (f" ({', '.join(sorted(set(near[n]))[:3])})" if near.get(n) else "")}
              for n, m in sorted(mass.items()) if n not in seeds and min(1.0, m) * network_max >= min_network]
    spread_t = pa.Table.from_pylist(spread, pa.schema([("node_id", pa.string()), ("network_score", pa.float64()),
                                                       ("network_reason", pa.string())]))
    out = query("""
        SELECT coalesce(d.entity_type, split_part(s.node_id, ':', 1)) AS entity_type,
               coalesce(d.entity_id, substr(s.node_id, strpos(s.node_id, ':') + 1)) AS entity_id,
               round(100 * (1 - (1 - coalesce(d.direct_score, 0) / 100)
                               * (1 - coalesce(s.network_score, 0) / 100)), 2) AS score,
               round(coalesce(d.direct_score, 0), 2) AS direct_score,
               round(coalesce(s.network_score, 0), 2) AS network_score,
               coalesce(d.alerts, 0) AS alerts,
               coalesce(d.reasons, s.network_reason) AS reasons
        FROM direct d FULL JOIN spread s ON s.node_id = d.entity_type || ':' || d.entity_id
        ORDER BY score DESC, entity_type, entity_id
    """, direct=direct, spread=spread_t)
    return out.cast(RISK)
