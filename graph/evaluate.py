"""Scoring a run against known cases (planted truth, or an analyst's confirmed frauds).

Per pattern, with K = `k_factor` × the number of known cases of that pattern:
- **recall**: the share of known cases (groups) named by at least one of the top-K alerts;
- **precision@K**: the share of the top-K alerts (or of all, if fewer) naming a known case.
An alert names a case when one of its entities belongs to that case's group. For entity risk,
with K = the number of known entities: precision@K of the riskiest entities, and average
precision over the whole ranking.
"""
from __future__ import annotations

import pyarrow as pa

from engine import query

EVAL = pa.schema([("pattern", pa.string()), ("cases", pa.int64()), ("k", pa.int64()), ("alerts", pa.int64()),
                  ("found", pa.int64()), ("recall", pa.float64()), ("precision_at_k", pa.float64())])


def evaluate(alerts: pa.Table, alert_entities: pa.Table, risk: pa.Table, truth: pa.Table,
             k_factor: float = 2.0) -> dict:
    """Returns {"patterns": table as rows, "entity_risk": {...}}; `truth` columns: pattern,
    group_id (optional: each row its own case when absent), entity_type, entity_id."""
    if "group_id" not in truth.column_names:
        truth = truth.append_column("group_id", pa.array([f"case-{i}" for i in range(truth.num_rows)]))
    per_pattern = query("""
        WITH cases AS (SELECT pattern, count(DISTINCT group_id) AS cases FROM truth GROUP BY pattern),
        ranked AS (
            SELECT a.alert_id, a.pattern, row_number() OVER (PARTITION BY a.pattern ORDER BY a.score DESC, a.alert_id) AS rank
            FROM alerts a
        ), top AS (
            SELECT r.* FROM ranked r JOIN cases c USING (pattern) WHERE r.rank <= ceil($k * c.cases)
        ), hits AS (
            SELECT DISTINCT t.pattern, t.alert_id, tr.group_id
            FROM top t JOIN ae USING (alert_id)
            JOIN truth tr ON tr.pattern = t.pattern AND tr.entity_type = ae.entity_type AND tr.entity_id = ae.entity_id
        ), n_top AS (SELECT pattern, count(*) AS alerts FROM top GROUP BY pattern
        ), n_hit AS (SELECT pattern, count(DISTINCT group_id) AS found, count(DISTINCT alert_id) AS good
                     FROM hits GROUP BY pattern)
        SELECT c.pattern, c.cases, ceil($k * c.cases)::BIGINT AS k, coalesce(t.alerts, 0) AS alerts,
               coalesce(h.found, 0) AS found, coalesce(h.found, 0) / c.cases AS recall,
               CASE WHEN coalesce(t.alerts, 0) = 0 THEN 0 ELSE coalesce(h.good, 0) / t.alerts END AS precision_at_k
        FROM cases c LEFT JOIN n_top t USING (pattern) LEFT JOIN n_hit h USING (pattern) ORDER BY c.pattern
    """, {"k": k_factor}, alerts=alerts, ae=alert_entities, truth=truth).cast(EVAL)
    known = {(t, i) for t, i in zip(truth["entity_type"].to_pylist(), truth["entity_id"].to_pylist())}
    ranking = [(t, i) for t, i in zip(risk["entity_type"].to_pylist(), risk["entity_id"].to_pylist())]
    k = len(known)
    hits, precisions = 0, []
    for rank, key in enumerate(ranking, start=1):
        if key in known:
            hits += 1
            precisions.append(hits / rank)
    top_hits = sum(1 for key in ranking[:k] if key in known)
    return {"patterns": per_pattern.to_pylist(),
            "entity_risk": {"known": k, "precision_at_k": top_hits / k if k else 0.0,
                            "average_precision": sum(precisions) / k if k else 0.0,
                            "found": hits}}
