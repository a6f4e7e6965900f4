"""What a run changes compared with the previous current run.

- **new** alerts (an alert id the previous run did not have), **escalated** ones (the same id,
  its score up by more than `escalation`, 20 % by default) and **resolved** ones (gone). An alert
  whose facts are the same — same id, score not materially up — is not reported again.
- **new** and **dissolved** communities, by their stable ids;
- the entities whose risk **rose most** (by at least `min_rise` points).

A pure function of the two runs' small result tables (alerts, communities, entity risk), read
once by the pipeline; lists are in the alerts' one order (`runs.results`: rank, pattern, id).
"""
from __future__ import annotations

import pyarrow as pa

from engine import query


def compare(new: dict[str, pa.Table], previous: dict[str, pa.Table] | None, previous_run: str | None,
            escalation: float = 0.2, min_rise: float = 10.0, top: int = 20) -> dict:
    """`new`, `previous`: {"alerts" (alert_id, pattern, score, rank, summary), "communities"
    (community_id), "entity_risk" (entity_type, entity_id, score, reasons)}; `previous` None for
    a store's first run. Returns the report: previous_run, new, escalated (with previous_score),
    resolved, new_communities, dissolved_communities, risk_risers, summary."""
    empty = {"alerts": new["alerts"].schema.empty_table(), "communities": new["communities"].schema.empty_table(),
             "entity_risk": new["entity_risk"].schema.empty_table()}
    prev = previous or empty
    t = {"a": new["alerts"], "pa": prev["alerts"], "c": new["communities"], "pc": prev["communities"],
         "r": new["entity_risk"], "pr": prev["entity_risk"]}
    cols = "a.alert_id, a.pattern, a.score, a.summary"
    order = "ORDER BY a.rank, a.pattern, a.alert_id"
    fresh = query(f"SELECT {cols} FROM a ANTI JOIN pa USING (alert_id) {order}", **t).to_pylist()
    escalated = query(f"SELECT {cols}, p.score AS previous_score FROM a JOIN pa p USING (alert_id) "
                      f"WHERE a.score > p.score * (1 + $e) {order}", {"e": escalation}, **t).to_pylist()
    resolved = query(f"SELECT {cols} FROM pa a ANTI JOIN a b USING (alert_id) {order}", **t).to_pylist()
    new_c = query("SELECT DISTINCT community_id FROM c EXCEPT SELECT DISTINCT community_id FROM pc ORDER BY 1",
                  **t)["community_id"].to_pylist()
    gone_c = query("SELECT DISTINCT community_id FROM pc EXCEPT SELECT DISTINCT community_id FROM c ORDER BY 1",
                   **t)["community_id"].to_pylist()
    risers = [] if previous is None else query("""
        SELECT r.entity_type, r.entity_id, coalesce(p.score, 0) AS before, r.score AS after,
               r.score - coalesce(p.score, 0) AS rise, r.reasons
        FROM r LEFT JOIN pr p USING (entity_type, entity_id)
        WHERE r.score - coalesce(p.score, 0) >= $min
        ORDER BY rise DESC, r.entity_type, r.entity_id LIMIT $top""", {"min": min_rise, "top": top}, **t).to_pylist()
    return {"previous_run": previous_run, "new": fresh, "escalated": escalated, "resolved": resolved,
            "new_communities": new_c, "dissolved_communities": gone_c, "risk_risers": risers,
            "summary": summary(len(fresh), len(escalated), len(resolved), len(new_c), len(gone_c))}


def summary(new: int, escalated: int, resolved: int, new_c: int, gone_c: int) -> str:
    return (f"{new} new, {escalated} escalated, {resolved} resolved alert(s); "
            f"{new_c} new, {gone_c} dissolved communit{'y' if gone_c == 1 else 'ies'}")
