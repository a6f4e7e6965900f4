"""The case file: one self-contained HTML page an investigator can read, print or save as PDF
from the browser (inline CSS and SVG, no script, nothing fetched).

In order: the case (status, qualification, assignee, dates), its alerts with their summaries and
figures, **a picture of the network** around it (`cases.drawing.network_svg`), **the peer
comparison** of each alert's statistic (`cases.drawing.peer_chart_svg`), the decisions, the
**impact** measured by the scans since, the **complete evidence** of each alert (every claim
line, with a CSV download carried in the page itself as a `data:` link), the notes and the
history. Patients are counted, never named: evidence numbers them within each alert.

Each alert is read from the current run when it still has it, else from the run the case was
opened on (when the store still keeps it).
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from html import escape

from contract.errors import NotFound, NotReady
from runs import results
from runs.store import Store

from .drawing import network_svg, peer_chart_svg
from .export import csv_bytes
from .store import PATIENT_PATTERNS
from .views import (EVIDENCE_COLUMNS, case_view, event_said, figure, named_by_alerts, named_patients, numbered,
                    patients_said, run_label, unit_after)

MAX_NEIGHBOURS = 15

CSS = """
body { font: 13px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1f2933; margin: 24px auto; max-width: 1000px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; border-bottom: 2px solid #1f2933; margin-top: 28px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.meta { color: #52606d; } .facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 12px 0; }
.warn { border-left: 4px solid #c81e1e; padding: 4px 8px; background: #fdf2f2; }
.facts div b { display: block; font-size: 18px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 12px; }
th, td { border: 1px solid #cbd2d9; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f0f4f8; } td.num { text-align: right; white-space: nowrap; }
.verdict { font-weight: bold; padding: 1px 6px; border-radius: 3px; }
.verdict.changed { background: #c6f7e2; } .verdict.unchanged { background: #fce588; }
.verdict.worse { background: #ffbdbd; } .verdict.not_enough_data, .verdict.no_excess { background: #e4e7eb; }
figure { margin: 8px 0 16px; } figcaption { color: #52606d; font-size: 12px; }
svg { max-width: 100%; height: auto; border: 1px solid #e4e7eb; }
a.download { font-size: 12px; }
@media print {
  body { margin: 0; max-width: none; font-size: 10px; } a.download { display: none; }
  h2 { break-after: avoid; } figure, tr { break-inside: avoid; } thead { display: table-header-group; }
}
"""


def _money(x) -> str:
    return "" if x is None else f"€{x:,.2f}"


def _num(x, digits: int = 2) -> str:
    return "" if x is None else f"{x:,.{digits}f}"


def _table(columns: list[tuple[str, str]], rows: list[dict], numeric: tuple = ()) -> str:
    """An HTML table: `columns` = (key, heading)."""
    head = "".join(f"<th>{escape(h)}</th>" for _, h in columns)
    body = []
    for r in rows:
        cells = []
        for k, _ in columns:
            v = r.get(k)
            cells.append(f'<td class="num">{escape(str(v))}</td>' if k in numeric and v not in (None, "")
                         else f"<td>{escape('' if v is None else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _alert_runs(store: Store, case: dict) -> dict[str, str]:
    """{alert_id: the run to read it from}: the current run when it has the alert, else the run
    the case was opened on when the store keeps it."""
    out = {}
    candidates = [r for r in (store.current(), case["run_id"]) if _readable(store, case, r)]
    for run_id in dict.fromkeys(candidates):
        con = store.connect(run_id)
        try:
            have = {a for (a,) in con.execute("SELECT alert_id FROM alerts WHERE alert_id IN (SELECT unnest($ids))",
                                              {"ids": [a["alert_id"] for a in case["alerts"]]}).fetchall()}
        finally:
            con.close()
        for a in have:
            out.setdefault(a, run_id)
    return out


def _readable(store: Store, case: dict, run_id: str | None) -> bool:
    """Can the case file read this run's results (neither found unreadable by `case_view` nor
    missing, cut or overwritten)?"""
    if not run_id or run_id in {u["run_id"] for u in case["unreadable"]}:
        return False
    try:
        store.readable(run_id)
    except (NotReady, NotFound):       # NotFound: removed by retention
        return False
    return True


def _network(con, case: dict, patient_ids: set[str]) -> tuple[list[dict], list[dict]]:
    """Nodes and links of the case's network in a run: its non-patient entities (core), their
    direct non-patient neighbours (strongest links first, at most `MAX_NEIGHBOURS`), and its
    patients as one counted node linked to each core entity that billed, prescribed for or
    dispensed to them."""
    core = {f"{e['entity_type']}:{e['entity_id']}" for e in case["entities"] if e["entity_type"] != "patient"}
    if not core:
        return [], []
    links = con.execute("""
        SELECT src, dst, rel, n, amount, role, kind FROM edges
        WHERE (src IN (SELECT unnest($core)) OR dst IN (SELECT unnest($core)))
          AND NOT starts_with(src, 'patient:') AND NOT starts_with(dst, 'patient:')
        ORDER BY (src IN (SELECT unnest($core)) AND dst IN (SELECT unnest($core))) DESC,
                 amount DESC NULLS LAST, n DESC NULLS LAST, src, dst, rel""", {"core": sorted(core)}).fetchall()
    keep, out_links = set(core), []
    for src, dst, rel, n, amount, role, kind in links:
        new = {src, dst} - keep
        if new and len(keep) + len(new) > len(core) + MAX_NEIGHBOURS:
            continue
        keep |= new
        label = rel.lower().replace("_", " ") + (f" ({role or kind})" if role or kind else "") + \
            (f", {n:,} lines" if n else "")
        out_links.append({"src": src, "dst": dst, "label": label})
    attrs = {r[0]: r for r in con.execute(
        "SELECT node_id, entity_type, entity_id, kind, name FROM nodes WHERE node_id IN (SELECT unnest($ids))",
        {"ids": sorted(keep)}).fetchall()}
    nodes = []
    for key in sorted(keep):
        _, etype, eid, kind, name = attrs.get(key, (key, key.split(":", 1)[0], key.split(":", 1)[1], None, None))
        nodes.append({"key": key, "entity_type": etype, "kind": kind, "core": key in core,
                      "caption": f"{name} ({eid})" if name else eid})
    if patient_ids:
        per = con.execute("""
            SELECT src, count(DISTINCT dst) AS patients, sum(n) AS lines FROM edges
            WHERE src IN (SELECT unnest($core)) AND dst IN (SELECT unnest($patients))
            GROUP BY src ORDER BY src""", {"core": sorted(core), "patients": [f"patient:{p}" for p in sorted(patient_ids)]}
        ).fetchall()
        nodes.append({"key": "patients", "entity_type": "patients", "kind": None, "core": False,
                      "caption": f"{len(patient_ids):,} patient{'s' if len(patient_ids) > 1 else ''}"})
        out_links += [{"src": src, "dst": "patients", "label": f"{k:,} patient(s), {n:,} lines"} for src, k, n in per]
    return nodes, out_links


def render(store: Store, case_id: str) -> str:
    """The case file of `case_id` as one HTML page (see the module docstring). Raises
    `NotFound`."""
    case = case_view(store, case_id)
    where = _alert_runs(store, case)
    alerts, charts, evidence_parts, patients = [], [], [], set()
    for a in case["alerts"]:
        run_id = where.get(a["alert_id"])
        if run_id is None:
            alerts.append({**a, "read_from": "no run kept has it"})
            continue
        con = store.connect(run_id)
        try:
            full = results.alert(con, a["alert_id"])
            dist = results.peer_distribution(con, a["alert_id"])
            raw = results.evidence(con, a["alert_id"])
        finally:
            con.close()
        lines = numbered(raw)
        patients |= {r["patient_id"] for r in raw if r["patient_id"]} | \
            {e["entity_id"] for e in full["entities"] if e["entity_type"] == "patient"}
        amount = round(sum(line["amount"] or 0 for line in lines), 2)
        alerts.append({**a, "score_now": full["score"], "summary_now": full["summary"], "read_from": run_id,
                       "lines": len(lines), "amount": amount})
        if dist:
            about_patient = a["pattern"] in PATIENT_PATTERNS
            if about_patient:
                dist = {**dist, "subject_units": ["patient"] * len(dist["subject_units"])}
            charts.append((a, dist, "this patient" if about_patient else
                           "this provider" if len(dist["subject_values"]) == 1 else "provider"))
        evidence_parts.append((a, lines))
    net_run = next((r for r in (store.current(), case["run_id"]) if _readable(store, case, r)), None)
    nodes, links = [], []
    if net_run:
        con = store.connect(net_run)
        try:
            nodes, links = _network(con, case, patients)
        finally:
            con.close()
    return _page(case, alerts, charts, evidence_parts, nodes, links, len(patients), net_run)


def _page(case, alerts, charts, evidence_parts, nodes, links, patients, net_run) -> str:
    cid = escape(case["case_id"])
    printed = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    latest = {m["pattern"]: m for m in (case["impact"][0]["measures"] if case["impact"] else [])}
    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Case {cid}: {escape(case['title'])}</title>",
           f"<style>{CSS}</style></head><body>",
           f"<header><h1>Case {cid}: {escape(case['title'])}</h1>",
           f"<p class='meta'>Status <b id='status'>{escape(case['status'])}</b>"
           + (f" · qualification <b>{escape(case['qualification'].replace('_', ' '))}</b>" if case["qualification"] else "")
           + f" · assignee <b>{escape(case['assignee'] or 'nobody')}</b> · opened {escape(case['opened_at'][:10])} by "
             f"{escape(case['opened_by'])} on run {escape(case['run_id'] or '')} · version {case['version']} · "
             f"printed {printed}</p></header>",
           "<section id='summary' class='facts'>",
           f"<div><b>{len(case['alerts'])}</b>alert(s)</div>",
           f"<div><b>{sum(e['entity_type'] == 'provider' for e in case['entities'])}</b>provider(s)</div>",
           f"<div><b>{patients:,}</b>patient(s), counted not named</div>",
           f"<div><b>{_money(sum(a.get('amount', 0) for a in alerts))}</b>in the evidence lines</div>",
           f"<div><b>{len(case['decisions'])}</b>decision(s)</div>",
           "<div><b>" + (", ".join(f"<span class='verdict {escape(m['verdict'])}'>{escape(m['verdict'].replace('_', ' '))}</span>"
                                   for m in latest.values()) or "—") + "</b>latest impact</div>",
           "</section>"]
    for u in case["unreadable"]:
        out.append(f"<p class='warn' id='unreadable'>{'The current run' if u['current'] else 'Run'} "
                   f"{escape(u['run_id'])} cannot be read ({escape(u['why'])}): what this page shows of it is "
                   "missing; the case itself is kept apart and is complete.</p>")

    out.append("<section id='alerts'><h2>Alerts</h2>")
    out.append(_table([("alert_id", "alert"), ("pattern", "pattern"), ("score", "score when opened"),
                       ("score_now", "score now"), ("lines", "evidence lines"), ("read_from", "read from run"),
                       ("first_seen_run", "first seen"), ("last_seen_run", "last seen")],
                      [{**a, "score": _num(a["score"]), "score_now": _num(a.get("score_now"))} for a in alerts],
                      numeric=("score", "score_now", "lines")))
    for a in alerts:
        out.append(f"<p><b>{escape(a['alert_id'])}</b>: {escape(a.get('summary_now') or a['summary'])}</p>")
    out.append("<h3>Entities</h3>")
    out.append(_table([("entity_type", "type"), ("entity_id", "id"), ("name", "name"), ("kind", "kind"),
                       ("specialty", "specialty"), ("postcode", "postcode"), ("roles", "roles"),
                       ("standing", "standing")], case["entities"]))
    opened = "not counted" if case["patients"] is None else f"{case['patients']:,}"
    if case["alerts"]:
        out.append(f"<p>Patients: {patients:,} in the evidence lines below ({opened} when the case was opened), "
                   f"of whom the alerts name {named_by_alerts(case):,}"
                   + (f"; {named_patients(case):,} named when it was opened" if named_patients(case) else "")
                   + ".</p>")
    else:
        out.append(f"<p>Patients: {patients_said(case)}; the case has no alert, so no evidence lines.</p>")
    out.append("</section>")

    out.append("<section id='network'><h2>The network</h2>")
    if nodes:
        out.append(f"<figure>{network_svg(nodes, links)}<figcaption>The case's entities (red ring), their direct "
                   f"links to other providers, centres, legal entities and people (strongest first, at most "
                   f"{MAX_NEIGHBOURS}), and its patients as one counted node; from run {escape(net_run)}."
                   f"</figcaption></figure>")
    else:
        out.append("<p>No run kept by the store has the case's entities.</p>")
    out.append("</section>")

    out.append("<section id='peers'><h2>Compared with peers</h2>")
    for a, dist, label in charts:
        out.append(f"<h3>{escape(a['alert_id'])}</h3><figure>{peer_chart_svg(dist, label)}<figcaption>"
                   f"{escape(dist['statistic'])}: {escape(label)} {figure(dist['subject_value'], dist['unit'])} "
                   f"{escape(unit_after(dist['unit']))}; {dist['peers']:,} peers, median "
                   f"{figure(dist['peer_median'], dist['unit'])}, 90th percentile "
                   f"{figure(dist['peer_p90'], dist['unit'])}; "
                   f"above {dist['share_below']:.0%} of peers.</figcaption></figure>")
    if not charts:
        out.append("<p>No peer comparison for these alerts.</p>")
    out.append("</section>")

    out.append("<section id='decisions'><h2>Decisions</h2>")
    out.append(_table([("decided_on", "date"), ("label", "action"), ("insurer", "insurer"), ("deadline", "deadline"),
                       ("estimated_harm", "estimated harm"), ("overpayment_notified", "overpayment notified"),
                       ("recovered", "recovered"), ("note", "note"), ("who", "recorded by")],
                      [{**d, **{k: _money(d[k]) for k in ("estimated_harm", "overpayment_notified", "recovered")}}
                       for d in case["decisions"]],
                      numeric=("estimated_harm", "overpayment_notified", "recovered"))
               if case["decisions"] else "<p>No decision yet.</p>")
    out.append("</section>")

    out.append("<section id='impact'><h2>Impact</h2>")
    if case["impact"]:
        out.append("<p>The behaviour behind each pattern, before and after the latest decision, for the case's "
                   "entities and their peers (a difference in differences); measured by every scan since.</p>")
        rows = []
        for run in case["impact"]:
            for m in run["measures"]:
                rows.append({"run": run_label(run), **m,
                             "periods": f"{m['before_first'] or ''} – {m['before_last'] or ''} / "
                                        f"{m['after_first'] or ''} – {m['after_last'] or ''}",
                             "statistic": (m["statistic"] or "") + (f" ({m['detail']})" if m["detail"] else ""),
                             "before": f"{_num(m['subject_rate_before'])} vs peers {_num(m['peers_rate_before'])}",
                             "after": f"{_num(m['subject_rate_after'])} vs peers {_num(m['peers_rate_after'])}",
                             "verdict": m["verdict"].replace("_", " ")})
        out.append(_table([("run", "scan"), ("pattern", "pattern"), ("statistic", "statistic"), ("unit", "unit"),
                           ("periods", "before / after"), ("before", "before"), ("after", "after"),
                           ("verdict", "verdict"), ("why", "why")], rows))
    else:
        out.append("<p>Not measured yet: the impact is measured by the scans after a decision.</p>")
    out.append("</section>")

    out.append("<section id='evidence'><h2>Evidence</h2>")
    for a, lines in evidence_parts:
        data = base64.b64encode(csv_bytes(EVIDENCE_COLUMNS, lines)).decode()
        name = f"{case['case_id']}-{a['alert_id']}.csv".replace(":", "_").replace("/", "_")
        out.append(f"<h3>{escape(a['alert_id'])}: {len(lines):,} line(s), "
                   f"{_money(round(sum(x['amount'] or 0 for x in lines), 2))}</h3>"
                   f"<p><a class='download' download='{escape(name)}' href='data:text/csv;base64,{data}'>"
                   f"Download the {len(lines):,} lines as CSV</a></p>")
        out.append(_table([(c, c.replace("_", " ")) for c in EVIDENCE_COLUMNS],
                          [{**x, "amount": _num(x["amount"])} for x in lines], numeric=("item", "amount", "quantity")))
    out.append("</section>")

    out.append("<section id='notes'><h2>Notes</h2>")
    out.append("".join(f"<p><b>{escape(n['at'][:16].replace('T', ' '))}, {escape(n['who'])}</b>: {escape(n['text'])}</p>"
                       for n in case["notes"]) or "<p>No note.</p>")
    out.append("</section>")

    out.append("<section id='history'><h2>History</h2>")
    out.append(_table([("at", "when"), ("who", "who"), ("role", "role"), ("action", "what"), ("detail", "detail"),
                       ("version", "version")],
                      [{**h, "at": h["at"][:19].replace("T", " "),
                        "detail": event_said(h).removeprefix(h["action"]).strip()}
                       for h in case["history"]], numeric=("version",)))
    out.append("</section>")
    out.append("<footer class='meta'><p>fraudnet case file. Patients are counted, not named: evidence lines number "
               "them within each alert and keep the claim ids.</p></footer></body></html>")
    return "\n".join(out)
