"""What the faces show about one alert, one entity or one case, across runs: a run's results
(`runs.results`), the alert history (`runs.history`) and the cases (`cases.store`) together.

Patients are counted, not named: evidence lines number them within an alert (`patient 1`, …)
and keep the claim ids, by which an investigator finds the claim in the insurer's own system.
"""
from __future__ import annotations

from contract.errors import NotFound, NotReady, Unreadable
from contract.vocab import PATIENT_PATTERNS
from runs import history, results
from runs.store import DAMAGED, Store

from .store import CaseStore

EVIDENCE_COLUMNS = ("item", "claim_id", "service_date", "provider_id", "prescriber_id", "centre_id", "patient",
                    "service_code", "amount", "quantity", "note")


def figure(x: float | None, unit: str, digits: int = 2) -> str:
    """A statistic's value (`runs.results.peer_distribution`: the subject's, the peers' median or
    90th percentile) as the faces print it: with `%` when its unit is a percentage (`% of its
    patients`: `48.61%`), so that a peer median reads as the share it is, like the value beside
    it; "" for None."""
    return "" if x is None else f"{x:,.{digits}f}" + ("%" if unit.startswith("%") else "")


def unit_after(unit: str) -> str:
    """What follows a value printed by `figure`: the unit, less its `%` (`of its patients`)."""
    return unit[1:].strip() if unit.startswith("%") else unit


def numbered(rows: list[dict]) -> list[dict]:
    """Evidence rows (`runs.results.evidence`) as `EVIDENCE_COLUMNS`, their patients numbered in
    order of first appearance (`patient 1`, …) instead of named."""
    number: dict[str, int] = {}
    out = []
    for r in rows:
        pid = r["patient_id"]
        if pid is not None:
            number.setdefault(pid, len(number) + 1)
        out.append({**{k: r.get(k) for k in EVIDENCE_COLUMNS}, "service_date": str(r["service_date"]),
                    "patient": f"patient {number[pid]}" if pid is not None else None})
    return out


def evidence(con, alert_id: str) -> list[dict]:
    """Every claim line behind an alert, its patients numbered (`numbered`)."""
    return numbered(results.evidence(con, alert_id))


def alert_marks(store: Store, alert_id: str) -> dict:
    """An alert's first and last current runs and its case: first_seen_run, last_seen_run,
    case_id, case_status (None when never current, or in no case)."""
    seen = history.seen(store, [alert_id]).get(alert_id) or {}
    case = CaseStore(store).case_of_alert(alert_id) or {}
    return {"first_seen_run": seen.get("first_run"), "last_seen_run": seen.get("last_run"),
            "case_id": case.get("case_id"), "case_status": case.get("status")}


def entity_extras(store: Store, entity_type: str, entity_id: str, run_id: str | None = None) -> dict:
    """What the case work adds to an entity: its billing profile against its peers' medians
    (providers; None otherwise or when it billed nothing) in a run (the current one by default),
    the cases naming it, and its risk in every run that was current."""
    profile = None
    if entity_type == "provider":
        with store.reading(run_id) as (_, con):
            profile = results.profile(con, entity_id)
    return {"profile": profile, "cases": CaseStore(store).cases_of(entity_type, entity_id),
            "risk_history": risk_history(store, entity_type, entity_id)}


def alert_content(con, alert_id: str) -> dict:
    """What every face shows of one alert of an open run (`con`): alert_id, pattern, score, rank,
    summary, evidence (parsed, its patients numbered as in the evidence lines: `patient 3`),
    `entities` (all but patients: entity_type, entity_id, role, standing, excess_euros in euros), `patients` (the distinct patients of its evidence lines),
    `patients_sampled` (the few it names as entities), `peers` (its pattern's statistic against
    peers, `runs.results.peer_distribution`, or None) and `evidence_lines` (how many claim lines
    are behind it). Names no patient: an alert read is audited as the alert's, not as a read of
    its patients, so the patients it names are counted, and a patient-centred pattern's subjects
    in `peers.subject_units` read `patient` (as in the case file). The accused of a
    doctor-shopping alert is named by a case opened on it, whose reads are audited as that
    patient's. `con` may also be a `runs.results.RunView` (the API's view of the current run):
    the same content, read from memory. Raises `NotFound`."""
    if isinstance(con, results.RunView):
        lines, patients = con.evidence_patients(alert_id)
        return _alert_content(con.alert(alert_id), con.peer_distribution(alert_id), lines, patients)
    a = results.alert(con, alert_id)
    evidence = results.evidence(con, alert_id)
    patients = list(dict.fromkeys(r["patient_id"] for r in evidence if r["patient_id"] is not None))
    return _alert_content(a, results.peer_distribution(con, alert_id), len(evidence), patients)


def _alert_content(a: dict, peers: dict | None, lines: int, patients: list[str]) -> dict:
    """`alert_content` from an alert (`runs.results.alert`), its peer distribution, its evidence
    lines counted and the distinct patients of those lines in the order of their first line."""
    if peers and a["pattern"] in PATIENT_PATTERNS:
        peers = {**peers, "subject_units": ["patient"] * len(peers["subject_units"])}
    number: dict[str, str] = {}            # as `numbered` numbers them in the evidence lines
    for pid in patients + [e["entity_id"] for e in a["entities"] if e["entity_type"] == "patient"]:
        if pid is not None and pid not in number:
            number[pid] = f"patient {len(number) + 1}"
    a["evidence"] = _unnamed(a["evidence"], number)
    a["patients"] = len(patients)
    a["patients_sampled"] = sum(e["entity_type"] == "patient" for e in a["entities"])
    a["entities"] = [e for e in a["entities"] if e["entity_type"] != "patient"]
    return {**a, "peers": peers, "evidence_lines": lines}


def _unnamed(value, number: dict[str, str]):
    """An alert's evidence (parsed JSON) with each patient id, bare or as a node id
    (`patient:ID`), replaced by its number (`patient 3`, as in the evidence lines)."""
    if isinstance(value, dict):
        return {k: _unnamed(v, number) for k, v in value.items()}
    if isinstance(value, list):
        return [_unnamed(v, number) for v in value]
    if isinstance(value, str):
        if value in number:
            return number[value]
        if value.startswith("patient:"):
            return number.get(value[len("patient:"):], "patient")
    return value


def alert_view(store: Store, alert_id: str, run_id: str | None = None) -> dict:
    """One alert of a run (the current one by default), as `alert_content` shows it, with
    run_id, its first and last current runs and its case (`alert_marks`). Raises `NotFound`,
    `NoPublishedRun`, `NotReady` (`Unreadable` when the run's results file cannot be read)."""
    asked = run_id
    with store.reading(run_id) as (run_id, con):
        try:
            a = alert_content(con, alert_id)
        except NotFound as e:
            raise NotFound(e.kind, e.key, e.detail, run_id=asked) from None     # the run asked for, if any
    return {"run_id": run_id, **a, **alert_marks(store, alert_id)}


def entity_view(store: Store, entity_type: str, entity_id: str, run_id: str | None = None) -> dict:
    """One entity in a run (the current one by default): its attributes, risk, alerts,
    communities, centrality, and `entity_extras` (billing profile against peer medians, cases,
    risk across runs). Raises `NotFound`, `NoPublishedRun`, `NotReady` (`Unreadable` when the
    run's results file cannot be read)."""
    asked = run_id
    with store.reading(run_id) as (run_id, con):
        try:
            found = results.entity(con, entity_type, entity_id)
        except NotFound as e:
            raise NotFound(e.kind, e.key, e.detail, run_id=asked) from None     # the run asked for, if any
    return {"run_id": run_id, **found, **entity_extras(store, entity_type, entity_id, run_id)}


def _finished(store: Store, since: str | None = None) -> list[dict]:
    """Records of the runs with results (succeeded or held), newest first, started after `since`."""
    return [r for r in store.list_runs() if r["status"] in ("succeeded", "held")
            and (since is None or r["started_at"] >= since) and store.results_path(r["run_id"]).is_file()]


def risk_history(store: Store, entity_type: str, entity_id: str) -> list[dict]:
    """The entity's risk in each run that was made current, newest first: run_id, started_at,
    current, score (None: no risk), alerts naming it. A run whose results cannot be read has
    score and alerts None and `unreadable`: why (`unreadable_run`), so one damaged old run never
    hides the others."""
    out = []
    for r in _finished(store):
        if not r.get("promoted_at"):
            continue
        try:
            with store.reading(r["run_id"]) as (_, con):
                risk = con.execute("SELECT score FROM entity_risk WHERE entity_type = $t AND entity_id = $i",
                                   {"t": entity_type, "i": entity_id}).fetchall()
                n = con.execute("SELECT count(*) FROM alert_entities WHERE entity_type = $t AND entity_id = $i",
                                {"t": entity_type, "i": entity_id}).fetchall()[0][0]
        except NotReady as e:
            why = unreadable_run(r["run_id"], r["current"], e)["why"]
            out.append({"run_id": r["run_id"], "started_at": r["started_at"], "current": r["current"],
                        "score": None, "alerts": None, "unreadable": why})
            continue
        out.append({"run_id": r["run_id"], "started_at": r["started_at"], "current": r["current"],
                    "score": risk[0][0] if risk else None, "alerts": n})
    return out


def _said(v) -> str:
    return " ".join(map(str, v)) if isinstance(v, list) else str(v)


def event_said(event: dict) -> str:
    """What a case event changed, in words, as `cases show` and the case file say it (`event`: a
    row of a case's `history`: action, detail). A change of one field ({"from", "to"}) is said as
    its new value with the old one after (`status in_review (was open)`), never `from=None`: a
    first assignee or qualification has no `was`, an unassignment is `to nobody`; other details
    are `key=value` pairs without the ones not given (a decision's absent deadline), a decision's
    changed amount as `overpayment_notified=50.0 (was not given)`.

        >>> event_said({"action": "assigned", "detail": {"from": None, "to": "bob"}})
        'assigned to bob'
        >>> event_said({"action": "assigned", "detail": {"from": "bob", "to": None}})
        'assigned to nobody (was bob)'
        >>> event_said({"action": "decided", "detail": {"decision_id": 1, "deadline": None}})
        'decided decision_id=1'
    """
    action, d = event["action"], event["detail"]
    if set(d) == {"from", "to"}:
        to = d["to"] if d["to"] is not None else "nobody" if action == "assigned" else "none"
        return (f"{action} {'to ' if action == 'assigned' else ''}{_said(to)}"
                + ("" if d["from"] is None else f" (was {_said(d['from'])})"))
    parts = []
    for k, v in sorted(d.items()):
        if isinstance(v, dict) and set(v) == {"from", "to"}:
            parts.append(f"{k}={_said(v['to'])} (was {'not given' if v['from'] is None else _said(v['from'])})")
        elif v is not None:
            parts.append(f"{k}={_said(v)}")
    return " ".join([action] + ([", ".join(parts)] if parts else []))


def run_label(run: dict) -> str:
    """How a run measuring a case's impact is named to a reader: `RUN (current)`, `RUN (held by
    its checks, never current)` — a held run may have scanned other data (its checks failed) —, or
    `RUN (removed by retention; its measures kept)` (a held one says so first) or `RUN`. `run`: an `impact_history` entry
    (run_id, current, status, removed)."""
    if run["current"]:
        return f"{run['run_id']} (current)"
    if run.get("removed"):
        held = "held by its checks, never current; " if run.get("status") == "held" else ""
        return f"{run['run_id']} ({held}removed by retention; its measures kept)"
    if run.get("status") == "held":
        return f"{run['run_id']} (held by its checks, never current)"
    return run["run_id"]


def impact_history(store: Store, case: dict, unreadable: list | None = None) -> list[dict]:
    """The impact measured for a case by every run with results started after its first
    decision was recorded, newest first: run_id, started_at, current, status, and `measures` (one
    per pattern: `graph.impact.IMPACT` fields) — runs retention removed included, from what it
    kept of them (`CaseStore.kept_impact`, `removed` true). A run whose results cannot be read is
    skipped and, given `unreadable`, appended to it (`unreadable_run`); otherwise it raises
    `NotReady`."""
    if not case["decisions"]:
        return []
    since = min(d["at"] for d in case["decisions"])
    out = []
    for r in _finished(store, since):
        try:
            con = store.connect(r["run_id"])
            try:
                rows = results.impact(con, case["case_id"])
            finally:
                con.close()
        except (NotReady, *DAMAGED) as e:
            if unreadable is None:
                raise
            unreadable.append(unreadable_run(r["run_id"], r["current"], e))
            continue
        if rows:
            out.append({"run_id": r["run_id"], "started_at": r["started_at"], "current": r["current"],
                        "status": r["status"], "measures": rows})
    out += [k for k in CaseStore(store).kept_impact(case["case_id"])      # a run whose removal failed is read above
            if k["started_at"] >= since and not store.results_path(k["run_id"]).is_file()]
    return sorted(out, key=lambda r: (r["started_at"], r["run_id"]), reverse=True)


def named_patients(case: dict) -> int:
    """How many patients a case (`CaseStore.get`) was opened on by name (`--entity patient:ID`),
    whether or not an alert names them too."""
    return sum(e["entity_type"] == "patient" and "named" in e["roles"].split(", ") for e in case["entities"])


def patients_said(case: dict) -> str:
    """A case's patients in words, for what it was opened on: with alerts, the distinct patients
    of their evidence lines (`?`: not counted) and those the alerts name; the patients named when it
    was opened; "no patient" when it has neither."""
    named = named_patients(case)
    by_name = f"{named} patient(s) named when it was opened"
    if not case["alerts"]:
        return by_name if named else "no patient"
    counted = "?" if case["patients"] is None else case["patients"]
    return f"{counted} patient(s) in the evidence lines, {named_by_alerts(case)} named by the alerts" + (
        f", {by_name}" if named else "")


def named_by_alerts(case: dict) -> int:
    """How many patients a case's alerts name (`patients_sampled` but those only named when it
    was opened)."""
    return case["patients_sampled"] - sum(e["entity_type"] == "patient" and e["roles"] == "named"
                                          for e in case["entities"])


def unreadable_run(run_id: str, current: bool, e: Exception) -> dict:
    """A run whose results a case view could not read: run_id, current, why (no server path)."""
    why = e.why if isinstance(e, Unreadable) else "its results file is missing, cut or overwritten" \
        if isinstance(e, NotReady) else f"its results file is damaged ({type(e).__name__})"
    return {"run_id": run_id, "current": current, "why": why}


def case_view(store: Store, case_id: str) -> dict:
    """A case (`CaseStore.get`) with, for each alert, its first and last current runs and its
    score in the current run (None when absent, or unknown when that run cannot be read), its
    impact across runs, and `unreadable`: the runs whose results could not be read for it
    (`unreadable_run`: run_id, current, why), the current one first — the case itself, kept
    apart from any run, is shown all the same. Raises `NotFound`."""
    case = CaseStore(store).get(case_id)
    seen = history.seen(store, [a["alert_id"] for a in case["alerts"]])
    now, unreadable = {}, []
    current = store.current()
    if current is not None and case["alerts"]:
        try:
            con = store.connect(current)
            try:
                now = dict(con.execute("SELECT alert_id, score FROM alerts WHERE alert_id IN (SELECT unnest($ids))",
                                       {"ids": [a["alert_id"] for a in case["alerts"]]}).fetchall())
            finally:
                con.close()
        except (NotReady, *DAMAGED) as e:
            unreadable.append(unreadable_run(current, True, e))
    for a in case["alerts"]:
        h = seen.get(a["alert_id"])
        a.update(first_seen_run=h and h["first_run"], last_seen_run=h and h["last_run"],
                 current_score=now.get(a["alert_id"]))
    case["impact"] = impact_history(store, case, unreadable)
    case["unreadable"] = list({u["run_id"]: u for u in unreadable}.values())
    return case
