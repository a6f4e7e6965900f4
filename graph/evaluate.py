"""Scoring a run against known cases (planted truth, or an analyst's confirmed frauds).

The definitions are those of the independent yardstick `../shared/worlds/score.py`. Per pattern,
with its planted groups (`group_id`; each truth row its own group when absent):

- a group is **found** when one alert of the pattern names at least half of the group's entities;
- **recall**: found groups / groups;
- **K** = max(5, `k_factor` × groups); **precision@K**: the share of the pattern's top-K alerts (by
  score; all of them if fewer) that name any planted entity, of any pattern (a true lead, as the
  yardstick counts it);
- **accused precision@K**: the share of them whose *accused* entity (standing `accused`) is
  planted, of any pattern — stricter: a doctor-shopping alert on an honest patient is a false
  lead even when the pharmacies it names as victims were planted for `pharmacy_collusion` (a
  lead to another planted fraud through its accused is still a lead for an analyst);
- **look-alikes in the top K**: those top-K alerts naming an honest look-alike of the pattern
  (a world's `lookalikes.csv`: pattern, entity_type, entity_id); **false leads**: top-K alerts
  naming no planted entity (what a world without a look-alike list can tell).

A pattern the run did not judge (`not_judged`: `indicator_outlier` in a run without campaigns)
is listed with `judged` false and no figures: a missing programme is not a detection failure.

For entity risk, with K = the number of known entities: precision@K of the riskiest entities, and
average precision over the whole ranking.
"""
from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

EVAL = ("pattern", "judged", "cases", "k", "alerts", "found", "recall", "precision_at_k", "accused_precision_at_k",
        "lookalikes_in_top_k", "false_leads")


def evaluate(alerts: pa.Table, alert_entities: pa.Table, risk: pa.Table, truth: pa.Table,
             k_factor: float = 2.0, lookalikes: pa.Table | None = None,
             not_judged: frozenset[str] = frozenset()) -> dict:
    """Returns {"patterns": [one dict per planted pattern, keys `EVAL`], "entity_risk": {known,
    precision_at_k, average_precision, found}}. The patterns in `not_judged` get `judged` false
    and None for k, alerts, found, recall, precision_at_k, accused_precision_at_k, lookalikes_in_top_k
    and false_leads.

    `alerts`: alert_id, pattern, score; `alert_entities`: alert_id, entity_type, entity_id, standing;
    `risk`: entity_type, entity_id, riskiest first; `truth`: pattern, [group_id,] entity_type,
    entity_id; `lookalikes`: pattern, entity_type, entity_id (optional).
    """
    cols = lambda t, *names: zip(*(t[n].to_pylist() for n in names))
    groups: dict[tuple, set] = defaultdict(set)
    has_group = "group_id" in truth.column_names
    for i, row in enumerate(cols(truth, "pattern", "entity_type", "entity_id",
                                 *(("group_id",) if has_group else ()))):
        pattern, etype, eid = row[:3]
        groups[(pattern, row[3] if has_group else f"case-{i}")].add((etype, eid))
    planted = set().union(*groups.values()) if groups else set()
    looks: dict[str, set] = defaultdict(set)
    if lookalikes is not None:
        for pattern, etype, eid in cols(lookalikes, "pattern", "entity_type", "entity_id"):
            looks[pattern].add((etype, eid))
    members: dict[str, set] = defaultdict(set)
    accused: dict[str, set] = defaultdict(set)     # what makes an alert a lead by its accused
    for aid, etype, eid, standing in cols(alert_entities, "alert_id", "entity_type", "entity_id", "standing"):
        members[aid].add((etype, eid))
        if standing == "accused":
            accused[aid].add((etype, eid))
    ranked: dict[str, list] = defaultdict(list)
    for aid, pattern, score in cols(alerts, "alert_id", "pattern", "score"):
        ranked[pattern].append((-float(score or 0), aid))
    rows = []
    for pattern in sorted({p for p, _ in groups}):
        cases = [ents for (p, _), ents in groups.items() if p == pattern]
        if pattern in not_judged:
            rows.append({"pattern": pattern, "judged": False, "cases": len(cases),
                         **{key: None for key in EVAL[3:]}})
            continue
        order = [aid for _, aid in sorted(ranked.get(pattern, []))]
        found = sum(1 for ents in cases if any(2 * len(members[a] & ents) >= len(ents) for a in order))
        k = max(5, int(round(k_factor * len(cases))))
        top = order[:k]
        leads = sum(1 for a in top if members[a] & planted)
        strict = sum(1 for a in top if accused[a] & planted)
        rows.append({"pattern": pattern, "judged": True, "cases": len(cases), "k": k, "alerts": len(top), "found": found,
                     "recall": found / len(cases), "precision_at_k": leads / len(top) if top else 0.0,
                     "accused_precision_at_k": strict / len(top) if top else 0.0,
                     "lookalikes_in_top_k": sum(1 for a in top if members[a] & looks[pattern]),
                     "false_leads": len(top) - leads})
    ranking = list(cols(risk, "entity_type", "entity_id"))
    hits, precisions = 0, []
    for rank, key in enumerate(ranking, start=1):
        if key in planted:
            hits += 1
            precisions.append(hits / rank)
    known = len(planted)
    top_hits = sum(1 for key in ranking[:known] if key in planted)
    return {"patterns": rows,
            "entity_risk": {"known": known, "precision_at_k": top_hits / known if known else 0.0,
                            "average_precision": sum(precisions) / known if known else 0.0, "found": hits}}
