"""What a run changes compared with the previous published run.

- **new** alerts (an alert id the previous run did not have), **escalated** ones (the same id,
  its score up by more than `escalation`, 20 % by default) and **resolved** ones (gone). An alert
  whose facts are the same — same id, score not materially up — is not reported again.
- **new** and **dissolved** communities, by their stable ids;
- the entities whose risk **rose most** (by at least `min_rise` points).

Both runs' results are finished, immutable DuckDB files; the comparison runs in DuckDB with the
previous file attached read-only.
"""
from __future__ import annotations

from pathlib import Path

from .store import open_results


def compare(new_results: Path, previous_results: Path | None, previous_run: str | None,
            escalation: float = 0.2, min_rise: float = 10.0, top: int = 20) -> dict:
    con = open_results(new_results)
    try:
        if previous_results is None:
            rows = con.execute("SELECT alert_id, pattern, score, summary FROM alerts ORDER BY score DESC, alert_id").fetchall()
            comms = [c for (c,) in con.execute("SELECT DISTINCT community_id FROM communities ORDER BY 1").fetchall()]
            return {"previous_run": None, "new": [_alert(r) for r in rows], "escalated": [], "resolved": [],
                    "new_communities": comms, "dissolved_communities": [], "risk_risers": [],
                    "summary": _summary(len(rows), 0, 0, len(comms), 0)}
        con.execute(f"ATTACH '{previous_results}' AS prev (READ_ONLY)")
        new = con.execute("""SELECT a.alert_id, a.pattern, a.score, a.summary FROM alerts a
                             WHERE a.alert_id NOT IN (SELECT alert_id FROM prev.alerts)
                             ORDER BY a.pattern, a.score DESC, a.alert_id""").fetchall()
        escalated = con.execute("""SELECT a.alert_id, a.pattern, a.score, a.summary, p.score
                                   FROM alerts a JOIN prev.alerts p USING (alert_id)
                                   WHERE a.score > p.score * (1 + $e) ORDER BY a.pattern, a.score DESC, a.alert_id""",
                                {"e": escalation}).fetchall()
        resolved = con.execute("""SELECT p.alert_id, p.pattern, p.score, p.summary FROM prev.alerts p
                                  WHERE p.alert_id NOT IN (SELECT alert_id FROM alerts)
                                  ORDER BY p.pattern, p.score DESC, p.alert_id""").fetchall()
        new_c = [c for (c,) in con.execute("""SELECT DISTINCT community_id FROM communities EXCEPT
                                              SELECT DISTINCT community_id FROM prev.communities ORDER BY 1""").fetchall()]
        gone_c = [c for (c,) in con.execute("""SELECT DISTINCT community_id FROM prev.communities EXCEPT
                                               SELECT DISTINCT community_id FROM communities ORDER BY 1""").fetchall()]
        risers = con.execute("""
            SELECT r.entity_type, r.entity_id, coalesce(p.score, 0) AS before, r.score AS after,
                   r.score - coalesce(p.score, 0) AS rise, r.reasons
            FROM entity_risk r LEFT JOIN prev.entity_risk p USING (entity_type, entity_id)
            WHERE r.score - coalesce(p.score, 0) >= $min
            ORDER BY rise DESC, r.entity_type, r.entity_id LIMIT $top""", {"min": min_rise, "top": top}).fetchall()
    finally:
        con.close()
    return {"previous_run": previous_run,
            "new": [_alert(r) for r in new],
            "escalated": [{**_alert(r), "previous_score": r[4]} for r in escalated],
            "resolved": [_alert(r) for r in resolved],
            "new_communities": new_c, "dissolved_communities": gone_c,
            "risk_risers": [dict(zip(("entity_type", "entity_id", "before", "after", "rise", "reasons"), r))
                            for r in risers],
            "summary": _summary(len(new), len(escalated), len(resolved), len(new_c), len(gone_c))}


def _alert(r) -> dict:
    return {"alert_id": r[0], "pattern": r[1], "score": r[2], "summary": r[3]}


def _summary(new, escalated, resolved, new_c, gone_c) -> str:
    return (f"{new} new, {escalated} escalated, {resolved} resolved alert(s); "
            f"{new_c} new, {gone_c} dissolved communit{'y' if gone_c == 1 else 'ies'}")
