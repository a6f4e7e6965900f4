"""The case file as an investigator sees it: served by `fraudnet serve`, opened in Debian's
headless Chromium (Playwright), read and printed. The network picture and the peer chart are
checked as drawn, the evidence table and its download against the run's results; screenshots and
the printed PDF are kept in test-artifacts/ (ignored by git)."""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys

import pytest

from cases.store import Actor, CaseStore
from runs.store import Store

from .conftest import REPO
from .neo4j_server import free_port
from .test_browser import ARTIFACTS, CHROMIUM, FLAGS, _wait_http

pytestmark = pytest.mark.browser
KEY = "viewer-key-0123456789abcdef"
RING = "#DA113B"


@pytest.fixture(scope="module")
def case(region, tmp_path_factory):
    """A confirmed dense-block case with a decision, in a copy of the region's store."""
    root = tmp_path_factory.mktemp("report") / "store"
    shutil.copytree(region["store"].root, root)
    store = Store(root)
    con = store.connect()
    alert_id, = con.execute("SELECT alert_id FROM alerts WHERE pattern = 'dense_block' ORDER BY rank LIMIT 1").fetchall()[0]
    lines = con.execute("SELECT count(*) FROM evidence WHERE alert_id = $a", {"a": alert_id}).fetchall()[0][0]
    patients = [p for (p,) in con.execute("SELECT DISTINCT patient_id FROM evidence WHERE alert_id = $a",
                                         {"a": alert_id}).fetchall()]
    dist = con.execute("SELECT subject_units, peer_median FROM peer_distribution WHERE alert_id = $a",
                       {"a": alert_id}).fetchall()[0]
    con.close()
    cs, who = CaseStore(store), Actor("alice", "analyst")
    c = cs.open(who, [alert_id], note="the same patients at every provider of the team")
    cs.update(c["case_id"], who, 1, status="confirmed", qualification="fraud")
    c = cs.decide(c["case_id"], who, "am_notified_overpayment", "2025-06-15", overpayment_notified=12000)
    return {"store": store, "case": c, "alert_id": alert_id, "lines": lines, "patients": patients,
            "subjects": dist[0], "median": dist[1]}


@pytest.fixture(scope="module")
def page(case):
    from playwright.sync_api import sync_playwright
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**os.environ, "FRAUDNET_API_KEYS": f"vic:viewer:{KEY}"}
    serve = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--store", str(case["store"].root),
                              "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, env=env,
                             stdout=open(ARTIFACTS / "case-serve.log", "wb"), stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/health", serve)
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = chromium.new_page(viewport={"width": 1100, "height": 1400})
            page.set_extra_http_headers({"X-API-Key": KEY})
            response = page.goto(f"http://127.0.0.1:{port}/api/v1/cases/{case['case']['case_id']}/report")
            assert response.status == 200
            page.screenshot(path=str(ARTIFACTS / "case-report.png"))      # the first screen: the evidence runs long
            yield page
            chromium.close()
    finally:
        serve.terminate()
        serve.wait(30)


def test_the_case_file_opens_with_its_facts(page, case):
    c = case["case"]
    assert page.title() == f"Case {c['case_id']}: {c['title']}"
    assert page.locator("#status").inner_text() == "confirmed"
    assert f"{len(case['patients']):,}\npatient(s), counted not named" in page.locator("#summary").inner_text()
    assert "Notified overpayment (notification d'indu)" in page.locator("#decisions").inner_text()
    assert "€12,000.00" in page.locator("#decisions").inner_text()
    # patients are counted, never named, anywhere on the page
    text = page.locator("body").inner_text()
    assert not any(p in text for p in case["patients"]) and re.search(r"\bP\d{7}\b", text) is None


def test_the_network_picture_is_drawn_with_the_case_entities_and_the_counted_patients(page, case):
    net = page.locator("svg.network")
    box = net.bounding_box()
    assert box and box["width"] > 500 and box["height"] > 300
    core = [f"provider:{p}" for p in case["subjects"]]
    rings = {n.get_attribute("data-key"): n.locator("circle").get_attribute("stroke")
             for n in net.locator("g.node").all()}
    assert all(rings[k] == RING for k in core)                       # what the case is about, ringed
    assert sum(r == RING for r in rings.values()) == len(core)
    patients = net.locator('g.node[data-type="patients"] text').text_content()
    assert patients == f"{len(case['patients']):,} patients"
    labels = net.locator("g.link text").all_text_contents()
    assert len([t for t in labels if re.fullmatch(r"[\d,]+ patient\(s\), [\d,]+ lines", t)]) == len(core)
    net.screenshot(path=str(ARTIFACTS / "case-report-network.png"))


def test_the_peer_chart_marks_the_providers_beyond_their_peers(page, case):
    chart = page.locator("svg.peer-chart").first
    assert chart.bounding_box()["width"] > 500
    assert chart.locator("rect.bar").count() >= 1
    subjects = chart.locator("g.subject")
    assert subjects.count() == min(len(case["subjects"]), 8)
    median_x = float(chart.locator("g.median line").get_attribute("x1"))
    xs = [float(s.locator("line").get_attribute("x1")) for s in subjects.all()]
    assert all(x > median_x for x in xs)                             # every block member beyond the peers' median
    values = sorted(float(s.get_attribute("data-value")) for s in subjects.all())
    assert values[0] > case["median"]
    chart.screenshot(path=str(ARTIFACTS / "case-report-peers.png"))


def test_the_evidence_is_complete_with_its_csv_in_the_page(page, case):
    section = page.locator("#evidence")
    assert section.locator("tbody tr").count() == case["lines"]
    href = section.locator("a.download").get_attribute("href")
    assert href.startswith("data:text/csv;base64,")
    csv = base64.b64decode(href.split(",", 1)[1]).decode("utf-8-sig").splitlines()
    assert len(csv) == case["lines"] + 1 and csv[0].startswith("item,claim_id,service_date,provider_id")
    assert not any(p in "\n".join(csv) for p in case["patients"])


def test_the_case_file_prints(page):
    page.emulate_media(media="print")
    assert page.locator("a.download").first.is_hidden()
    path = ARTIFACTS / "case-report.pdf"
    page.pdf(path=str(path), format="A4")
    assert path.read_bytes()[:5] == b"%PDF-" and path.stat().st_size > 20_000
    page.emulate_media(media="screen")
