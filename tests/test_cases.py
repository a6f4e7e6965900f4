"""cases: the case store (statuses, qualifications, decisions, history), what case changes mean
for the scans (reviews, watches), the actions catalogue, indicators and CSV, on a copy of a
scanned generated region."""
import shutil
import sqlite3
from datetime import date, timedelta

import pytest

from cases.actions import SHIPPED, catalogue
from cases.export import csv_bytes
from cases.kpis import kpis, rows
from cases.store import QUALIFICATIONS, STATUSES, Actor, CaseStore
from cases.views import alert_view
from contract.errors import Invalid, NotFound, Refused, SettingsError, Stale
from runs import history, results
from runs.store import Store

ALICE, BOB = Actor("alice", "analyst"), Actor("bob", "admin")


@pytest.fixture()
def store(region, tmp_path):
    shutil.copytree(region["store"].root, tmp_path / "store")
    return Store(tmp_path / "store")


def top(store, pattern):
    con = store.connect()
    try:
        return con.execute("SELECT alert_id, score FROM alerts WHERE pattern = $p ORDER BY rank LIMIT 1",
                           {"p": pattern}).fetchall()[0]
    finally:
        con.close()


def test_a_case_goes_from_alert_to_decision_and_keeps_every_change(store):
    cs = CaseStore(store)
    alert_id, score = top(store, "double_billing")
    with pytest.raises(Invalid, match=r"opened_on: 2999-01-01 is in the future \(today is "):
        cs.open(ALICE, [alert_id], opened_on="2999-01-01")
    case = cs.open(ALICE, [alert_id], note="200 lines billed twice", opened_on="2025-06-15")
    cid = case["case_id"]
    assert (cid, case["status"], case["version"], case["run_id"]) == ("C-00001", "open", 1, store.current())
    assert case["opened_on"] == "2025-06-15" and case["opened_at"][:10] == date.today().isoformat()
    assert [a["alert_id"] for a in case["alerts"]] == [alert_id] and case["alerts"][0]["score"] == score
    provider = [e for e in case["entities"] if e["entity_type"] == "provider"]
    assert provider and provider[0]["roles"] == "biller" and provider[0]["kind"]
    assert all(e["entity_type"] != "patient" for e in case["entities"])     # billed patients: counted only
    # the patients: every distinct one of the alert's evidence lines, not the few it names
    con = store.connect()
    try:
        lines = results.evidence(con, alert_id)
        sampled = [e for e in results.alert(con, alert_id)["entities"] if e["entity_type"] == "patient"]
    finally:
        con.close()
    assert case["patients"] == len({r["patient_id"] for r in lines}) > len(sampled) == case["patients_sampled"] > 0
    assert cs.list()[0][0]["patients"] == case["patients"]
    seen = alert_view(store, alert_id)
    assert (seen["patients"], seen["patients_sampled"]) == (case["patients"], case["patients_sampled"])
    assert [n["text"] for n in case["notes"]] == ["200 lines billed twice"]

    case = cs.update(cid, BOB, 1, assignee="alice")
    assert (case["assignee"], case["version"]) == ("alice", 2)
    with pytest.raises(Refused, match=r"confirming case C-00001 needs a qualification \(administrative_error, "
                                      r"abuse, fraud\)"):
        cs.update(cid, ALICE, 2, status="confirmed")
    with pytest.raises(Refused, match="decisions are recorded on cases in_review or confirmed"):
        cs.decide(cid, ALICE, "secm_warning", "2025-07-01")
    case = cs.update(cid, ALICE, 2, status="confirmed", qualification="abuse")
    assert (case["status"], case["qualification"], case["outcome"], case["version"]) == ("confirmed", "abuse", "confirmed", 3)
    with pytest.raises(Refused, match="case C-00001 is confirmed: it can move to in_review, closed, not to dismissed"):
        cs.update(cid, ALICE, 3, status="dismissed")

    with pytest.raises(Invalid) as bad:
        cs.decide(cid, ALICE, "secm_compliance_request", "2025-07-01", estimated_harm=-5, recovered="lots")
    assert bad.value.problems == ["deadline: action secm_compliance_request needs a deadline (YYYY-MM-DD)",
                                  "estimated_harm: -5 is not an amount in euros ≥ 0",
                                  "recovered: 'lots' is not an amount in euros ≥ 0"]
    with pytest.raises(Invalid, match="deadline: 2025-06-01 is before the decision's date 2025-07-01"):
        cs.decide(cid, ALICE, "secm_compliance_request", "2025-07-01", "2025-06-01")
    with pytest.raises(Invalid, match="action: 'warning' is not in the catalogue"):
        cs.decide(cid, ALICE, "warning", "2025-07-01")
    # impossible decisions, each refused naming its field and value
    with pytest.raises(Invalid, match=r"^decided_on: 2999-01-01 is in the future \(today is \d{4}-\d\d-\d\d\)$"):
        cs.decide(cid, ALICE, "secm_warning", "2999-01-01")
    with pytest.raises(Invalid, match=r"^decided_on: 2025-06-14 is before case C-00001 was opened \(2025-06-15\)$"):
        cs.decide(cid, ALICE, "secm_warning", "2025-06-14")
    with pytest.raises(Invalid, match=r"^recovered: 300.00 is more than the overpayment notified \(200.00 euros\)$"):
        cs.decide(cid, ALICE, "am_notified_overpayment", "2025-07-01", overpayment_notified=200, recovered=300)
    with pytest.raises(Invalid, match=r"^overpayment_notified: -1 is not an amount in euros ≥ 0$"):
        cs.decide(cid, ALICE, "am_notified_overpayment", "2025-07-01", overpayment_notified=-1)
    with pytest.raises(Invalid, match=r"^estimated_harm: 1e\+20 is more than 1,000,000,000,000 euros$"):
        cs.decide(cid, ALICE, "secm_warning", "2025-07-01", estimated_harm=1e20)  # the API's bound, any face
    assert cs.get(cid)["decisions"] == [] and cs.get(cid)["version"] == 3       # nothing was recorded
    case = cs.decide(cid, ALICE, "secm_compliance_request", "2025-07-01", "2025-09-30", estimated_harm=score)
    [d] = case["decisions"]
    assert (d["action"], d["insurer"], d["decided_on"], d["deadline"], d["estimated_harm"]) == (
        "secm_compliance_request", "INAMI SECM", "2025-07-01", "2025-09-30", round(score, 2))
    # every later scan measures the case's pattern from the decision date, on its entities
    [w] = history.read(store)["impact_watches"].to_pylist()
    assert (w["case_id"], w["pattern"], w["decided_on"]) == (cid, "double_billing", date(2025, 7, 1))
    assert {"entity_type": "provider", "entity_id": provider[0]["entity_id"]} in w["entities"]
    case = cs.update_decision(cid, d["decision_id"], BOB, case["version"], overpayment_notified=1000, recovered=250.5)
    assert (case["decisions"][0]["overpayment_notified"], case["decisions"][0]["recovered"]) == (1000.0, 250.5)
    with pytest.raises(Invalid, match=r"^recovered: 1000.01 is more than the overpayment notified \(1000.00 euros\)$"):
        cs.update_decision(cid, d["decision_id"], BOB, case["version"], recovered=1000.01)
    with pytest.raises(Invalid, match=r"^recovered: 250.50 is more than the overpayment notified \(250.00 euros\)$"):
        cs.update_decision(cid, d["decision_id"], BOB, case["version"], overpayment_notified=250)

    events = case["history"]
    assert [e["action"] for e in events] == ["opened", "noted", "assigned", "qualified", "status", "decided",
                                             "decision_updated"]
    assert [e["version"] for e in events] == [1, 1, 2, 3, 3, 4, 5] and case["version"] == 5
    assert [(e["who"], e["role"]) for e in events][2] == ("bob", "admin")
    assert events[4]["detail"] == {"from": "open", "to": "confirmed"}
    assert events[6]["detail"] == {"decision_id": d["decision_id"], "overpayment_notified": {"from": None, "to": 1000.0},
                                   "recovered": {"from": None, "to": 250.5}}
    # the history and the notes are append-only, and decisions are never deleted
    con = sqlite3.connect(store.root / "history.sqlite")
    for sql in ("UPDATE case_events SET who = 'mallory'", "DELETE FROM case_events", "DELETE FROM case_notes",
                "UPDATE case_notes SET text = ''", "DELETE FROM case_decisions"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only|never deleted"):
            con.execute(sql)
    con.close()


def test_an_edit_on_an_old_version_is_refused_and_appends_need_no_version(store):
    cs = CaseStore(store)
    cid = cs.open(ALICE, [top(store, "dense_block")[0]])["case_id"]
    cs.update(cid, ALICE, 1, assignee="alice")
    with pytest.raises(Stale) as stale:
        cs.update(cid, BOB, 1, assignee="bob")
    assert (stale.value.expected, stale.value.version) == (1, 2)
    assert cs.note(cid, BOB, "no version given: appended")["version"] == 3
    with pytest.raises(Stale):
        cs.note(cid, BOB, "on an old copy", expected_version=2)
    assert cs.get(cid)["assignee"] == "alice"


def test_an_alert_belongs_to_one_case_and_entities_may_open_one(store):
    cs = CaseStore(store)
    alert_id, _ = top(store, "peer_outlier")
    cs.open(ALICE, [alert_id])
    with pytest.raises(Refused, match=f"alert {alert_id} is already in case C-00001"):
        cs.open(BOB, [alert_id])
    with pytest.raises(NotFound, match="no alert 'nope'"):
        cs.open(BOB, ["nope"])
    with pytest.raises(Invalid) as bad:
        cs.open(BOB, [], ["doctor:1", "provider"])
    assert bad.value.problems == [
        "entities: 'doctor:…' is not type:id (type one of provider, centre, legal_entity, person, patient)",
        "entities: a value without ':' is not type:id (type one of provider, centre, legal_entity, person, patient)"]
    with pytest.raises(Invalid, match="a case is opened on at least one alert or entity"):
        cs.open(BOB)
    con = store.connect()
    centre = con.execute("SELECT entity_id FROM nodes WHERE entity_type = 'centre' LIMIT 1").fetchall()[0][0]
    con.close()
    case = cs.open(BOB, entities=[f"centre:{centre}"], title="a centre to look at")
    assert case["alerts"] == [] and case["entities"][0]["roles"] == "named" and case["title"] == "a centre to look at"
    assert cs.cases_of("centre", centre)[0]["case_id"] == case["case_id"]
    with pytest.raises(NotFound, match="no case 'C-99999'"):
        cs.get("C-99999")


def test_dismissing_reviews_its_alerts_and_reopening_withdraws_the_reviews(store):
    cs = CaseStore(store)
    alert_id, score = top(store, "double_billing")
    cid = cs.open(ALICE, [alert_id])["case_id"]
    cs.update(cid, ALICE, 1, status="dismissed")
    [r] = history.read(store)["alert_reviews"].to_pylist()
    assert (r["alert_id"], r["case_id"], r["status"], r["score"]) == (alert_id, cid, "dismissed", score)
    assert "double_billing" in r["patterns"]
    case = cs.update(cid, ALICE, 2, status="closed")
    assert history.read(store)["alert_reviews"]["status"].to_pylist() == ["closed"]
    assert case["outcome"] == "dismissed"
    cs.update(cid, ALICE, 3, status="open")
    assert history.read(store)["alert_reviews"].num_rows == 0
    assert cs.get(cid)["outcome"] is None


def test_neo4j_labels_go_to_the_entities_a_case_is_about_not_to_billed_patients(store):
    cs = CaseStore(store)
    confirmed = cs.open(ALICE, [top(store, "double_billing")[0]])
    cs.update(confirmed["case_id"], ALICE, 1, status="confirmed", qualification="fraud")
    shopper = cs.open(ALICE, [top(store, "doctor_shopping")[0]])
    # titled after whom the alert accuses, the patient counted and never named (not the shopped doctors)
    assert shopper["title"] == "doctor_shopping: a patient"
    cs.update(shopper["case_id"], ALICE, 1, status="dismissed")
    rows_ = {r["key"]: r for r in cs.labelled_entities()}
    assert all(not k.startswith("patient:") or rows_[k]["labels"] == ["Dismissed"] for k in rows_)
    assert sum(k.startswith("patient:") for k in rows_) == 1          # the shopper, not the billed patients
    biller = next(f"provider:{e['entity_id']}" for e in confirmed["entities"] if e["roles"] == "biller")
    assert rows_[biller]["labels"] == ["Confirmed"] and rows_[biller]["case_statuses"] == ["confirmed"]



def test_a_confirmed_shopper_brands_neither_the_doctors_nor_the_pharmacies_it_deceived(store):
    """A doctor-shopping case takes the shopped prescribers and pharmacies as its alert's victims
    (deceived or used). Confirming it labelled all of them `Confirmed` in Neo4j, filed the case
    under pharmacy and physician, counted them as its providers and booked its decisions under
    their professions: now only the shopper is the case's; the victims keep the case in their
    own view, saying in what standing."""
    cs = CaseStore(store)
    shopper = cs.open(ALICE, [top(store, "doctor_shopping")[0]])
    cid = shopper["case_id"]
    victims = [e for e in shopper["entities"] if e["entity_type"] == "provider"]
    assert victims and all(e["standing"] == "victim" for e in victims)
    cs.update(cid, ALICE, 1, status="in_review")
    cs.update(cid, ALICE, 2, status="confirmed", qualification="abuse")
    cs.decide(cid, ALICE, "am_alert_interview", date.today().isoformat(), overpayment_notified=500)
    labelled = {r["key"]: r for r in cs.labelled_entities()}
    assert [k for k in labelled if not k.startswith("patient:")] == []
    assert [r["labels"] for r in labelled.values()] == [["Confirmed"]]          # the shopper alone
    kinds = {e["kind"] for e in victims}
    assert all(cs.list(profession=k)[1] == 0 for k in kinds)
    assert cs.list()[0][0]["providers"] == 0
    [amount] = kpis(store)["amounts"]
    assert amount["profession"] == "patients" and amount["overpayment_notified"] == 500   # its shopper
    seen = cs.cases_of("provider", victims[0]["entity_id"])
    assert [(c["case_id"], c["standing"]) for c in seen] == [(cid, "victim")]
    # the accused of another pattern is still labelled, filed and counted
    biller = cs.open(ALICE, [top(store, "double_billing")[0]])
    accused = next(e for e in biller["entities"] if e["roles"] == "biller")
    assert accused["standing"] == "accused" and cs.list(profession=accused["kind"])[1] == 1
    assert f"provider:{accused['entity_id']}" in {r["key"] for r in cs.labelled_entities()}


def test_cases_opened_before_standings_were_kept_still_read(store):
    """A store whose case_entities table predates the `standing` column gets it, empty: its cases
    read as before (entities labelled, filed and counted whatever their standing)."""
    cs = CaseStore(store)
    cid = cs.open(ALICE, [top(store, "double_billing")[0]])["case_id"]
    con = sqlite3.connect(store.root / history.FILE)
    con.executescript("ALTER TABLE case_entities DROP COLUMN standing;")
    con.close()
    again = CaseStore(store)
    assert again.get(cid)["case_id"] == cid and again.list()[0][0]["providers"] >= 1
    assert all(e["standing"] is None for e in again.get(cid)["entities"])
    assert again.labelled_entities()


def test_decisions_are_numbered_within_their_case(store):
    """A case's first decision was shown as "decision 2" when another case had one, and `--update
    1` on it was refused: the number every face shows and takes is the decision's within its case."""
    cs = CaseStore(store)
    first = cs.open(ALICE, [top(store, "double_billing")[0]], opened_on="2025-06-01")["case_id"]
    second = cs.open(ALICE, [top(store, "dense_block")[0]], opened_on="2025-06-01")["case_id"]
    for cid in (first, second):
        cs.update(cid, ALICE, 1, status="in_review")
    cs.decide(first, ALICE, "secm_warning", "2025-07-01")
    cs.decide(first, ALICE, "am_alert_interview", "2025-08-01")
    case = cs.decide(second, ALICE, "secm_warning", "2025-07-15")
    assert [d["decision_id"] for d in case["decisions"]] == [1]
    assert [d["decision_id"] for d in cs.get(first)["decisions"]] == [1, 2]
    case = cs.update_decision(second, 1, ALICE, case["version"], overpayment_notified=300)
    assert case["decisions"][0]["overpayment_notified"] == 300 and case["history"][-2]["detail"]["decision_id"] == 1
    assert [d["overpayment_notified"] for d in cs.get(first)["decisions"]] == [None, None]
    with pytest.raises(NotFound, match="C-00002/2"):
        cs.update_decision(second, 2, ALICE, None, overpayment_notified=1)


def test_a_title_naming_a_patient_by_id_is_refused(store):
    """The README says a patient's id never goes into a case's title: a title typed with one was
    stored, listed and exported. Refused now, naming no id; a title with other words and numbers
    (a provider's id, a year) is kept."""
    cs = CaseStore(store)
    con = store.connect()
    try:
        patient = con.execute("SELECT entity_id FROM nodes WHERE entity_type = 'patient' LIMIT 1").fetchone()[0]
        provider = con.execute("SELECT entity_id FROM nodes WHERE entity_type = 'provider' LIMIT 1").fetchone()[0]
    finally:
        con.close()
    hidden = (patient.lower(), f"x{patient}", f"{patient}_abc", f"{patient}x", f"{patient[:1]} {patient[1:]}",
              f"{patient[:3]}-{patient[3:]}")     # found by a reviewer: each was stored, listed and exported
    for title in (f"{patient} case", f"shopping by patient:{patient}", f"({patient})", *(f"shopper {h} oxycodone"
                                                                                        for h in hidden)):
        with pytest.raises(Invalid) as e:
            cs.open(ALICE, entities=[f"patient:{patient}"], title=title)
        assert e.value.problems[0].startswith("title: names a patient by their id") and patient not in str(e.value)
    case = cs.open(ALICE, entities=[f"patient:{patient}", f"provider:{provider}"], title=f"provider {provider} 2025")
    assert case["title"] == f"provider {provider} 2025"
    with pytest.raises(Invalid, match="title: names a patient"):
        cs.update(case["case_id"], ALICE, None, title=f"now {patient}")
    assert cs.get(case["case_id"])["title"] == f"provider {provider} 2025"

def test_the_catalogue_ships_both_insurers_graduated_actions_and_a_store_can_replace_it(store):
    shipped = catalogue(store)
    by = {a.id: a for a in shipped}
    assert {a.insurer for a in shipped} == {"INAMI SECM", "Assurance Maladie"}
    assert {"secm_warning", "secm_compliance_request", "secm_findings_voluntary_repayment",
            "secm_administrative_procedure", "secm_third_party_payment_suspension", "am_alert_interview",
            "am_rules_reminder", "am_financial_penalty", "am_notified_overpayment", "am_transaction",
            "am_order_referral", "am_deconventioning", "am_criminal_complaint"} == set(by)
    assert by["secm_compliance_request"].deadline and not by["secm_warning"].deadline
    assert all(a.source for a in shipped) and "L114-17-1" in by["am_financial_penalty"].source
    (store.root / "actions.toml").write_text('[[actions]]\nid = "visit"\nlabel = "On-site visit"\n'
                                            'insurer = "Our fund"\nlevel = 1\nsource = "our handbook"\n')
    assert [a.id for a in catalogue(store)] == ["visit"]
    (store.root / "actions.toml").write_text('[[actions]]\nid = "Bad Id"\nlevel = 0\ncolour = "red"\n')
    with pytest.raises(SettingsError) as bad:
        catalogue(store)
    assert bad.value.problems == ["action 1: unknown key(s) colour",
                                  "action 1: id must be lower-case letters, digits and _ (got 'Bad Id')",
                                  "action 1 (Bad Id): label must be a non-empty text",
                                  "action 1 (Bad Id): insurer must be a non-empty text",
                                  "action 1 (Bad Id): source must be a non-empty text",
                                  "action 1 (Bad Id): level must be a whole number ≥ 1"]
    assert SHIPPED.is_file()


def test_filters_indicators_and_spreadsheet_csv(store):
    cs = CaseStore(store)
    soon = date.today().isoformat()
    a = cs.open(ALICE, [top(store, "double_billing")[0]], assignee="alice",
                opened_on=(date.today() - timedelta(days=10)).isoformat())
    cs.update(a["case_id"], ALICE, 1, status="in_review")
    cs.decide(a["case_id"], ALICE, "am_notified_overpayment", soon, overpayment_notified=1200.5, recovered=300)
    cs.decide(a["case_id"], ALICE, "am_financial_penalty", soon, overpayment_notified=800)
    b = cs.open(BOB, [top(store, "pharmacy_collusion")[0]])
    biller = next(e for e in a["entities"] if e["entity_type"] == "provider")
    region = biller["postcode"][:2]

    assert [c["case_id"] for c in cs.list()[0]] == [b["case_id"], a["case_id"]]
    assert [c["case_id"] for c in cs.list(status="in_review")[0]] == [a["case_id"]]
    assert [c["case_id"] for c in cs.list(assignee="alice")[0]] == [a["case_id"]]
    assert [c["case_id"] for c in cs.list(pattern="pharmacy_collusion")[0]] == [b["case_id"]]
    assert a["case_id"] in [c["case_id"] for c in cs.list(region=region)[0]]
    assert cs.list(region="00")[1] == 0
    assert [c["case_id"] for c in cs.list(profession=biller["kind"])[0]][-1] == a["case_id"]
    row = cs.list(status="in_review")[0][0]
    assert (row["decisions"], row["overpayment_notified"], row["recovered"], row["patterns"]) == (
        2, 2000.5, 300.0, ["double_billing"])

    k = kpis(store)
    assert k["cases_by_status"] == [{"status": "in_review", "cases": 1}, {"status": "open", "cases": 1}]
    assert {"assignee": "alice", "status": "in_review", "cases": 1} in k["cases_by_assignee"]
    year = int(soon[:4])
    assert k["time_to_decision"] == [{"year": year, "cases": 1, "median_days": 10.0, "mean_days": 10.0}]
    assert isinstance(k["time_to_decision"][0]["median_days"], float)
    amounts = {r["action"]: r for r in k["amounts"]}
    assert (amounts["am_notified_overpayment"]["overpayment_notified"], amounts["am_notified_overpayment"]["recovered"],
            amounts["am_notified_overpayment"]["profession"]) == (1200.5, 300.0, biller["kind"])
    assert amounts["am_notified_overpayment"]["estimated_harm"] is None    # not given: not €0.00
    assert kpis(store, year - 5)["amounts"] == []
    long = rows(k)
    assert {"year": year, "indicator": "recovered", "status": None, "assignee": None,
            "action": "am_notified_overpayment", "profession": biller["kind"], "value": 300.0} in long

    text = csv_bytes(("a", "b", "c"), [{"a": "=SUM(A1)", "b": 1200.5, "c": "é"}], ";")
    assert text.startswith(b"\xef\xbb\xbf") and text.decode("utf-8-sig") == "a;b;c\r\n'=SUM(A1);1200,5;é\r\n"
    assert csv_bytes(("b",), [{"b": 1200.5}]).decode("utf-8-sig") == "b\r\n1200.5\r\n"
    with pytest.raises(ValueError):
        csv_bytes(("a",), [], "|")


def test_the_command_line_offers_the_store_s_statuses_and_qualifications():
    from cli.main import cases_list, cases_status
    options = {p.name: p for p in cases_status.params}
    assert tuple(options["status"].type.choices) == STATUSES
    assert tuple(options["qualification"].type.choices) == QUALIFICATIONS
    assert tuple(next(p for p in cases_list.params if p.name == "status").type.choices) == STATUSES


def test_a_store_made_before_the_patient_count_and_opening_day_gets_them(store):
    cs = CaseStore(store)
    cid = cs.open(ALICE, [top(store, "dense_block")[0]])["case_id"]
    con = sqlite3.connect(store.root / "history.sqlite")
    con.execute("ALTER TABLE cases DROP COLUMN patients")
    con.execute("ALTER TABLE cases DROP COLUMN opened_on")
    con.commit()
    con.close()
    case = cs.get(cid)
    assert (case["opened_on"], case["patients"]) == (case["opened_at"][:10], None)     # not counted then: unknown
    assert cs.list()[0][0]["patients"] is None
    cs.update(cid, ALICE, 1, status="in_review")
    assert cs.decide(cid, ALICE, "secm_warning", case["opened_on"])["decisions"][0]["decided_on"] == case["opened_on"]


def test_a_run_measuring_impact_is_named_current_held_or_plain():
    """A held run may have scanned other data: a reader of the case's impact is told so."""
    from cases.views import run_label
    assert run_label({"run_id": "r1", "current": True, "status": "succeeded"}) == "r1 (current)"
    assert run_label({"run_id": "r2", "current": False, "status": "held"}) == "r2 (held by its checks, never current)"
    assert run_label({"run_id": "r3", "current": False, "status": "succeeded"}) == "r3"
    # removed by retention, a held run is still told held (a reviewer read its measure as a current run's)
    assert run_label({"run_id": "r4", "current": False, "status": "held", "removed": True}) == \
        "r4 (held by its checks, never current; removed by retention; its measures kept)"
    assert run_label({"run_id": "r5", "current": False, "status": "succeeded", "removed": True}) == \
        "r5 (removed by retention; its measures kept)"


def test_case_history_says_a_change_without_none_on_every_face(store, monkeypatch):
    """`cases show` printed `assigned from=None, to=bob`, `deadline=None` and
    `overpayment_notified={'from': None, 'to': 50.0}`, and the case file the same: a first
    assignee or qualification has no previous value to say, an unassignment is `to nobody`."""
    from click.testing import CliRunner

    from cases.report import render
    from cli.main import main
    cs = CaseStore(store)
    cid = cs.open(ALICE, [top(store, "double_billing")[0]], opened_on="2025-06-01")["case_id"]
    cs.update(cid, ALICE, None, assignee="bob")
    cs.update(cid, ALICE, None, status="in_review")
    cs.update(cid, ALICE, None, status="confirmed", qualification="fraud")
    cs.decide(cid, ALICE, "secm_warning", "2025-07-01")
    cs.update_decision(cid, 1, ALICE, None, overpayment_notified=50)
    cs.update(cid, ALICE, None, assignee="")
    monkeypatch.setenv("FRAUDNET_STORE", str(store.root))
    done = CliRunner().invoke(main, ["cases", "show", cid])
    assert done.exit_code == 0, done.output
    history = done.output.split("\n  v1 ", 1)[1]
    assert "None" not in history and "{" not in history, history
    for said in ("alice (analyst) assigned to bob\n", "status in_review (was open)\n", "qualified fraud\n",
                 "status confirmed (was in_review)\n", "decided action=secm_warning, decided_on=2025-07-01, decision_id=1\n",
                 "decision_updated decision_id=1, overpayment_notified=50.0 (was not given)\n",
                 "assigned to nobody (was bob)\n"):
        assert said in history, (said, history)
    page = render(store, cid).split("<section id='history'>", 1)[1]
    assert "None" not in page and "to nobody (was bob)" in page and "(was not given)" in page
