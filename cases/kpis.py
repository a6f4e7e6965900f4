"""The control service's indicators from its cases: what the insurers report each year (cases
opened, decisions, amounts notified and recovered; the Assurance Maladie's and the INAMI's
annual fraud reports count these).

- cases by status, and by assignee and status (now);
- cases opened per year;
- time to decision per year of the first decision: days from a case's opening to its first
  decision's date (median and mean, both in days to one decimal; a decision dated before the case
  was opened counts 0);
- per year of decision, action and profession (the kinds of the providers the case is about —
  victims aside — joined by `+`; a case about no provider is filed under the plural of what it is
  about: `patients` for a doctor shopper or a mega consumer, `legal entities`, `persons`,
  `centres`): decisions, cases, and the amounts in euros (estimated harm, overpayment notified,
  recovered; None — "not given" — when no decision of the row gave that amount, not 0).

`kpis()` gives them as one JSON-able dict; `rows()` as the long table of the CSV export
(year, indicator, status, assignee, action, profession, value).
"""
from __future__ import annotations

import statistics
from datetime import date

from runs.store import Store

from .store import AMOUNTS, NOT_VICTIM, CaseStore

KPI_COLUMNS = ("year", "indicator", "status", "assignee", "action", "profession", "value")
# what a case about no provider of a known kind is filed under (SQL over case_entities e)
PLURAL = ("CASE e.entity_type WHEN 'patient' THEN 'patients' WHEN 'provider' THEN 'providers' "
          "WHEN 'legal_entity' THEN 'legal entities' "
          "WHEN 'person' THEN 'persons' WHEN 'centre' THEN 'centres' ELSE e.entity_type END")


def kpis(store: Store, year: int | None = None) -> dict:
    """The indicators (see the module docstring), for one year (of opening, of first decision,
    of decision) or all."""
    con = CaseStore(store)._connect()
    try:
        cases = [dict(r) for r in con.execute(f"""
            SELECT c.case_id, c.status, coalesce(c.assignee, '') AS assignee, coalesce(c.opened_on, substr(c.opened_at, 1, 10)) AS opened_on,
                   coalesce((SELECT group_concat(kind, '+') FROM (SELECT DISTINCT kind FROM case_entities e
                             WHERE e.case_id = c.case_id AND e.entity_type = 'provider' AND kind IS NOT NULL
                             AND {NOT_VICTIM}
                             ORDER BY kind)),
                            (SELECT group_concat(what, '+') FROM (SELECT DISTINCT {PLURAL} AS what FROM case_entities e
                             WHERE e.case_id = c.case_id AND {NOT_VICTIM} ORDER BY what)), 'none') AS profession,
                   (SELECT min(decided_on) FROM case_decisions d WHERE d.case_id = c.case_id) AS first_decided_on
            FROM cases c ORDER BY c.seq""")]
        decisions = [dict(r) for r in con.execute(
            "SELECT case_id, action, label, decided_on, estimated_harm, overpayment_notified, recovered "
            "FROM case_decisions ORDER BY decided_on, decision_id")]
    finally:
        con.close()
    profession = {c["case_id"]: c["profession"] for c in cases}
    by_status: dict[str, int] = {}
    by_assignee: dict[tuple, int] = {}
    opened: dict[int, int] = {}
    waits: dict[int, list[int]] = {}
    for c in cases:
        y = int(c["opened_on"][:4])
        if year is None or y == year:
            by_status[c["status"]] = by_status.get(c["status"], 0) + 1
            by_assignee[(c["assignee"], c["status"])] = by_assignee.get((c["assignee"], c["status"]), 0) + 1
            opened[y] = opened.get(y, 0) + 1
        if c["first_decided_on"]:
            dy = int(c["first_decided_on"][:4])
            if year is None or dy == year:
                days = (date.fromisoformat(c["first_decided_on"]) - date.fromisoformat(c["opened_on"])).days
                waits.setdefault(dy, []).append(max(days, 0))
    amounts: dict[tuple, dict] = {}
    for d in decisions:
        y = int(d["decided_on"][:4])
        if year is not None and y != year:
            continue
        key = (y, d["action"], profession[d["case_id"]])
        row = amounts.setdefault(key, {"year": y, "action": d["action"], "label": d["label"],
                                       "profession": key[2], "decisions": 0, "cases": set(),
                                       **{a: None for a in AMOUNTS}})
        row["decisions"] += 1
        row["cases"].add(d["case_id"])
        for a in AMOUNTS:       # None while no decision of the row gave the amount: not given is not €0
            if d[a] is not None:
                row[a] = round((row[a] or 0.0) + d[a], 2)
    return {
        "year": year,
        "cases_by_status": [{"status": s, "cases": n} for s, n in sorted(by_status.items())],
        "cases_by_assignee": [{"assignee": a or None, "status": s, "cases": n}
                              for (a, s), n in sorted(by_assignee.items())],
        "cases_opened": [{"year": y, "cases": n} for y, n in sorted(opened.items())],
        "time_to_decision": [{"year": y, "cases": len(w), "median_days": round(float(statistics.median(w)), 1),
                              "mean_days": round(statistics.fmean(w), 1)} for y, w in sorted(waits.items())],
        "amounts": [{**r, "cases": len(r["cases"])} for _, r in sorted(amounts.items())],
    }


def rows(report: dict) -> list[dict]:
    """The indicators as one long table (`KPI_COLUMNS`), for a spreadsheet's pivot table."""
    out = []

    def add(indicator, value, **keys):
        out.append({**dict.fromkeys(KPI_COLUMNS), **keys, "indicator": indicator, "value": value})
    for r in report["cases_by_status"]:
        add("cases_by_status", r["cases"], year=report["year"], status=r["status"])
    for r in report["cases_by_assignee"]:
        add("cases_by_assignee", r["cases"], year=report["year"], status=r["status"], assignee=r["assignee"] or "(unassigned)")
    for r in report["cases_opened"]:
        add("cases_opened", r["cases"], year=r["year"])
    for r in report["time_to_decision"]:
        add("cases_decided", r["cases"], year=r["year"])
        add("median_days_to_decision", r["median_days"], year=r["year"])
        add("mean_days_to_decision", r["mean_days"], year=r["year"])
    for r in report["amounts"]:
        keys = {"year": r["year"], "action": r["action"], "profession": r["profession"]}
        add("decisions", r["decisions"], **keys)
        add("cases_with_decision", r["cases"], **keys)
        for a in AMOUNTS:
            add(a, r[a], **keys)
    return out
