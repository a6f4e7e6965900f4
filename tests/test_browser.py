"""The investigator's Browser, tested as a person would: the Neo4j Browser of the session's Neo4j
(tests/neo4j_server.py), opened in Debian's headless Chromium driven by Playwright, after a sync
of a generated region; the style and the guide come from `fraudnet serve`, as in production.
Screenshots are kept in test-artifacts/ (ignored by git)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

import publish.neo4j as ns
from queries import cypher

from .conftest import REPO, empty_neo4j

pytestmark = [pytest.mark.neo4j, pytest.mark.browser]

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# without the background-networking flags Chromium keeps trying hosts it cannot reach
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
COLOURS = {"Provider": "#4C8EDA", "Prescriber": "#2F6DB5", "Pharmacy": "#57C7E3", "Laboratory": "#8DCC93",
           "Patient": "#D9C8AE", "Centre": "#F79767", "LegalEntity": "#C990C0", "Person": "#FFC454"}
FLAGGED_RING = "#DA113B"


@pytest.fixture(scope="module")
def browser_page(neo4j_server, region):
    """A Browser page connected to the session's Neo4j, after a sync of the region, with
    `fraudnet serve` answering at the address the server's post-connect commands name."""
    if neo4j_server.browser_url is None:
        pytest.skip("NEO4J_TEST_URI is set without NEO4J_TEST_BROWSER_URL: no Browser to drive")
    from playwright.sync_api import sync_playwright
    settings = neo4j_server.settings
    empty_neo4j(settings)
    ns.sync(region["store"], settings)
    port = urlsplit(neo4j_server.guide_url).port
    env = {**os.environ, "FRAUDNET_API_KEYS": "browser:analyst:" + "b" * 24}
    ARTIFACTS.mkdir(exist_ok=True)
    serve = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--store", str(region["store"].root),
                              "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, env=env,
                             stdout=open(ARTIFACTS / "serve.log", "wb"), stderr=subprocess.STDOUT)
    try:
        _wait_http(f"{neo4j_server.guide_url}/health", serve)
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            bolt = settings.uri.removeprefix("bolt://")
            page.goto(f"{neo4j_server.browser_url}?dbms=bolt://{bolt}&preselectAuthMethod=NO_AUTH")
            connect = page.locator('button[data-testid="connect"]')
            page.wait_for_selector('[data-testid="carousel"], button[data-testid="connect"]', timeout=60_000)
            if connect.count():        # the Browser connects by itself to a server without auth
                connect.click()
            page.wait_for_selector('[data-testid="carousel"]', timeout=60_000)
            yield page
            chromium.close()
    finally:
        serve.terminate()
        serve.wait(30)


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, (ARTIFACTS / "serve.log").read_text()
        try:
            with urllib.request.urlopen(url):
                return
        except OSError:
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.5)


def run_slide(page, number: int, name: str):
    """Go to slide `number` of the guide the Browser opened, run its runnable blocks in order (the
    ▶ icon of each), wait for the graph of the last one, keep a screenshot."""
    carousel = page.locator('[data-testid="carousel"]').last
    while not carousel.get_by_text(f"{number} / ").count():
        carousel.locator('[data-testid="nextSlide"]').click()
    blocks = carousel.locator("pre.runnable")
    for i in range(blocks.count()):
        blocks.nth(i).locator("i").first.click()
        page.wait_for_timeout(1500)
    graph = page.locator("#svg-vis").first
    graph.locator("g.node").first.wait_for(timeout=180_000)     # a loaded 2-core machine: 60 s was seen to fail
    page.wait_for_timeout(4000)            # the force layout settles
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"))
    return graph


def expected(settings, example: str, saved: str) -> dict:
    """What the slide's two statements return, read with the driver: nodes by element id."""
    import neo4j.graph
    with ns.driver(settings) as d:
        params = d.execute_query(cypher(f"guide_example_{example}"), database_=settings.database).records[0].data()
        records = d.execute_query(cypher(saved), params, database_=settings.database).records
    nodes, rels = {}, set()

    def walk(v):
        if isinstance(v, neo4j.graph.Path):
            for n in v.nodes:
                nodes[n.element_id] = n
            rels.update(r.element_id for r in v.relationships)
        elif isinstance(v, neo4j.graph.Node):
            nodes[v.element_id] = v
        elif isinstance(v, neo4j.graph.Relationship):
            rels.add(v.element_id)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    for r in records:
        for v in r.values():
            walk(v)
    return {"params": params, "nodes": list(nodes.values()), "rels": rels}


def drawn(graph) -> list[dict]:
    """Each drawn node: its caption (the caption lines joined) and its circle's fill and ring."""
    out = []
    for node in graph.locator("g.node").all():
        circle = node.locator("circle.b-outline")
        out.append({"caption": "".join(t.strip() for t in node.locator("text.caption").all_text_contents()),
                    "fill": circle.get_attribute("fill").upper(), "ring": circle.get_attribute("stroke").upper()})
    return out


def caption_of(node) -> str:
    """The caption the style asks for: a patient's number, else `caption`."""
    return node["id"] if "Patient" in node.labels else node["caption"]


def colour_of(node) -> str:
    """The colour the style gives a node: the last of its kind labels in the style's order."""
    return [COLOURS[label] for label in COLOURS if label in node.labels][-1].upper()


def check_drawing(graph, want: dict):
    got = drawn(graph)
    assert len(got) == len(want["nodes"])
    assert graph.locator("g.relationship").count() >= len(want["rels"])
    # every node drawn with its caption (the Browser shortens long ones with …), colour and ring
    expected_nodes = sorted(((caption_of(n).replace(" ", ""), colour_of(n), "Flagged" in n.labels)
                             for n in want["nodes"]))
    for caption, fill, flagged in expected_nodes:
        match = [g for g in got if caption.startswith(g["caption"].replace(" ", "").rstrip("…"))
                 and g["fill"] == fill and (g["ring"] == FLAGGED_RING) == flagged]
        assert match, (caption, fill, flagged, got)


def test_on_connecting_the_browser_applies_the_style_and_opens_the_guide(browser_page, neo4j_server):
    frames = browser_page.locator('[data-testid="frameCommand"]').all_inner_texts()
    assert any(f":style {neo4j_server.guide_url}/neo4j/fraudnet.grass" in f for f in frames)
    assert any(f":play {neo4j_server.guide_url}/neo4j/guide.html" in f for f in frames)
    guide = browser_page.locator('[data-testid="carousel"]').last
    slides = (REPO / "queries" / "guide.html").read_text().count("<slide")
    assert slides >= 11 and guide.get_by_text(f"1 / {slides}").count() and guide.get_by_text(":Flagged").count()


def test_the_double_billing_slide_draws_the_styled_path(browser_page, neo4j_server):
    graph = run_slide(browser_page, 3, "double-billing")
    want = expected(neo4j_server.settings, "provider_double_billing_paths", "saved_provider_double_billing_paths")
    kinds = {label for n in want["nodes"] for label in n.labels}
    assert {"Provider", "Centre", "Patient", "Flagged"} <= kinds      # a hospital path, not only re-billed lines
    check_drawing(graph, want)
    # relationships carry their captions: the practitioner's full-time post, the lines billed
    captions = graph.locator("g.relationship text").all_text_contents()
    assert any(c.startswith("fulltime") for c in captions) and any(c.strip().isdigit() for c in captions)


def test_the_dense_block_slide_draws_the_block(browser_page, neo4j_server):
    graph = run_slide(browser_page, 6, "dense-block")
    want = expected(neo4j_server.settings, "dense_block", "saved_dense_block")
    providers = [n for n in want["nodes"] if "Provider" in n.labels]
    assert len(providers) >= 3 and all("Flagged" in n.labels for n in providers)
    check_drawing(graph, want)
