"""runs.changes and runs.history: new, returning, escalated and resolved alerts; reviewed alerts
re-alerted only on new material risk; every alert's first and last current runs."""
import json

import pyarrow as pa

from runs import history
from runs.changes import compare
from runs.history import TABLES
from runs.store import Store


def run_tables(*alerts, entities=()):
    """alerts: (alert_id, pattern, score); entities: (alert_id, entity_type, entity_id)."""
    a = pa.table({"alert_id": [x[0] for x in alerts], "pattern": [x[1] for x in alerts],
                  "score": [float(x[2]) for x in alerts], "summary": [f"{x[0]} summary" for x in alerts],
                  "rank": list(range(1, len(alerts) + 1))},
                 schema=pa.schema([("alert_id", pa.string()), ("pattern", pa.string()), ("score", pa.float64()),
                                   ("summary", pa.string()), ("rank", pa.int64())]))
    e = pa.table({"alert_id": [x[0] for x in entities], "entity_type": [x[1] for x in entities],
                  "entity_id": [x[2] for x in entities]},
                 schema=pa.schema([("alert_id", pa.string()), ("entity_type", pa.string()), ("entity_id", pa.string())]))
    return {"alerts": a, "alert_entities": e,
            "communities": pa.table({"community_id": pa.array([], pa.string())}),
            "entity_risk": pa.table({"entity_type": pa.array([], pa.string()), "entity_id": pa.array([], pa.string()),
                                     "score": pa.array([], pa.float64()), "reasons": pa.array([], pa.string())})}


def known(history_rows=(), reviews=()):
    """alert_history rows (alert_id, first_run, last_run) and reviews (alert_id, case_id, status, score, patterns)."""
    h = [{"alert_id": a, "pattern": "double_billing", "first_run": f, "first_seen_at": "t", "last_run": l,
          "last_seen_at": "t", "last_score": 1.0, "runs": 1} for a, f, l in history_rows]
    r = [{"alert_id": a, "case_id": c, "status": s, "score": float(x), "patterns": p, "reviewed_at": "t",
          "realerted_run": None} for a, c, s, x, p in reviews]
    return {"alert_history": pa.Table.from_pylist(h, TABLES["alert_history"]),
            "alert_reviews": pa.Table.from_pylist(r, TABLES["alert_reviews"])}


def ids(items):
    return [a["alert_id"] for a in items]


def test_new_returning_escalated_and_resolved_alerts():
    before = run_tables(("kept", "double_billing", 100), ("up", "double_billing", 100), ("gone", "peer_outlier", 5))
    now = run_tables(("kept", "double_billing", 110), ("up", "double_billing", 130), ("fresh", "peer_outlier", 9),
                     ("back", "dense_block", 50))
    report = compare(now, before, "r2", known([("kept", "r1", "r2"), ("up", "r1", "r2"), ("gone", "r2", "r2"),
                                                ("back", "r1", "r1")]))
    assert ids(report["new"]) == ["fresh"] and report["new"][0]["first_seen_run"] is None
    assert ids(report["returning"]) == ["back"]
    assert (report["returning"][0]["first_seen_run"], report["returning"][0]["last_seen_run"]) == ("r1", "r1")
    assert ids(report["escalated"]) == ["up"] and report["escalated"][0]["previous_score"] == 100
    assert ids(report["resolved"]) == ["gone"]
    assert report["realerted"] == report["suppressed"] == []
    assert report["summary"] == "1 new, 1 escalated, 1 resolved alert(s), 1 returning; 0 new, 0 dissolved communities"


def test_without_history_an_absent_alert_is_new_as_before():
    report = compare(run_tables(("a", "double_billing", 1)), run_tables(), "r1", None)
    assert ids(report["new"]) == ["a"] and report["returning"] == []
    assert report["summary"] == "1 new, 0 escalated, 0 resolved alert(s); 0 new, 0 dissolved communities"


def test_a_dismissed_alert_is_suppressed_until_its_risk_materially_rises():
    before = run_tables(("d", "double_billing", 100), entities=[("d", "provider", "X")])
    hist = [("d", "r1", "r1")]
    review = [("d", "C-00002", "dismissed", 100, ["double_billing"])]
    # +30 %: an escalation, but within the 50 % margin: suppressed, saying why
    r = compare(run_tables(("d", "double_billing", 130), entities=[("d", "provider", "X")]), before, "r1",
                known(hist, review))
    assert r["new"] == r["escalated"] == r["realerted"] == []
    [s] = r["suppressed"]
    assert (s["alert_id"], s["would_be"], s["case_id"], s["case_status"]) == ("d", "escalated", "C-00002", "dismissed")
    assert s["why"] == ("case C-00002 was dismissed at score 100.00; now 130.00 (+30%, margin +50%); "
                        "no new pattern on its entities")
    # back after an absence: it would be returning, and is suppressed too
    r = compare(run_tables(("d", "double_billing", 100)), run_tables(), "r2", known(hist, review))
    assert r["returning"] == [] and [x["would_be"] for x in r["suppressed"]] == ["returning"]
    # +60 %: past the margin, re-alerted (whether the previous run had it or not)
    r = compare(run_tables(("d", "double_billing", 160), entities=[("d", "provider", "X")]), before, "r1",
                known(hist, review))
    assert ids(r["realerted"]) == ["d"] and r["suppressed"] == [] and r["escalated"] == []
    assert r["realerted"][0]["why"] == "case C-00002 was dismissed at score 100.00; now 160.00 (+60%, margin +50%)"
    assert r["summary"] == "0 new, 0 escalated, 0 resolved alert(s), 1 re-alerted; 0 new, 0 dissolved communities"
    # a margin of 100 % keeps it quiet
    r = compare(run_tables(("d", "double_billing", 160)), before, "r1", known(hist, review), realert_margin=1.0)
    assert r["realerted"] == [] and ids(r["suppressed"]) == ["d"]


def test_a_reviewed_alert_whose_entities_gain_a_pattern_is_re_alerted_but_not_through_a_patient():
    before = run_tables(("d", "double_billing", 100), entities=[("d", "provider", "X"), ("d", "patient", "P1")])
    review = known([("d", "r1", "r1")], [("d", "C-00002", "closed", 100, ["double_billing"])])
    # the patient appears in another pattern's alert: no new risk for the provider
    now = run_tables(("d", "double_billing", 100), ("ds", "doctor_shopping", 5),
                     entities=[("d", "provider", "X"), ("d", "patient", "P1"), ("ds", "patient", "P1")])
    assert compare(now, before, "r1", review)["realerted"] == []
    # the provider itself is now in a dense block
    now = run_tables(("d", "double_billing", 100), ("b", "dense_block", 5),
                     entities=[("d", "provider", "X"), ("b", "provider", "X"), ("b", "provider", "Y")])
    r = compare(now, before, "r1", review)
    assert ids(r["realerted"]) == ["d"] and r["realerted"][0]["patterns"] == ["dense_block", "double_billing"]
    assert r["realerted"][0]["why"].endswith("; its entities now also have dense_block")
    assert ids(r["new"]) == ["b"]


def test_the_history_records_current_runs_once_and_moves_a_re_alerted_review(tmp_path):
    store = Store(tmp_path / "store")
    a = pa.table({"alert_id": ["x", "y"], "pattern": ["double_billing", "peer_outlier"], "score": [10.0, 3.0]})
    history.record_run(store, "r1", a)
    history.record_run(store, "r1", a)                   # again (an accept after a crash): counted once
    history.record_run(store, "r2", a.slice(0, 1))
    seen = history.seen(store, ["x", "y", "z"])
    assert (seen["x"]["first_run"], seen["x"]["last_run"], seen["x"]["runs"]) == ("r1", "r2", 2)
    assert (seen["y"]["first_run"], seen["y"]["last_run"], seen["y"]["runs"]) == ("r1", "r1", 1)
    assert "z" not in seen
    con = history.connect(store)
    with history.transaction(con):
        con.execute("INSERT INTO alert_reviews VALUES ('x', 'C-00001', 'dismissed', 10, '[\"double_billing\"]', 't', NULL)")
    con.close()
    history.record_run(store, "r3", a, [{"alert_id": "x", "score": 20.0, "patterns": ["double_billing", "dense_block"]}])
    review = history.read(store)["alert_reviews"].to_pylist()[0]
    assert (review["score"], review["patterns"], review["realerted_run"]) == (20.0, ["dense_block", "double_billing"], "r3")
    assert oct((tmp_path / "store" / "history.sqlite").stat().st_mode & 0o777) == "0o600"
    # a store without history reads as empty and is not given a database by reading
    empty = Store(tmp_path / "other")
    assert all(t.num_rows == 0 for t in history.read(empty).values())
    assert history.seen(empty, ["x"]) == {} and not (tmp_path / "other").exists()
    assert json.loads(json.dumps(history.read(store)["impact_watches"].to_pylist())) == []


def test_a_campaign_the_run_did_not_judge_has_its_alerts_not_judged_rather_than_resolved():
    before = run_tables(("indicator_outlier:physio:P1", "indicator_outlier", 10),
                        ("indicator_outlier:ahta:P2", "indicator_outlier", 10), ("gone", "peer_outlier", 5))
    now = run_tables()
    report = compare(now, before, "r2", None, campaigns=["ahta"])     # physiotherapy not in this scan
    assert ids(report["resolved"]) == ["indicator_outlier:ahta:P2", "gone"]
    assert ids(report["not_judged"]) == ["indicator_outlier:physio:P1"]
    assert report["summary"] == ("0 new, 0 escalated, 2 resolved alert(s), 1 not judged (campaign not in this "
                                 "scan); 0 new, 0 dissolved communities")
    assert ids(compare(now, before, "r2", None)["resolved"]) == ids(before["alerts"].to_pylist())  # no list: all judged


def test_the_risk_risers_count_patients_and_name_none():
    """The change report is a bulk output, audited as a whole, not per patient."""
    def risk(rows):
        return pa.table({"entity_type": [r[0] for r in rows], "entity_id": [r[1] for r in rows],
                         "score": [float(r[2]) for r in rows], "reasons": ["" for _ in rows]})
    before, now = run_tables(("a", "peer_outlier", 1)), run_tables(("a", "peer_outlier", 1))
    before["entity_risk"] = risk([("provider", "D1", 10), ("patient", "P-SECRET", 0)])
    now["entity_risk"] = risk([("provider", "D1", 40), ("patient", "P-SECRET", 90), ("patient", "P-OTHER", 15)])
    report = compare(now, before, "r1")
    assert [(r["entity_type"], r["entity_id"]) for r in report["risk_risers"]] == [("provider", "D1")]
    assert report["patients_risen"] == 2 and "P-" not in json.dumps(report)


def test_the_text_report_lists_re_alerted_and_suppressed_alerts_with_why_and_counts_returning_ones():
    from cli.main import change_lines
    before = run_tables(("d", "double_billing", 100), ("s", "double_billing", 100), ("x", "peer_outlier", 5))
    hist = [("d", "r1", "r1"), ("s", "r1", "r1"), ("back", "r0", "r0")]
    reviews = [("d", "C-00006", "dismissed", 100, ["double_billing"]),
               ("s", "C-00007", "closed", 100, ["double_billing"])]
    now = run_tables(("d", "double_billing", 160), ("s", "double_billing", 130), ("back", "peer_outlier", 7),
                     ("fresh", "peer_outlier", 9))
    report = {"run_id": "r2", **compare(now, before, "r1", known(hist, reviews))}
    lines = change_lines(report)
    assert lines[0] == ("run r2 against r1: 1 new, 0 escalated, 1 resolved alert(s), 1 returning, 1 re-alerted, "
                        "1 suppressed; 0 new, 0 dissolved communities")
    assert lines[1:] == [
        "  new         peer_outlier                      9.00  fresh",
        "  re-alerted  double_billing                  160.00  d",
        "    why: case C-00006 was dismissed at score 100.00; now 160.00 (+60%, margin +50%)",
        "  suppressed  double_billing                  130.00  s",
        "    why: case C-00007 was closed at score 100.00; now 130.00 (+30%, margin +50%); no new pattern on its "
        "entities (would be escalated)",
        "  resolved    peer_outlier                      5.00  x",
        "  returning: 1 alert(s) current in an earlier run, absent from the previous one, back now (listed by --json)"]


def test_every_pattern_fits_the_text_report_s_pattern_column():
    """`atypical_private_practice` (25 characters) pushed its score out of the column: every pattern
    of the vocabulary leaves its score, right-aligned, ending at the same place."""
    from cli.main import change_lines
    from contract.vocab import PATTERNS
    new = [{"alert_id": f"{p}:1", "pattern": p, "score": 123456.78} for p in PATTERNS]
    report = {"run_id": "r2", "previous_run": "r1", "summary": "…", "new": new, "escalated": [], "resolved": [],
              "new_communities": [], "dissolved_communities": [], "risk_risers": []}
    lines = change_lines(report)[1:]
    assert len(lines) == len(PATTERNS)
    for p, line in zip(PATTERNS, lines):
        assert line.startswith(f"  new         {p} ") and line.endswith(f"  {p}:1"), line
    assert len({line.index("123,456.78") for line in lines}) == 1, lines
