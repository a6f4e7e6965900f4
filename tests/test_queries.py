"""The Cypher catalog and the Browser style, read as files, and the Neo4j CLI without a server
(no Bolt server needed: these run under `-m "not neo4j"` too)."""
import re
import subprocess
import sys

import publish.neo4j as ns
from queries import HERE, cypher, names


def test_without_a_server_the_cli_says_what_to_set(tmp_path):
    out = subprocess.run([sys.executable, "-m", "cli.main", "neo4j", "sync", "--store", str(tmp_path)],
                         env={"PATH": ""}, capture_output=True, text=True)
    assert out.returncode == 2 and "NEO4J_URI" in out.stderr
    out = subprocess.run([sys.executable, "-m", "cli.main", "neo4j", "sync", "--store", str(tmp_path)],
                         env={"PATH": "", "NEO4J_URI": "bolt://127.0.0.1:1"}, capture_output=True, text=True)
    assert out.returncode == 1 and "published run" in out.stderr


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
    labels = {*ns.LABELS.values(), "Prescriber", "Pharmacy", "Laboratory", "Flagged", "AtRisk", "Alert", "Community"}
    assert {k.split(".")[1] for k in rules if k.startswith("node.")} == labels
    assert {k.split(".")[1] for k in rules if k.startswith("relationship.")} == {*ns.RELS, "INVOLVES", "MEMBER_OF"} - {
        "OPERATED_BY", "BILLS_UNDER"}
    size = lambda k: int(rules[k].get("diameter", rules["node"]["diameter"]).rstrip("px"))  # noqa: E731
    assert size("node.Flagged") > size("node.AtRisk") > size("node.Provider") > size("node.Patient")
    # the risk rules come last, so they resize whatever the entity's colour
    order = list(rules)
    assert order.index("node.Flagged") > max(order.index(f"node.{label}") for label in ns.LABELS.values())
    assert "color" not in rules["node.Flagged"] and "color" not in rules["node.AtRisk"]
    # captions name things by properties the sync writes
    assert all(v.get("caption", "{caption}").strip('"') in ("{caption}", "{id}", "<type>", "{n}", "{amount}", "{role}", "{kind}")
               for v in rules.values())
