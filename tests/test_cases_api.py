"""The cases over HTTP and from the command line: roles, If-Match and 409 on a stale version,
concurrent writers from several processes, exports, the case file's content, the audit log."""
import base64
import json
import re
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import parse_keys
from cli.main import main as cli_main
from runs.audit import node_target, read_audit
from runs.store import Store

from .conftest import REPO

ADMIN, ANALYST, VIEWER = "admin-key-0123456789abcdef", "analyst-key-0123456789abcdef", "viewer-key-0123456789abcdef"
KEYS = f"ops:admin:{ADMIN},alice:analyst:{ANALYST},vic:viewer:{VIEWER}"


def h(key=ANALYST, **more):
    return {"X-API-Key": key, **more}


@pytest.fixture()
def store(region, tmp_path):
    shutil.copytree(region["store"].root, tmp_path / "store")
    return Store(tmp_path / "store")


@pytest.fixture()
def client(store):
    with TestClient(create_app(store, parse_keys(KEYS, "test"))) as c:
        yield c


def alert(client, pattern):
    return client.get(f"/api/v1/alerts?pattern={pattern}&limit=1", headers=h()).json()["data"][0]["alert_id"]


def test_viewers_read_analysts_work_cases_and_changes_need_the_version_read(client, store):
    a = alert(client, "double_billing")
    r = client.post("/api/v1/cases", json={"alerts": [a]}, headers=h(VIEWER))
    assert (r.status_code, r.json()) == (403, {"detail": "this needs the analyst or admin role; key 'vic' has role 'viewer'"})
    r = client.post("/api/v1/cases", json={"alerts": [a], "assignee": "alice", "opened_on": "2025-06-01"}, headers=h())
    assert r.status_code == 201 and r.headers["location"] == "/api/v1/cases/C-00001" and r.headers["etag"] == '"1"'
    opened = read_audit(store, limit=1)[0][0]       # the case's alerts were read from the current run
    assert (opened["action"], opened["target"], opened["run"]) == ("cases.open", "case:C-00001", store.current())
    r = client.post("/api/v1/cases", json={"alerts": [a]}, headers=h(ADMIN))
    assert (r.status_code, r.json()) == (409, {"detail": f"alert {a} is already in case C-00001: work it there "
                                                         "(reopen it if it is closed)"})
    assert client.post("/api/v1/cases", json={}, headers=h()).status_code == 422

    got = client.get("/api/v1/cases/C-00001", headers=h(VIEWER))
    assert got.status_code == 200 and got.headers["etag"] == '"1"' and got.json()["alerts"][0]["alert_id"] == a
    assert got.json()["alerts"][0]["first_seen_run"] == got.json()["alerts"][0]["last_seen_run"] == store.current()
    r = client.patch("/api/v1/cases/C-00001", json={"status": "in_review"}, headers=h())
    assert (r.status_code, r.json()) == (428, {"detail": "this change needs an If-Match header with the version of "
                                                         "case C-00001 you read: send back the ETag that "
                                                         "GET /api/v1/cases/C-00001 answered"})
    # worded for a person: no regular expression, no parser's jargon, no template left literal
    for kw, detail in (
            ({"json": {"title": " \ufeff"}, "headers": h(**{"If-Match": '"1"'})},
             "body parameter 'title': must not be blank"),
            ({"content": b'{"title": "x",}', "headers": h(**{"If-Match": '"1"', "Content-Type": "application/json"})},
             "the body is not valid JSON: Expecting property name enclosed in double quotes (at character 14)"),
            ({"json": {"title": "x"}, "headers": h(**{"If-Match": "v1"})},
             "header parameter 'If-Match': must be the version of case C-00001, as the ETag of "
             'GET /api/v1/cases/C-00001 gives it: a number, quoted or not ("2", W/"2" or 2)')):
        r = client.patch("/api/v1/cases/C-00001", **kw)
        assert (r.status_code, r.json()) == (422, {"detail": detail})
    r = client.patch("/api/v1/cases/C-00001", json={"status": "in_review"}, headers=h(**{"If-Match": '"1"'}))
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and r.json()["status"] == "in_review"
    r = client.patch("/api/v1/cases/C-00001", json={"assignee": "bob"}, headers=h(**{"If-Match": '"1"'}))
    assert (r.status_code, r.json()) == (409, {"detail": "case C-00001 changed since you read it (it is at version 2, "
                                                         "you sent 1): reload it and apply your change again"})
    r = client.patch("/api/v1/cases/C-00001", json={"status": "confirmed"}, headers=h(**{"If-Match": "2"}))
    assert (r.status_code, r.json()["detail"]) == (409, "confirming case C-00001 needs a qualification "
                                                        "(administrative_error, abuse, fraud)")
    r = client.patch("/api/v1/cases/C-00001", json={"status": "confirmed", "qualification": "fraud"},
                     headers=h(**{"If-Match": 'W/"2"'}))
    assert r.status_code == 200 and r.json()["outcome"] == "confirmed"
    r = client.post("/api/v1/cases/C-00001/decisions", json={"action": "secm_compliance_request",
                                                             "decided_on": "2025-07-01"}, headers=h())
    assert (r.status_code, r.json()) == (422, {"detail": "deadline: action secm_compliance_request needs a deadline "
                                                         "(YYYY-MM-DD)"})
    for wrong, said in (({"decided_on": "2999-01-01"}, "decided_on: 2999-01-01 is in the future (today is "),
                        ({"decided_on": "2025-05-31"}, "decided_on: 2025-05-31 is before case C-00001 was opened "
                                                       "(2025-06-01)"),
                        ({"overpayment_notified": 100, "recovered": 150},
                         "recovered: 150.00 is more than the overpayment notified (100.00 euros)")):
        r = client.post("/api/v1/cases/C-00001/decisions", json={"action": "am_notified_overpayment",
                                                                 "decided_on": "2025-07-01", **wrong}, headers=h())
        assert r.status_code == 422 and r.json()["detail"].startswith(said), r.json()
    r = client.post("/api/v1/cases/C-00001/decisions", json={"action": "secm_warning", "decided_on": "2025-07-01",
                                                             "estimated_harm": -1}, headers=h())
    assert (r.status_code, r.json()) == (422, {"detail": "estimated_harm: -1.0 is not an amount in euros ≥ 0"})
    r = client.post("/api/v1/cases/C-00001/decisions", json={"action": "secm_compliance_request", "decided_on": "2025-07-01",
                                                             "deadline": "2025-09-30", "estimated_harm": 1000},
                    headers=h())
    assert r.status_code == 201 and r.json()["decisions"][0]["deadline"] == "2025-09-30"
    d = r.json()["decisions"][0]["decision_id"]
    r = client.patch(f"/api/v1/cases/C-00001/decisions/{d}", json={"recovered": 400}, headers=h(**{"If-Match": '"4"'}))
    assert r.status_code == 200 and r.json()["decisions"][0]["recovered"] == 400
    r = client.post("/api/v1/cases/C-00001/notes", json={"text": "a viewer cannot"}, headers=h(VIEWER))
    assert r.status_code == 403
    assert client.get("/api/v1/cases/C-9", headers=h()).json() == {"detail": "no case 'C-9'"}

    # every read and change is audited (who, what); the case's own history has who, role and when
    actions = [(e["who"], e["action"], e["target"]) for e in read_audit(store, limit=100)[0]]
    assert ("vic", "cases.get", "case:C-00001") in actions and ("alice", "cases.decide", "case:C-00001") in actions
    history = client.get("/api/v1/cases/C-00001", headers=h()).json()["history"]
    assert [(e["who"], e["role"], e["action"]) for e in history] == [
        ("alice", "analyst", "opened"), ("alice", "analyst", "status"), ("alice", "analyst", "qualified"),
        ("alice", "analyst", "status"), ("alice", "analyst", "decided"), ("alice", "analyst", "decision_updated")]
    # the alert knows its case
    assert client.get(f"/api/v1/alerts/{a}", headers=h()).json()["case_id"] == "C-00001"


def test_lists_filters_exports_and_indicators(client):
    for pattern in ("double_billing", "dense_block"):
        client.post("/api/v1/cases", json={"alerts": [alert(client, pattern)]}, headers=h())
    listed = client.get("/api/v1/cases?pattern=dense_block", headers=h(VIEWER)).json()
    assert listed["count"] == 1 and listed["data"][0]["patterns"] == ["dense_block"]
    assert client.get("/api/v1/cases?status=closed", headers=h()).json() == {"data": [], "count": 0}
    assert client.get("/api/v1/cases?region=6-9", headers=h()).status_code == 422
    csv = client.get("/api/v1/cases/export.csv?sep=;", headers=h(VIEWER))
    assert csv.headers["content-type"].startswith("text/csv") and csv.content.startswith(b"\xef\xbb\xbf")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("case_id;title;status;") and len(lines) == 3
    kp = client.get("/api/v1/cases/kpis", headers=h()).json()
    assert kp["cases_by_status"] == [{"status": "open", "cases": 2}]
    assert client.get("/api/v1/cases/kpis.csv", headers=h()).content.decode("utf-8-sig").splitlines()[0] == \
        "year,indicator,status,assignee,action,profession,value"
    case = client.get("/api/v1/cases/C-00001", headers=h()).json()
    provider = next(e["entity_id"] for e in case["entities"] if e["entity_type"] == "provider")
    prof = client.get(f"/api/v1/entities/provider/{provider}/profile", headers=h(VIEWER)).json()
    assert prof["profile"]["provider_id"] == provider and prof["profile"]["peer_medians"]["peers"] >= 3
    assert [c["case_id"] for c in prof["cases"]] == ["C-00001"]
    assert prof["risk_history"][0]["current"] and prof["risk_history"][0]["alerts"] >= 1
    assert client.get("/api/v1/entities/provider/nobody/profile", headers=h()).status_code == 404
    actions = client.get("/api/v1/cases/actions", headers=h(VIEWER)).json()
    assert actions["count"] == 13 and {"id", "label", "insurer", "level", "source", "deadline"} == set(actions["data"][0])


def test_the_case_file_over_http_has_the_picture_the_chart_and_all_the_evidence(client, store):
    a = alert(client, "dense_block")
    client.post("/api/v1/cases", json={"alerts": [a], "note": "borrowed list?"}, headers=h())
    r = client.get("/api/v1/cases/C-00001/report", headers=h(VIEWER))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<script" not in html and not re.search(r"""(src|href)=["']?(https?:|//)""", html)   # self-contained
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="network"') == 1
    assert html.count('class="peer-chart"') == 1 and 'class="subject"' in html
    con = store.connect()
    lines = con.execute("SELECT count(*) FROM evidence WHERE alert_id = $a", {"a": a}).fetchall()[0][0]
    patients = {p for (p,) in con.execute("SELECT DISTINCT patient_id FROM evidence WHERE alert_id = $a", {"a": a}).fetchall()}
    con.close()
    evidence = html.split("<section id='evidence'>")[1].split("</section>")[0]
    assert f"{lines:,} line(s)" in evidence and evidence.count("<tr>") == lines + 1    # the heading, then every line
    data = re.search(r"href='data:text/csv;base64,([^']+)'", html).group(1)
    assert len(base64.b64decode(data).decode("utf-8-sig").splitlines()) == lines + 1
    assert f"<b>{len(patients):,}</b>patient(s), counted not named" in html
    assert not any(p in html for p in patients)          # patients counted, never named
    assert "borrowed list?" in html


def test_concurrent_writers_from_the_api_and_two_processes_lose_nothing(client, store):
    """One case, written to at once by the API (a thread of requests), a process making 40
    changes through the case store, and the `fraudnet` command line: every note is kept, each
    change has its own version, and the history has them all."""
    client.post("/api/v1/cases", json={"alerts": [alert(client, "peer_outlier")]}, headers=h())
    script = ("import sys\nfrom runs.store import Store\nfrom cases.store import Actor, CaseStore\n"
              "cs = CaseStore(Store(sys.argv[1]))\n"
              "for k in range(40): cs.note('C-00001', Actor('worker', 'cli'), f'process note {k}')\n")
    worker = subprocess.Popen([sys.executable, "-c", script, str(store.root)], cwd=REPO)
    cli = subprocess.Popen(["bash", "-c", " && ".join(
        f"{sys.executable} -m cli.main cases note C-00001 'cli note {k}' --store {store.root}" for k in range(3))],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    errors = []

    def api_notes():
        for k in range(40):
            r = client.post("/api/v1/cases/C-00001/notes", json={"text": f"api note {k}"}, headers=h())
            if r.status_code != 201:
                errors.append(r.text)
    t = threading.Thread(target=api_notes)
    t.start()
    t.join()
    assert worker.wait(120) == 0
    out, _ = cli.communicate(timeout=120)
    assert cli.returncode == 0, out
    assert not errors
    case = client.get("/api/v1/cases/C-00001", headers=h()).json()
    texts = sorted(n["text"] for n in case["notes"])
    assert texts == sorted([f"api note {k}" for k in range(40)] + [f"process note {k}" for k in range(40)]
                           + [f"cli note {k}" for k in range(3)])
    noted = [e for e in case["history"] if e["action"] == "noted"]
    assert len(noted) == 83 and sorted(e["version"] for e in noted) == list(range(2, 85)) and case["version"] == 84


def test_two_clients_editing_one_case_lose_nothing(client):
    """Both read version 1; the first change wins, the second gets 409, reloads and applies its own
    change on top: both changes are in the case."""
    client.post("/api/v1/cases", json={"alerts": [alert(client, "entity_network")]}, headers=h())
    first = client.patch("/api/v1/cases/C-00001", json={"assignee": "alice"}, headers=h(**{"If-Match": '"1"'}))
    second = client.patch("/api/v1/cases/C-00001", json={"title": "dental centres"}, headers=h(ADMIN, **{"If-Match": '"1"'}))
    assert (first.status_code, second.status_code) == (200, 409)
    etag = client.get("/api/v1/cases/C-00001", headers=h(ADMIN)).headers["etag"]
    again = client.patch("/api/v1/cases/C-00001", json={"title": "dental centres"}, headers=h(ADMIN, **{"If-Match": etag}))
    assert again.status_code == 200
    case = again.json()
    assert (case["assignee"], case["title"], case["version"]) == ("alice", "dental centres", 3)


def test_the_command_line_walks_a_case(store, tmp_path):
    def run(*args, code=0):          # in-process (17 commands): the README's examples run the real `fraudnet`
        done = CliRunner().invoke(cli_main, [*args, "--store", str(store.root)])
        assert done.exit_code == code, done.output
        return done.output
    con = store.connect()
    a, provider = con.execute("SELECT a.alert_id, e.entity_id FROM alerts a JOIN alert_entities e USING (alert_id) "
                              "WHERE a.pattern = 'double_billing' AND e.role = 'biller' ORDER BY a.rank LIMIT 1").fetchall()[0]
    con.close()
    assert run("cases", "open", a, "--assignee", "alice", "--opened-on", "2025-06-01").startswith(
        "opened C-00001: double_billing: ")
    opened = read_audit(store, limit=1)[0][0]       # the case's alerts were read from the current run
    assert (opened["role"], opened["action"], opened["target"], opened["run"]) == \
        ("cli", "cases.open", "case:C-00001", store.current())
    assert run("cases", "status", "C-00001", "confirmed", code=1) == \
        "error: confirming case C-00001 needs a qualification (administrative_error, abuse, fraud)\n"
    assert run("cases", "status", "C-00001", "confirmed", "--qualification", "abuse") == \
        "C-00001 is confirmed (abuse) (version 2)\n"
    assert run("cases", "assign", "C-00001", "bob", "--if-version", "1", code=1) == \
        "error: case C-00001 changed since version 1 (it is at version 2): show it again and retry\n"
    assert run("cases", "decide", "C-00001", "secm_warning", "--date", "2025-13-01", code=2) == \
        "error: invalid:\n  - --date: '2025-13-01' is not a date (expected YYYY-MM-DD)\n"
    assert run("cases", "decide", "C-00001", "am_notified_overpayment", "--date", "2999-01-01", "--notified", "10",
               "--recovered", "20", code=2) == (
        f"error: invalid:\n  - --date: 2999-01-01 is in the future (today is {datetime.now(timezone.utc).date()})\n"
        "  - --recovered: 20.00 is more than the overpayment notified (10.00 euros)\n")
    assert run("cases", "decide", "C-00001", "secm_warning", "--date", "2025-05-01", code=2) == \
        "error: invalid:\n  - --date: 2025-05-01 is before case C-00001 was opened (2025-06-01)\n"
    run("cases", "decide", "C-00001", "secm_warning", "--date", "2025-07-01", "--harm", "500")
    run("cases", "decide", "C-00001", "--update", "1", "--recovered", "120")
    shown = run("cases", "show", "C-00001")
    assert "decision 1: 2025-07-01 secm_warning; estimated harm €500.00, recovered €120.00" in shown
    assert re.search(r"P\d{7}", shown) is None
    run("cases", "report", "C-00001", "--out", str(tmp_path / "c.html"))
    assert 'class="network"' in (tmp_path / "c.html").read_text()
    listed = run("cases", "list", "--csv", str(tmp_path / "cases.csv"), "--sep", ";")
    assert listed == f"wrote {tmp_path / 'cases.csv'}: 1 case(s)\n"
    assert (tmp_path / "cases.csv").read_bytes().startswith(b"\xef\xbb\xbfcase_id;title;status;outcome;assignee")
    one = run("alert", a, "--evidence", str(tmp_path / "lines.csv"))
    assert "case C-00001 (confirmed)" in one and "evidence: " in one
    assert re.search(r"P\d{7}", (tmp_path / "lines.csv").read_text()) is None
    for written in ("c.html", "cases.csv", "lines.csv"):       # case and claim data: owner-only, as exports
        assert (tmp_path / written).stat().st_mode & 0o777 == 0o600, written
    ent = run("entity", "provider", provider)
    assert "billing against" in ent and "case C-00001 (confirmed, as accused)" in ent and "(current): risk" in ent
    assert "secm_compliance_request" in run("cases", "actions")
    shown = run("cases", "kpis")
    assert "cases by status: confirmed 1" in shown
    assert "2025: 1 case(s) decided, median 30.0 days, mean 30.0 days to decision" in shown   # opened 2025-06-01


def test_a_case_on_a_patient_names_that_patient_to_its_readers_and_nowhere_else(client, store, caplog):
    con = store.connect()
    a, patient = con.execute("SELECT a.alert_id, e.entity_id FROM alerts a JOIN alert_entities e USING (alert_id) "
                             "WHERE a.pattern = 'doctor_shopping' AND e.role = 'shopper' ORDER BY a.rank LIMIT 1"
                             ).fetchall()[0]
    billed = con.execute("SELECT DISTINCT patient_id FROM evidence WHERE alert_id = (SELECT alert_id FROM alerts "
                         "WHERE pattern = 'double_billing' ORDER BY rank LIMIT 1)").fetchall()
    con.close()
    opened = client.post("/api/v1/cases", json={"alerts": [a]}, headers=h())
    assert opened.status_code == 201
    for case in (opened.json(), client.get("/api/v1/cases/C-00001", headers=h(VIEWER)).json()):
        # the accused patient, by the pseudonymous id the input carries, with its role
        assert [(e["entity_id"], e["roles"]) for e in case["entities"] if e["entity_type"] == "patient"] == \
            [(patient, "shopper")]
        assert case["patients"] >= 1 and patient not in case["title"] and patient not in json.dumps(case["history"])
    report = client.get("/api/v1/cases/C-00001/report", headers=h(VIEWER))
    assert report.status_code == 200 and f"<td>{patient}</td>" in report.text
    assert client.get("/api/v1/cases/C-00001").status_code == 401
    actions = [(e["who"], e["action"], e["target"]) for e in read_audit(store, limit=100)[0]]
    named = node_target(store, f"patient:{patient}")          # the patient the case shows, by its pseudonym
    assert ("vic", "cases.get", f"case:C-00001 {named}") in actions
    assert ("vic", "cases.report", f"case:C-00001 {named}") in actions
    assert patient not in json.dumps(read_audit(store, limit=100)[0]) and patient not in caplog.text
    # "who read this patient?" finds the reads of the case that shows it
    reads = client.get(f"/api/v1/audit?target=patient:{patient}&limit=100", headers=h(ADMIN)).json()["data"]
    assert {(r["who"], r["action"]) for r in reads} >= {("vic", "cases.get"), ("vic", "cases.report")}
    # a provider's case names none of the patients it billed: they are counted only
    client.post("/api/v1/cases", json={"alerts": [alert(client, "double_billing")]}, headers=h())
    case = client.get("/api/v1/cases/C-00002", headers=h()).json()
    assert all(e["entity_type"] != "patient" for e in case["entities"]) and case["patients"] == len(billed) > 1


def cli(store, *args, code=0):
    """`fraudnet ARGS --store STORE`, run in this process (click's runner: the README's examples run the
    real command): its output (stdout and stderr), asserting the exit code."""
    done = CliRunner().invoke(cli_main, [*args, "--store", str(store.root)])
    assert done.exit_code == code, done.output
    return done.output


def test_a_qualification_is_refused_on_a_case_that_is_not_confirmed(client, store):
    """README, The life of a case: only a confirmed case (or one being confirmed) is qualified;
    refused like the other moves a status does not allow (exit 1, 409), naming the status."""
    client.post("/api/v1/cases", json={"alerts": [alert(client, "double_billing")]}, headers=h())
    said = ("case C-00001 is {}: a qualification is given to a confirmed case (confirm it with its qualification: "
            "administrative_error, abuse, fraud)")
    r = client.patch("/api/v1/cases/C-00001", json={"qualification": "fraud"}, headers=h(**{"If-Match": '"1"'}))
    assert (r.status_code, r.json()) == (409, {"detail": said.format("open")})
    assert cli(store, "cases", "status", "C-00001", "in_review", "--qualification", "abuse", code=1) == \
        f"error: {said.format('open, moving to in_review')}\n"
    assert cli(store, "cases", "status", "C-00001", "dismissed", "--qualification", "abuse", code=1) == \
        f"error: {said.format('open, moving to dismissed')}\n"
    case = client.get("/api/v1/cases/C-00001", headers=h()).json()
    assert (case["status"], case["qualification"], case["version"]) == ("open", None, 1)     # nothing recorded
    # confirming with one, then changing it while confirmed, is accepted; once closed it stays as it was
    assert cli(store, "cases", "status", "C-00001", "confirmed", "--qualification", "abuse") == \
        "C-00001 is confirmed (abuse) (version 2)\n"
    r = client.patch("/api/v1/cases/C-00001", json={"qualification": "fraud"}, headers=h(**{"If-Match": '"2"'}))
    assert r.status_code == 200 and r.json()["qualification"] == "fraud"
    r = client.patch("/api/v1/cases/C-00001", json={"status": "closed", "qualification": "abuse"},
                     headers=h(**{"If-Match": '"3"'}))
    assert (r.status_code, r.json()) == (409, {"detail": said.format("confirmed, moving to closed")})


def test_a_case_opened_on_a_patient_alone_is_worded_for_what_it_is(client, store, tmp_path):
    """No alert: no evidence lines and no patient "named by the alerts", but the patient named."""
    con = store.connect()
    patient, = con.execute("SELECT entity_id FROM nodes WHERE entity_type = 'patient' ORDER BY 1 LIMIT 1").fetchall()[0]
    con.close()
    assert cli(store, "cases", "open", "--entity", f"patient:{patient}") == \
        "opened C-00001: entities: a patient (0 alert(s), 1 entities, 1 patient(s) named when it was opened)\n"
    shown = cli(store, "cases", "show", "C-00001")
    assert f"entities: patient {patient} " in shown and "; 1 patient(s) named when it was opened\n" in shown
    assert "named by the alerts" not in shown and "evidence lines" not in shown
    cli(store, "cases", "report", "C-00001", "--out", str(tmp_path / "c.html"))
    assert "<p>Patients: 1 patient(s) named when it was opened; the case has no alert, so no evidence lines.</p>" \
        in (tmp_path / "c.html").read_text()
    assert cli(store, "cases", "open", "--entity", "provider:" + alert(client, "peer_outlier").split(":")[-1]) \
        .endswith(" (0 alert(s), 1 entities, no patient)\n")


def test_the_command_line_refuses_the_case_filters_the_api_refuses(client, store):
    """One rule (`cases.store.filter_problems`, the API's parameters): what one face refuses, the other does."""
    for region in ("x y", "", "69-", "1234567890A", "69é"):
        assert client.get("/api/v1/cases", params={"region": region}, headers=h()).status_code == 422, region
        assert cli(store, "cases", "list", "--region", region, code=2) == (
            f"error: invalid:\n  - --region: {region!r} is not a postcode prefix (1 to 10 letters and digits, e.g. 69)\n")
    assert client.get("/api/v1/cases", params={"profession": "x" * 101}, headers=h()).status_code == 422
    assert cli(store, "cases", "list", "--profession", "x" * 101, code=2) == \
        "error: invalid:\n  - --profession: 101 characters, at most 100\n"
    for region in ("69", "2A", "1234567890"):
        assert client.get("/api/v1/cases", params={"region": region}, headers=h()).json() == {"data": [], "count": 0}
        assert cli(store, "cases", "list", "--region", region).endswith("\n0 case(s)\n"), region


def test_no_error_echoes_a_patient_id(client, store, caplog):
    """Every error path that reads a patient by id, on both faces: it says there is no such
    patient in the run, never the id given (providers keep theirs: they are not patients)."""
    ghost, run = "ZQXPAT0042", store.current()
    provider = alert(client, "peer_outlier").split(":")[-1]
    outputs = [
        cli(store, "cases", "open", "--entity", f"patient:{ghost}", code=1),
        cli(store, "cases", "open", "--entity", f"patient:{ghost}", "--run", run, code=1),
        cli(store, "entity", "patient", ghost, code=1),
        cli(store, "entity", "patient", ghost, "--run", run, code=1),
        cli(store, "cases", "open", "--entity", f"patiant:{ghost}", "--entity", ghost, code=2),
    ]
    assert outputs[:4] == ["error: no such patient in the current run\n", f"error: no such patient in run {run}\n"] * 2
    for method, url, body in (
            ("POST", "/api/v1/cases", {"entities": [f"patient:{ghost}"]}),
            ("POST", "/api/v1/cases", {"entities": [f"patient:{ghost}"], "run": run}),
            ("POST", "/api/v1/cases", {"entities": [f"patiant:{ghost}"]}),
            ("GET", f"/api/v1/entities/patient/{ghost}", None),
            ("GET", f"/api/v1/entities/patient/{ghost}?run={run}", None),
            ("GET", f"/api/v1/entities/patient/{ghost}/profile", None),
            ("GET", f"/api/v1/entities/patient/{ghost}/neighbourhood", None),
            ("GET", f"/api/v1/paths?from=patient:{ghost}&to=provider:{provider}", None),
            ("GET", f"/api/v1/alerts?entity=patient:{ghost}", None)):
        r = client.request(method, url, json=body, headers=h())
        outputs.append(r.text)
        assert r.status_code in (200, 404, 422), (url, r.status_code)
    assert json.loads(outputs[6]) == {"detail": f"no such patient in run {run}"}
    assert json.loads(outputs[8]) == {"detail": "no such patient in the current run"}
    assert json.loads(outputs[9]) == {"detail": f"no such patient in run {run}"}
    assert [o for o in outputs if ghost in o] == [] and ghost not in caplog.text
    # another entity type keeps its id
    assert cli(store, "entity", "provider", "ZQX999", code=1) == "error: no provider 'ZQX999'\n"
    assert client.get("/api/v1/entities/provider/ZQX999", headers=h()).json() == {"detail": "no provider 'ZQX999'"}


def test_no_error_echoes_the_id_typed_for_a_patient_centred_alert(client, store, caplog):
    """A doctor_shopping or mega_consumer alert is about one patient; an id typed for one with a
    wrong suffix (a patient's own id, say) was echoed by the not-found error. Neither face repeats
    it, nor the access log or the audit; other patterns keep their ids in the message."""
    ghost, run = "ZQXPAT0042", store.current()
    for pattern in ("doctor_shopping", "mega_consumer"):
        typed = f"{pattern}:{ghost}"
        said = f"no such {pattern} alert in the current run (the id given is not repeated)"
        assert cli(store, "alert", typed, code=1) == f"error: {said}\n"
        in_run = said.replace("the current run", f"run {run}")
        assert cli(store, "alert", typed, "--run", run, code=1) == f"error: {in_run}\n"
        assert cli(store, "cases", "open", typed, code=1) == f"error: {said}\n"
        with caplog.at_level("INFO"):
            r = client.get(f"/api/v1/alerts/{typed}", headers=h())
            assert (r.status_code, r.json()) == (404, {"detail": said})
            r = client.get(f"/api/v1/alerts/{typed}?run={run}", headers=h())
            assert (r.status_code, r.json()) == (404, {"detail": said.replace("the current run", f"run {run}")})
            r = client.post("/api/v1/cases", json={"alerts": [typed]}, headers=h())
            assert (r.status_code, r.json()) == (404, {"detail": said})
    logged = [r for r in caplog.records if r.name.startswith("fraudnet")]        # not the test client's own
    assert logged and not [r for r in logged if ghost in r.getMessage()]
    assert not [e for e in read_audit(store, limit=1000)[0] if ghost in json.dumps(e)]
    assert cli(store, "alert", "peer_outlier:ZQX999", code=1) == "error: no alert 'peer_outlier:ZQX999'\n"
    assert client.get("/api/v1/alerts/nope", headers=h()).json() == {"detail": "no alert 'nope'"}


def test_a_peer_median_of_a_share_is_printed_as_a_share(client, store, tmp_path):
    """`fraudnet alert` printed a share's value with its `%` and the peers' median and 90th
    percentile of the same share without it (`48.61 % of its patients; 36 peers: median 3.86`);
    every figure of a share now carries its `%`, in the case file too; other units are left bare."""
    block, rebilled = alert(client, "dense_block"), alert(client, "double_billing")
    share = re.compile(r"^patients also billed by another provider of the block: [\d,.]+% of its patients; \d+ peers: "
                       r"median [\d,.]+%, 90th percentile [\d,.]+%; above \d+% of peers$", re.M)
    assert share.search(cli(store, "alert", block))
    rate = re.compile(r"^lines billed again for the same patient, act and day: [\d,.]+ per 100 patient-act-days; \d+ "
                      r"peers: median [\d,.]+, 90th percentile [\d,.]+; above \d+% of peers$", re.M)
    assert rate.search(cli(store, "alert", rebilled))
    cli(store, "cases", "open", block)
    cli(store, "cases", "report", "C-00001", "--out", str(tmp_path / "c.html"))
    page = (tmp_path / "c.html").read_text()
    assert re.search(r"[\d.]+% of its patients; [\d,]+ peers, median [\d,.]+%, 90th percentile [\d,.]+%; above", page)
    assert re.search(r"peer median [\d,.]+%</text>", page)


def test_a_case_is_shown_when_the_current_results_cannot_be_read(client, store, tmp_path):
    """The case is kept apart from the runs (SQLite in the store): with the current run's results
    file cut, `cases show`, `GET /cases/{id}` and the case file still show it, and say which run
    cannot be read."""
    a = alert(client, "double_billing")
    cli(store, "cases", "open", a, "--note", "billed twice")
    cli(store, "cases", "status", "C-00001", "in_review")
    current = store.current()
    path = store.results_path(current)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    shown = cli(store, "cases", "show", "C-00001")
    said = f"the current run {current} cannot be read (its results file is missing, cut or overwritten)"
    assert said + f": its scores and impact are not shown; see `fraudnet runs show {current}`\n" in shown
    assert f"  {a}  double_billing  score " in shown and "(score now unknown)" in shown
    assert "status in_review, " in shown and "note " in shown and " opened alerts=" in shown
    r = client.get("/api/v1/cases/C-00001", headers=h(VIEWER))
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    case = r.json()
    assert case["unreadable"] == [{"run_id": current, "current": True, "why": "its results file is missing, cut or "
                                                                              "overwritten"}]
    assert ([x["alert_id"] for x in case["alerts"]], case["alerts"][0]["current_score"]) == ([a], None)
    assert [n["text"] for n in case["notes"]] == ["billed twice"] and case["status"] == "in_review"
    cli(store, "cases", "report", "C-00001", "--out", str(tmp_path / "c.html"))
    page = (tmp_path / "c.html").read_text()
    assert f"<p class='warn' id='unreadable'>The current run {current} cannot be read" in page and a in page


def _damage_blocks(path, first=0):
    """Zero 4 KiB inside every block from the `first` (DuckDB's blocks: 256 KiB past its 12 KiB of
    headers): its size and header stay whole (the store's cheap check passes), DuckDB's block
    checksums fail on opening it (block 0 holds the catalogue) or on reading a table."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        for offset in range(12_288 + first * 262_144 + 1024, size - 4096, 262_144):
            f.seek(offset)
            f.write(bytes(4096))


@pytest.mark.parametrize("damage", ["missing", "cut", "blocks", "tables"])
def test_alert_and_entity_say_the_current_run_cannot_be_read(client, store, damage, region, tmp_path):
    """A fresh user cut the current run's results file (or damaged blocks inside it): `fraudnet
    alert`, `entity` and `alerts` failed with a traceback or `status damaged` (the run's status is
    succeeded); they say plainly which run cannot be read, exit 1 like the other refusals, and the
    API answers 409 with the same words, as `cases show` says it."""
    from runs import results
    with store.reading() as (current, con):     # closed before the damage: no block of it cached in this process
        a = results.alerts(con, "peer_outlier", limit=1)[0][0]["alert_id"]
    provider = a.split(":")[1]
    path = store.results_path(current)
    if damage in ("missing", "cut"):       # a missing file was "run … has no results (status succeeded)"
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)
        if damage == "missing":
            path.unlink()
        why = "its results file is missing, cut or overwritten"
    else:
        _damage_blocks(path, first=0 if damage == "blocks" else 1)
        why = "its results file is damaged: DuckDB found a block it cannot read"
    said = f"the current run {current} cannot be read ({why})"
    for args in (("alert", a), ("entity", "provider", provider), ("alerts",)):
        assert cli(store, *args, code=1) == f"error: {said}: see `fraudnet runs show {current}`\n", args
    assert cli(store, "entity", "provider", provider, "--run", current, code=1) == \
        f"error: run {current} cannot be read ({why}): see `fraudnet runs show {current}`\n"
    assert cli(store, "evaluate", "--truth", str(region["truth"]), code=1) == \
        f"error: {said}: see `fraudnet runs show {current}`\n"
    assert cli(store, "export", str(tmp_path / "out"), code=1) == f"error: {said}: see `fraudnet runs show {current}`\n"
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())    # nothing half-written
    for url in (f"/api/v1/alerts/{a}", f"/api/v1/entities/provider/{provider}", "/api/v1/alerts"):
        r = client.get(url, headers=h())
        assert (r.status_code, r.json()) == (409, {"detail": f"{said}: see GET /api/v1/runs/{current}"}), url
    r = client.get(f"/api/v1/alerts?run={current}", headers=h())
    assert (r.status_code, r.json()) == (409, {"detail": f"run {current} cannot be read ({why}): see GET "
                                                         f"/api/v1/runs/{current}"})


def test_an_older_run_that_cannot_be_read_does_not_stop_the_entity_view(client, store):
    """`fraudnet entity` reads the entity's risk in every run that was current: an older run whose
    results file was cut stopped it ("run … cannot be read") although the current run is whole;
    that run's line says it cannot be read, and the rest is shown."""
    current = store.current()
    older = "20200101T000000000000-0a1d"
    shutil.copytree(store.runs_dir / current, store.runs_dir / older)
    record = json.loads((store.runs_dir / older / "run.json").read_text())
    record.update(run_id=older, started_at="2020-01-01T00:00:00.000+00:00")
    (store.runs_dir / older / "run.json").write_text(json.dumps(record))
    path = store.results_path(older)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    provider = alert(client, "peer_outlier").split(":")[1]
    shown = cli(store, "entity", "provider", provider)
    assert re.search(rf"^run {current} \(current\): risk [\d.]+, \d+ alert\(s\)$", shown, re.M)
    assert shown.endswith(f"\nrun {older}: cannot be read (its results file is missing, cut or overwritten)\n")
    r = client.get(f"/api/v1/entities/provider/{provider}/profile", headers=h())
    assert r.status_code == 200 and r.json()["risk_history"][-1] == {
        "run_id": older, "started_at": "2020-01-01T00:00:00.000+00:00", "current": False, "score": None,
        "alerts": None, "unreadable": "its results file is missing, cut or overwritten"}


def test_entity_text_says_a_provider_s_roles_as_the_api_and_json_give_them(client, store):
    con = store.connect()
    found = dict(con.execute("SELECT roles, min(entity_id) FROM nodes WHERE entity_type = 'provider' GROUP BY roles"
                             ).fetchall())
    centre = con.execute("SELECT min(entity_id) FROM nodes WHERE entity_type = 'centre'").fetchone()[0]
    con.close()
    assert {"biller", "biller|prescriber"} <= set(found)
    for roles, provider in found.items():
        given = client.get(f"/api/v1/entities/provider/{provider}", headers=h()).json()["roles"]
        assert given == roles == json.loads(cli(store, "entity", "provider", provider, "--json"))["roles"]
        first = cli(store, "entity", "provider", provider).splitlines()[0]
        said = {"biller": "biller", "prescriber": "prescriber", "biller|prescriber": "biller and prescriber",
                "": "neither biller nor prescriber"}[roles]
        assert first.endswith(f"; in the claims scanned: {said}"), first
    assert "in the claims scanned" not in cli(store, "entity", "centre", centre)     # roles are a provider's
