"""One case from alert to decision to impact, on a generated region, through three scans.

Scan 1: an analyst opens a case on a re-billing provider's alert, assigns it, writes a note,
confirms it and decides a request for compliance with a deadline (2025-07-01); another alert's
case is dismissed. Scan 2, on data where the first provider stopped re-billing after the
decision: the case's impact is `changed`; the dismissed alert, whose score rose by 30 %, is not
reported (suppressed, with why); a third alert is gone. Scan 3, on data where the provider went
on re-billing: `unchanged`; the dismissed alert, now 80 % above the score it was dismissed at, is
reported again (re-alerted); the third alert is back, as returning, not new."""
import shutil
from datetime import date

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from cases.store import Actor, CaseStore
from cases.report import render
from cases.views import case_view, run_label
from engine import query
from loaders.synthetic import generate
from runs import history
from runs.pipeline import scan
from runs.store import Store
from scheduler.schedule import apply_retention

pytestmark = pytest.mark.slow
DECIDED = date(2025, 7, 1)
KEY = "provider_id, patient_id, service_code, service_date, centre_id"


def read_claims(folder) -> pa.Table:
    names = ("claim_id", "patient_id", "provider_id", "prescriber_id", "centre_id", "service_code", "service_date")
    return pacsv.read_csv(folder / "claims.csv", convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in names}))


def with_claims(src, dst, claims: pa.Table):
    shutil.copytree(src, dst)
    pacsv.write_csv(claims, dst / "claims.csv", pacsv.WriteOptions(quoting_style="needed"))
    return dst


def stops_re_billing(claims: pa.Table, provider: str, since: date | None = None) -> pa.Table:
    """The provider's second and later lines of a (patient, act, day, channel), from `since` on, gone."""
    return query(f"""SELECT * EXCLUDE (k) FROM (SELECT *, row_number() OVER (PARTITION BY {KEY} ORDER BY claim_id) AS k
                     FROM c) WHERE NOT (provider_id = $p AND k > 1 AND service_date::DATE >= $since)
                     ORDER BY claim_id""", {"p": provider, "since": since or date.min}, c=claims)


def re_bills_more(claims: pa.Table, provider: str, tenths: int) -> pa.Table:
    """One more line in `tenths` of every ten of the provider's re-billed (patient, act, day, channel)."""
    extra = query(f"""SELECT * EXCLUDE (n, g) REPLACE ('X' || claim_id AS claim_id) FROM (
                         SELECT *, count(*) OVER w AS n, dense_rank() OVER (ORDER BY {KEY}) AS g,
                                row_number() OVER w AS k
                         FROM c WHERE provider_id = $p WINDOW w AS (PARTITION BY {KEY}))
                      WHERE n > 1 AND k = 1 AND g % 10 < $t""", {"p": provider, "t": tenths}, c=claims)
    return pa.concat_tables([claims, extra.drop(["k"]).select(claims.column_names).cast(claims.schema)])


def rebilled_alerts(store: Store) -> list[tuple[str, str, float]]:
    """(alert_id, provider, score) of the double-billing alerts about one provider and no centre,
    best first: re-billed lines."""
    con = store.connect()
    try:
        return con.execute("""
            SELECT a.alert_id, any_value(e.entity_id) FILTER (WHERE e.entity_type = 'provider'), any_value(a.score)
            FROM alerts a JOIN alert_entities e USING (alert_id) WHERE a.pattern = 'double_billing'
            GROUP BY a.alert_id HAVING count(*) FILTER (WHERE e.entity_type = 'centre') = 0
               AND count(*) FILTER (WHERE e.entity_type = 'provider') = 1
            ORDER BY any_value(a.rank)""").fetchall()
    finally:
        con.close()


def test_a_case_from_alert_to_decision_to_impact_over_three_scans(tmp_path):
    data = tmp_path / "2025-a"
    generate(data, patients=5000, seed=7, truth=tmp_path / "truth.csv")
    store = Store(tmp_path / "store")
    first = scan(data, store)
    assert first["status"] == "succeeded"
    (a, provider_a, _), (b, provider_b, score_b), (c, provider_c, _) = rebilled_alerts(store)[:3]

    cases, alice, bob = CaseStore(store), Actor("alice", "analyst"), Actor("bob", "analyst")
    case = cases.open(alice, [a], opened_on="2025-06-01")
    cid = case["case_id"]
    case = cases.update(cid, alice, case["version"], assignee="bob")
    case = cases.note(cid, bob, "same scaling billed twice on one day, month after month", case["version"])
    case = cases.update(cid, bob, case["version"], status="in_review")
    case = cases.update(cid, bob, case["version"], status="confirmed", qualification="abuse")
    case = cases.decide(cid, bob, "secm_compliance_request", DECIDED, "2025-08-31", expected_version=case["version"])
    assert (case["status"], case["qualification"], case["assignee"]) == ("confirmed", "abuse", "bob")
    assert [(d["action"], d["decided_on"], d["deadline"]) for d in case["decisions"]] == [
        ("secm_compliance_request", "2025-07-01", "2025-08-31")]
    dismissed = cases.open(alice, [b])
    cases.update(dismissed["case_id"], alice, 1, status="dismissed")

    # scan 2: the provider stopped re-billing after the decision; b re-bills 30 % more; c stopped
    claims = read_claims(data)
    second_data = re_bills_more(stops_re_billing(stops_re_billing(claims, provider_a, DECIDED), provider_c),
                                provider_b, 3)
    second = scan(with_claims(data, tmp_path / "2025-b", second_data), store)
    assert second["status"] == "succeeded", second.get("checks")
    [m] = case_view(store, cid)["impact"][0]["measures"]
    assert m["verdict"] == "changed", m["why"]
    assert (m["pattern"], m["decided_on"], m["after_first"]) == ("double_billing", DECIDED, DECIDED)
    assert m["subject_rate_after"] == 0 and m["subject_rate_before"] > 10
    report = store.changes(second["run_id"])
    [s] = report["suppressed"]
    assert (s["alert_id"], s["would_be"], s["case_id"], s["case_status"]) == (b, "escalated", dismissed["case_id"],
                                                                              "dismissed")
    assert s["why"].startswith(f"case {dismissed['case_id']} was dismissed at score {score_b:,.2f}; now ")
    assert b not in [x["alert_id"] for k in ("new", "returning", "escalated", "realerted") for x in report[k]]
    assert c in [x["alert_id"] for x in report["resolved"]]

    # scan 3: the provider went on re-billing after the decision; b now 80 % above; c back
    third_data = re_bills_more(claims, provider_b, 8)
    third = scan(with_claims(data, tmp_path / "2025-c", third_data), store)
    assert third["status"] == "succeeded", third.get("checks")
    impact = case_view(store, cid)["impact"]
    assert [(r["run_id"], r["measures"][0]["verdict"]) for r in impact] == [
        (third["run_id"], "unchanged"), (second["run_id"], "changed")], impact[0]["measures"][0]["why"]
    report = store.changes(third["run_id"])
    [r] = report["realerted"]
    assert (r["alert_id"], r["case_id"]) == (b, dismissed["case_id"]) and r["score"] > 1.5 * score_b
    assert "margin +50%" in r["why"] and b not in [x["alert_id"] for x in report["suppressed"]]
    back = {x["alert_id"]: x for x in report["returning"]}
    assert c in back and c not in [x["alert_id"] for x in report["new"]]
    assert (back[c]["first_seen_run"], back[c]["last_seen_run"]) == (first["run_id"], first["run_id"])
    seen = history.seen(store, [a, c])
    assert (seen[a]["first_run"], seen[a]["last_run"], seen[a]["runs"]) == (first["run_id"], third["run_id"], 3)
    assert seen[c]["runs"] == 2
    # re-alerted once: a fourth scan of the same data does not report b again
    fourth = scan(tmp_path / "2025-c", store)
    assert store.changes(fourth["run_id"])["realerted"] == []

    # retention: the run the confirmed case was opened on stays; the runs that measured its impact
    # go, their measures kept in the history and shown as before
    measured = [(r["run_id"], [m["verdict"] for m in r["measures"]]) for r in case_view(store, cid)["impact"]]
    assert [r for r, _ in measured] == [fourth["run_id"], third["run_id"], second["run_id"]]
    assert apply_retention(store, keep=1) == [third["run_id"], second["run_id"]]
    kept = case_view(store, cid)["impact"]
    assert [(r["run_id"], [m["verdict"] for m in r["measures"]]) for r in kept] == measured
    assert [run_label(r) for r in kept[1:]] == [f"{r} (removed by retention; its measures kept)"
                                               for r in (third["run_id"], second["run_id"])]
    assert kept[1]["measures"][0] == impact[0]["measures"][0]          # dates and figures as measured
    # closed, the case no longer holds its run: retention removes it, and its file still renders
    case = cases.get(cid)
    cases.update(cid, bob, case["version"], status="closed")
    assert apply_retention(store, keep=1) == [first["run_id"]]
    page = render(store, cid)
    assert "<th>read from run</th>" in page and "no run kept has it" not in page   # read from the current run

