"""What a run changes compared with the previous current run and the store's alert history.

Alerts of the run, against the run current before it (`previous`) and every run made current
before (`runs.history`: first and last current run of each alert):

- **new**: never in a current run before;
- **returning**: in an earlier current run, absent from the previous one, back now;
- **escalated**: in the previous run, its score up by more than `escalation` (20 %);
- **resolved**: in the previous run, gone now — but an `indicator_outlier` alert of a control
  campaign the run did not judge (not among its `campaigns`) is **not judged**, listed apart: its
  campaign was not run, so nothing is known of it.

An alert whose facts did not change — in the previous run, score not materially up — is not
reported again. An alert an analyst closed the question on (its case dismissed or closed: an
`alert_reviews` row) is reported only on **new material risk**: its score above the reviewed
score by more than `realert_margin` (50 %), or a pattern naming its entities (patients aside)
that did not when it was reviewed. Then it is **re-alerted** (with why); otherwise, where it would
have been new, returning or escalated, it is **suppressed** (with why). Every reported alert
carries its first and last current runs before this one, and its case when it has a reviewed one.

Also: **new** and **dissolved** communities, by their stable ids; the entities whose risk **rose
most** (by at least `min_rise` points) — patients counted (`patients_risen`), never named: the
report is a bulk output read without a per-patient audit (`fraudnet changes`, the API, the webhook).

A pure function of tables read once by the pipeline; lists are in the alerts' one order
(`runs.results`: rank, pattern, id).
"""
from __future__ import annotations

import pyarrow as pa

from engine import query

from .history import TABLES as HISTORY

_ALERTS = """
WITH pat AS (       -- the patterns naming each alert's entities (patients aside) in this run
    SELECT e.alert_id, list(DISTINCT o.pattern ORDER BY o.pattern) AS patterns
    FROM ae e JOIN ae e2 USING (entity_type, entity_id) JOIN a o ON o.alert_id = e2.alert_id
    WHERE e.entity_type <> 'patient' GROUP BY e.alert_id
), j AS (
    SELECT a.alert_id, a.pattern, a.score, a.summary, a.rank, p.score AS previous_score,
           h.first_run AS first_seen_run, h.last_run AS last_seen_run,
           CASE WHEN p.alert_id IS NULL AND h.alert_id IS NULL THEN 'new'
                WHEN p.alert_id IS NULL THEN 'returning'
                WHEN a.score > p.score * (1 + $escalation) THEN 'escalated' END AS change,
           r.alert_id IS NOT NULL AS reviewed, r.case_id, r.status AS case_status, r.score AS reviewed_score,
           coalesce(pat.patterns, []) AS patterns,
           coalesce(list_filter(pat.patterns, lambda x: NOT list_contains(r.patterns, x)), []) AS gained_patterns
    FROM a LEFT JOIN pa p USING (alert_id) LEFT JOIN h USING (alert_id)
    LEFT JOIN r USING (alert_id) LEFT JOIN pat USING (alert_id)
)
SELECT *, reviewed AND (score > reviewed_score * (1 + $margin) OR array_length(gained_patterns) > 0) AS material
FROM j ORDER BY rank, pattern, alert_id
"""


def compare(new: dict[str, pa.Table], previous: dict[str, pa.Table] | None, previous_run: str | None,
            history: dict[str, pa.Table] | None = None, escalation: float = 0.2, realert_margin: float = 0.5,
            min_rise: float = 10.0, top: int = 20, campaigns: list[str] | None = None) -> dict:
    """The change report of a run.

    `new`, `previous`: {"alerts" (alert_id, pattern, score, rank, summary), "alert_entities"
    (alert_id, entity_type, entity_id; `new` only), "communities" (community_id), "entity_risk"
    (entity_type, entity_id, score, reasons)}; `previous` None for a store's first run.
    `history`: `runs.history.read()`'s alert_history and alert_reviews (None: none yet).
    `escalation`, `realert_margin`: fractions of a score. `campaigns`: the names of the control
    campaigns the run judged (None: every campaign counts as judged).

    Returns previous_run, new, returning, escalated (with previous_score), realerted and
    suppressed (with case_id, case_status, why), resolved, not_judged, new_communities,
    dissolved_communities, risk_risers (no patient), patients_risen (how many patients' risk rose
    by `min_rise` or more) and a one-line summary. Each alert: alert_id, pattern,
    score, summary, first_seen_run and last_seen_run (None when never current before).
    """
    empty = {"alerts": new["alerts"].schema.empty_table(), "communities": new["communities"].schema.empty_table(),
             "entity_risk": new["entity_risk"].schema.empty_table()}
    prev = previous or empty
    hist = history or {}
    t = {"a": new["alerts"], "ae": new["alert_entities"], "pa": prev["alerts"], "c": new["communities"],
         "pc": prev["communities"], "r0": new["entity_risk"], "pr": prev["entity_risk"],
         "h": hist.get("alert_history", HISTORY["alert_history"].empty_table()),
         "r": hist.get("alert_reviews", HISTORY["alert_reviews"].empty_table())}
    rows = query(_ALERTS, {"escalation": escalation, "margin": realert_margin}, **t).to_pylist()
    out: dict[str, list] = {k: [] for k in ("new", "returning", "escalated", "realerted", "suppressed")}
    for row in rows:
        item = {k: row[k] for k in ("alert_id", "pattern", "score", "summary", "first_seen_run", "last_seen_run")}
        if row["change"] == "escalated":
            item["previous_score"] = row["previous_score"]
        if row["reviewed"]:
            item.update(case_id=row["case_id"], case_status=row["case_status"], why=_why(row, realert_margin))
            if row["material"]:
                out["realerted"].append({**item, "patterns": row["patterns"]})
            elif row["change"]:
                out["suppressed"].append({**item, "would_be": row["change"]})
        elif row["change"]:
            out[row["change"]].append(item)
    cols = "a.alert_id, a.pattern, a.score, a.summary"
    gone = query(f"SELECT {cols} FROM pa a ANTI JOIN a b USING (alert_id) ORDER BY a.rank, a.pattern, a.alert_id",
                 **t).to_pylist()
    judged = lambda a: campaigns is None or a["pattern"] != "indicator_outlier" or \
        a["alert_id"].split(":")[1] in campaigns        # indicator_outlier:<campaign>:<unit>
    resolved, not_judged = [a for a in gone if judged(a)], [a for a in gone if not judged(a)]
    new_c = query("SELECT DISTINCT community_id FROM c EXCEPT SELECT DISTINCT community_id FROM pc ORDER BY 1",
                  **t)["community_id"].to_pylist()
    gone_c = query("SELECT DISTINCT community_id FROM pc EXCEPT SELECT DISTINCT community_id FROM c ORDER BY 1",
                   **t)["community_id"].to_pylist()
    rose = """FROM r0 r LEFT JOIN pr p USING (entity_type, entity_id) WHERE r.score - coalesce(p.score, 0) >= $min"""
    risers = [] if previous is None else query(f"""
        SELECT r.entity_type, r.entity_id, coalesce(p.score, 0) AS before, r.score AS after,
               r.score - coalesce(p.score, 0) AS rise, r.reasons
        {rose} AND r.entity_type <> 'patient'
        ORDER BY rise DESC, r.entity_type, r.entity_id LIMIT $top""", {"min": min_rise, "top": top}, **t).to_pylist()
    patients_risen = 0 if previous is None else query(f"SELECT count(*) AS n {rose} AND r.entity_type = 'patient'",
                                                      {"min": min_rise}, **t)["n"][0].as_py()
    counts = {k: len(v) for k, v in out.items()}
    return {"previous_run": previous_run, **out, "resolved": resolved, "not_judged": not_judged,
            "new_communities": new_c, "dissolved_communities": gone_c, "risk_risers": risers,
            "patients_risen": patients_risen,
            "summary": summary(counts["new"], counts["escalated"], len(resolved), len(new_c), len(gone_c),
                               counts["returning"], counts["realerted"], counts["suppressed"], len(not_judged))}


def _why(row: dict, margin: float) -> str:
    """Why a reviewed alert is re-alerted or suppressed, in one sentence."""
    rise = row["score"] / row["reviewed_score"] - 1 if row["reviewed_score"] else float("inf")
    said = (f"case {row['case_id']} was {row['case_status']} at score {row['reviewed_score']:,.2f}; "
            f"now {row['score']:,.2f} ({rise:+.0%}, margin {margin:+.0%})")
    if row["gained_patterns"]:
        return said + f"; its entities now also have {', '.join(row['gained_patterns'])}"
    return said + ("" if row["material"] else "; no new pattern on its entities")


def summary(new: int, escalated: int, resolved: int, new_c: int, gone_c: int,
            returning: int = 0, realerted: int = 0, suppressed: int = 0, not_judged: int = 0) -> str:
    """One line, e.g. `2 new, 1 escalated, 0 resolved alert(s); …`; returning, re-alerted and
    suppressed alerts are named when there are some."""
    extra = "".join(f", {n} {what}" for n, what in ((returning, "returning"), (realerted, "re-alerted"),
                                                     (suppressed, "suppressed"),
                                                     (not_judged, "not judged (campaign not in this scan)")) if n)
    return (f"{new} new, {escalated} escalated, {resolved} resolved alert(s){extra}; "
            f"{new_c} new, {gone_c} dissolved communit{'y' if gone_c == 1 else 'ies'}")
