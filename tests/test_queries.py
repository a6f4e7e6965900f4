"""The Cypher catalog and the Browser style, read as files, and the Neo4j CLI without a server
(no Bolt server needed: these run under `-m "not neo4j"` too)."""
import html
import io
import re
import zipfile
import subprocess
import sys

import publish.neo4j as ns
from contract.vocab import DERIVED_LABELS
from queries import HERE, cypher, names


def test_without_a_server_the_cli_says_what_to_set(tmp_path):
    out = subprocess.run([sys.executable, "-m", "cli.main", "neo4j", "sync", "--store", str(tmp_path)],
                         env={"PATH": ""}, capture_output=True, text=True)
    assert out.returncode == 2 and "NEO4J_URI" in out.stderr
    out = subprocess.run([sys.executable, "-m", "cli.main", "neo4j", "sync", "--store", str(tmp_path)],
                         env={"PATH": "", "NEO4J_URI": "bolt://127.0.0.1:1"}, capture_output=True, text=True)
    assert out.returncode == 1 and "no current run in store" in out.stderr


def test_the_catalog_reads_as_browser_favourites():
    for name in names():
        text = cypher(name)
        lines = text.splitlines()
        header = [line for line in lines if line.startswith("//")]
        body = "\n".join(line for line in lines if not line.startswith("//"))
        assert lines[0].startswith("// ") and len(lines[0]) > 10, name
        for param in set(re.findall(r"\$(\w+)", body)):
            assert any(f"${param}" in h for h in header), (name, param)
        assert ";" not in body, f"{name}: one statement per file"
        assert not re.search(r"%s|\{\d*\}|\{[a-z_]+\}", body), f"{name}: a formatting placeholder"
    assert set(ns.saved_queries()) >= {"saved_top_alerts", "saved_provider_double_billing_paths",
                                       "saved_pharmacy_prescriber_network", "saved_legal_entity_group",
                                       "saved_shortest_path", "saved_community_members"}
    for step in ns.upsert_steps():
        cypher(step.statement)


def test_the_browser_style_covers_every_label_and_sizes_by_risk():
    text = (HERE / "fraudnet.grass").read_text()
    rules = {m[0]: dict(re.findall(r"([\w-]+):\s*([^;]+);", m[1]))
             for m in re.findall(r"^(node(?:\.\w+)?|relationship(?:\.\w+)?) \{(.*?)\}", text, re.S | re.M)}
    labels = {*ns.LABELS.values(), *DERIVED_LABELS, "Alert", "Community"}
    assert {k.split(".")[1] for k in rules if k.startswith("node.")} == labels
    assert {k.split(".")[1] for k in rules if k.startswith("relationship.")} == {*ns.RELS, "INVOLVES", "MEMBER_OF"} - {
        "OPERATED_BY", "BILLS_UNDER"}
    size = lambda k: int(rules[k].get("diameter", rules["node"]["diameter"]).rstrip("px"))  # noqa: E731
    assert size("node.Flagged") > size("node.AtRisk") > size("node.Provider") > size("node.Patient")
    # the risk rules come last, so they resize whatever the entity's colour
    order = list(rules)
    assert order.index("node.Flagged") > max(order.index(f"node.{label}") for label in ns.LABELS.values())
    assert "color" not in rules["node.Flagged"] and "color" not in rules["node.AtRisk"]
    # standings are told apart by their ring, never by size or colour (those say kind and risk)
    rings = [rules[f"node.{s}"] for s in ("Accused", "Participant", "Victim")]
    assert len({r["border-color"] for r in rings}) == 3 and not any("diameter" in r or "color" in r for r in rings)
    # captions name things by properties the sync writes
    assert all(v.get("caption", "{caption}").strip('"') in ("{caption}", "{id}", "<type>", "{n}", "{amount}", "{role}", "{kind}")
               for v in rules.values())


def guide_slides() -> list[list[str]]:
    """The guide's slides, each as the texts of its runnable blocks (as the Browser reads them)."""
    from queries.browser import guide_html
    return [[html.unescape(b) for b in re.findall(r'<pre class="code runnable">(.*?)</pre>', slide, re.S)]
            for slide in re.findall(r"<slide\b.*?>(.*?)</slide>", guide_html(), re.S)]


def test_the_guide_has_a_runnable_slide_per_question_with_the_catalogs_own_text():
    from queries import body, parameters
    slides = guide_slides()
    assert slides[0] == []                       # what the labels and properties mean
    used = set()
    for blocks in slides[1:]:
        assert blocks and blocks[0].startswith(":param [{")
        wanted, example = re.fullmatch(r":param \[\{([\w, ]+)\}\] => \{ (.*) \}", blocks[0]).groups()
        statements = [n for n in names() if cypher(n).strip() in blocks[1:]]
        assert len(statements) == len(set(blocks[1:])), blocks[1:]     # every other block: a catalog file verbatim
        used |= set(statements)
        # the example sets exactly the parameters the slide's statements use, with the catalog's query
        assert sorted(wanted.split(", ")) == sorted({p for s in statements for p in parameters(s)})
        assert any(example == " ".join(body(n).split()) for n in names() if n.startswith("guide_example_"))
        assert not re.search(r"\$\w+", example)
    assert used >= {"saved_top_alerts", "saved_provider_double_billing_paths", "saved_pharmacy_prescriber_network",
                    "saved_doctor_shopping", "saved_dense_block", "saved_peer_outliers", "saved_legal_entity_group",
                    "saved_community_members", "saved_shortest_path", "gds_project_neighbourhood",
                    "gds_leiden_stream", "gds_pagerank_stream", "gds_drop_graph"}
    assert len(slides) == 11


def test_the_guide_style_and_favourites_are_served_without_a_key_to_any_origin(tmp_path):
    from fastapi.testclient import TestClient
    from api.app import create_app
    from api.auth import parse_keys
    from queries.browser import favourites, guide_html
    from runs.store import Store
    app = create_app(Store(tmp_path / "store"), parse_keys("a:analyst:" + "k" * 24, "test"))
    with TestClient(app) as client:
        for path, kind in (("/neo4j/guide.html", "text/html"), ("/neo4j/fraudnet.grass", "text/plain"),
                           ("/neo4j/favourites.zip", "application/zip")):
            got = client.get(path, headers={"Origin": "http://localhost:7474", "pragma": "no-cache"})
            assert got.status_code == 200 and got.headers["content-type"].startswith(kind), path
            assert got.headers["access-control-allow-origin"] == "*"
            # the Browser's fetch sends pragma and cache-control: a preflight first
            pre = client.options(path, headers={"Origin": "http://localhost:7474", "Access-Control-Request-Method": "GET",
                                                "Access-Control-Request-Headers": "pragma,cache-control"})
            assert pre.status_code == 204 and "pragma" in pre.headers["access-control-allow-headers"]
        assert client.get("/neo4j/guide.html").text == guide_html()
        assert client.get("/neo4j/fraudnet.grass").text == (HERE / "fraudnet.grass").read_text()
        with zipfile.ZipFile(io.BytesIO(client.get("/neo4j/favourites.zip").content)) as z:
            assert {n: z.read(n).decode() for n in z.namelist()} == {
                f"fraudnet/{n}.cypher": cypher(n) for n in favourites()}
        assert client.get("/api/v1/alerts").status_code == 401      # the data still needs a key
