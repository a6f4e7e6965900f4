"""Neo4j publishing against a real Neo4j 5.26 (the session's server, tests/neo4j_server.py, or the
scratch Neo4j named by NEO4J_TEST_URI): sync, resync, resume, a newer run's sync, every saved
query, and the bulk-import files checked against what the sync wrote."""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from datetime import date

import networkx as nx
import pytest

import publish.neo4j as ns
from publish.neo4j_bulk import import_files
from cases.store import Actor, CaseStore
from runs.pipeline import scan
from runs.store import Store
from graph.settings import ScanSettings
from queries import cypher

from .conftest import empty_neo4j

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def server(neo4j_server):
    """The session's Neo4j, emptied: its Bolt settings."""
    empty_neo4j(neo4j_server.settings)
    return neo4j_server.settings


@pytest.fixture(scope="module")
def runs(region, tmp_path_factory):
    """Two runs in a store of their own: the whole year, then only its first half (other alerts)."""
    store = Store(tmp_path_factory.mktemp("neo4j") / "store")
    first = scan(region["data"], store)["run_id"]
    second = scan(region["data"], store, ScanSettings(end=date(2025, 6, 30)))["run_id"]
    return {"store": store, "first": first, "second": second}


def q(server, text, **params):
    with ns.driver(server) as d:
        records, _, _ = d.execute_query(text, params, database_=server.database)
    return [r.data() for r in records]


def results(store, run_id, sql):
    con = store.connect(run_id)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def graph_counts(server) -> dict:
    out = {}
    for label in ("Entity", "Provider", "Patient", "Centre", "LegalEntity", "Person", "Alert", "Community",
                  "Prescriber", "Pharmacy", "Laboratory", "Flagged", "AtRisk", "Accused", "Participant", "Victim"):
        out[label] = q(server, f"MATCH (n:{label}) RETURN count(n) AS c")[0]["c"]
    for rel in (*ns.RELS, "INVOLVES", "MEMBER_OF"):
        out[rel] = q(server, f"MATCH ()-[r:{rel}]->() RETURN count(r) AS c")[0]["c"]
    return out


def expected_counts(store, run_id) -> dict:
    one = lambda sql: results(store, run_id, sql)[0][0]   # noqa: E731
    out = {"Entity": one("SELECT count(*) FROM nodes")}
    for t, label in ns.LABELS.items():
        out[label] = one(f"SELECT count(*) FROM nodes WHERE entity_type = '{t}'")
    out["Alert"] = one("SELECT count(*) FROM alerts")
    out["Community"] = one("SELECT count(*) FROM community_summary")
    out["Prescriber"] = one("SELECT count(*) FROM nodes WHERE entity_type = 'provider' AND roles LIKE '%prescriber%'")
    out["Pharmacy"] = one("SELECT count(*) FROM nodes WHERE entity_type = 'provider' AND kind = 'pharmacy'")
    out["Laboratory"] = one("SELECT count(*) FROM nodes WHERE entity_type = 'provider' AND kind = 'laboratory'")
    out["Flagged"] = one("SELECT count(*) FROM entity_risk WHERE direct_score > 0")
    out["AtRisk"] = one("SELECT count(*) FROM entity_risk WHERE coalesce(direct_score, 0) = 0 AND score > 0")
    strongest = ("SELECT count(*) FROM (SELECT min(CASE standing WHEN 'accused' THEN 1 WHEN 'participant' THEN 2 "
                 "ELSE 3 END) AS s FROM alert_entities GROUP BY entity_type, entity_id) WHERE s = ")
    out["Accused"], out["Participant"], out["Victim"] = (one(strongest + str(i)) for i in (1, 2, 3))
    for rel in ns.RELS:
        out[rel] = one(f"SELECT count(*) FROM edges WHERE rel = '{rel}'")
    out["INVOLVES"] = one("SELECT count(*) FROM alert_entities")
    out["MEMBER_OF"] = one("SELECT count(*) FROM communities")
    return out


@pytest.fixture(scope="module")
def synced(server, runs):
    """The first run synced (the state every query test reads), with a confirmed case on its
    strongest double-billing alert and a dismissed one on its strongest doctor-shopping alert."""
    cs, who = CaseStore(runs["store"]), Actor("alice", "analyst")
    cases = []
    for pattern, status in (("double_billing", "confirmed"), ("doctor_shopping", "dismissed")):
        alert_id, = results(runs["store"], runs["first"], f"SELECT alert_id FROM alerts WHERE pattern = '{pattern}' "
                                                          "ORDER BY rank LIMIT 1")[0]
        case = cs.open(who, [alert_id], run_id=runs["first"])
        cases.append(cs.update(case["case_id"], who, 1, status=status,
                               qualification="fraud" if status == "confirmed" else None))
    report = ns.sync(runs["store"], server, runs["first"], batch_size=4000)
    return {**runs, "report": report, "cases": cases}


def test_sync_writes_every_node_relationship_and_finding(server, synced):
    store, run = synced["store"], synced["first"]
    assert graph_counts(server) == expected_counts(store, run)
    assert synced["report"]["resumed_after_batches"] == 0
    assert synced["report"]["stale_deleted"] == {"relationships": 0, "nodes": 0}
    # risk, reasons, centrality and communities are properties of the entity
    etype, eid, score, reasons = results(store, run, "SELECT entity_type, entity_id, score, reasons FROM entity_risk "
                                                     "WHERE entity_type = 'provider' ORDER BY score DESC, entity_id LIMIT 1")[0]
    node = q(server, "MATCH (n:Provider {id: $id}) RETURN n.risk AS risk, n.reasons AS reasons, "
                     "n.pagerank AS pagerank, n.communities AS communities, n.run_id AS run_id", id=eid)[0]
    assert (node["risk"], node["reasons"], node["run_id"]) == (score, reasons, run)
    comms = [c for (c,) in results(store, run, f"SELECT community_id FROM communities WHERE node_id = 'provider:{eid}' "
                                               "ORDER BY community_id")]
    assert node["communities"] == (comms or None)
    # a relationship carries its aggregates
    src, dst, n, amount, first = results(store, run, "SELECT src, dst, n, amount, first_date FROM edges "
                                                     "WHERE rel = 'FLOWS_TO' ORDER BY amount DESC LIMIT 1")[0]
    rel = q(server, "MATCH (a:Entity {key: $s})-[r:FLOWS_TO]->(b:Entity {key: $d}) "
                    "RETURN r.n AS n, r.amount AS amount, r.first_date AS first", s=src, d=dst)
    assert [(r["n"], r["amount"], r["first"].to_native()) for r in rel] == [(n, amount, first)]
    # an alert is a node linked to its entities with their role
    alert_id = results(store, run, "SELECT alert_id FROM alerts WHERE pattern = 'entity_network' LIMIT 1")[0][0]
    got = q(server, "MATCH (a:Alert {id: $id})-[i:INVOLVES]->(n) RETURN i.role AS role, n.key AS key", id=alert_id)
    want = results(store, run, f"SELECT role, entity_type || ':' || entity_id FROM alert_entities WHERE alert_id = '{alert_id}'")
    assert sorted((g["role"], g["key"]) for g in got) == sorted(want)


def test_a_double_billing_path_reads_back(server, synced):
    store, run = synced["store"], synced["first"]
    alert_id, = results(store, run, "SELECT alert_id FROM alerts WHERE alert_id LIKE 'double_billing:hospital:%' "
                                    "ORDER BY score DESC LIMIT 1")[0]
    ents = results(store, run, f"SELECT role, entity_id FROM alert_entities WHERE alert_id = '{alert_id}'")
    biller = next(e for r, e in ents if r == "biller")
    hospital = next(e for r, e in ents if r == "hospital")
    twice = sorted(e for r, e in ents if r == "billed_twice")
    rows = ns.run_saved(server, "saved_provider_double_billing_paths", {"provider_id": biller, "limit": 1000})
    rows = [r for r in rows if r["alert_id"] == alert_id]
    assert [r["patient_id"] for r in rows] == twice
    for r in rows:
        assert r["hospital_id"] == hospital
        assert re.fullmatch(rf".*\({biller}\) -WORKS_AT-> .*\({hospital}\) -BILLED-> {r['patient_id']} "
                            rf"<-BILLED- .*\({biller}\)", r["path"]), r["path"]
    # a re-billed alert shows the re-billed lines; a provider with no double billing has no path
    rebilled = results(store, run, "SELECT e.entity_id FROM alerts a JOIN alert_entities e USING (alert_id) "
                                   "WHERE a.alert_id LIKE 'double_billing:rebilled:%' AND e.role = 'biller' LIMIT 1")[0][0]
    rows = ns.run_saved(server, "saved_provider_double_billing_paths", {"provider_id": rebilled, "limit": 5})
    assert rows and all(r["hospital_id"] is None and " -BILLED-> " in r["path"] for r in rows)
    clean = results(store, run, "SELECT entity_id FROM nodes WHERE entity_type = 'provider' AND entity_id NOT IN "
                                "(SELECT entity_id FROM alert_entities WHERE alert_id LIKE 'double_billing:%') "
                                "AND node_id IN (SELECT src FROM edges WHERE rel = 'BILLED') LIMIT 1")[0][0]
    assert ns.run_saved(server, "saved_provider_double_billing_paths", {"provider_id": clean, "limit": 5}) == []


def test_a_resync_changes_nothing(server, synced):
    before = graph_counts(server)
    report = ns.sync(synced["store"], server, synced["first"], batch_size=4000)
    assert graph_counts(server) == before
    assert report["labels"] == {"added": 0, "removed": 0}
    assert report["stale_deleted"] == {"relationships": 0, "nodes": 0}
    assert report["written"] == synced["report"]["written"]


def test_every_saved_query_answers_from_the_data(server, synced):
    store, run = synced["store"], synced["first"]
    # top alerts of each pattern: the k best, in order
    for pattern, in results(store, run, "SELECT DISTINCT pattern FROM alerts ORDER BY 1"):
        want = [a for (a,) in results(store, run, f"SELECT alert_id FROM alerts WHERE pattern = '{pattern}' "
                                                  "ORDER BY score DESC, alert_id LIMIT 3")]
        rows = ns.run_saved(server, "saved_top_alerts", {"pattern": pattern, "limit": 3})
        assert list(dict.fromkeys(r["alert_id"] for r in rows)) == want
        assert all(r["n"] is not None and r["role"] for r in rows)
        assert {r["standing"] for r in rows} <= {"accused", "participant", "victim"}
    # only accused and participant entities are Flagged: an entity named by alerts as a victim only is not
    victims = {eid for (eid,) in results(store, run, "SELECT entity_id FROM alert_entities GROUP BY entity_type, entity_id "
                                                     "HAVING bool_and(standing = 'victim')")}
    rows = ns.run_saved(server, "saved_top_alerts", {"pattern": "doctor_shopping", "limit": 100})
    seen = [r["n"] for r in rows if r["standing"] == "victim" and r["n"]["id"] in victims]
    assert seen and not any("Flagged" in n["labels"] for n in seen)
    # a provider's lookup lists exactly its alerts
    pid, = results(store, run, "SELECT entity_id FROM alert_entities WHERE entity_type = 'provider' "
                               "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0]
    rows = ns.run_saved(server, "saved_provider_lookup", {"provider_id": pid})
    want = results(store, run, f"SELECT alert_id, role FROM alert_entities WHERE entity_type = 'provider' "
                               f"AND entity_id = '{pid}' ORDER BY 1, 2")
    assert sorted((r["alert_id"], r["role"]) for r in rows) == want
    assert rows[0]["risk"] > 0
    # a pharmacy's prescriber network: every prescriber flowing to it, the colluder named by the alert
    alert_id, pharmacy = results(store, run, "SELECT alert_id, entity_id FROM alert_entities WHERE role = 'pharmacy' "
                                             "AND alert_id LIKE 'pharmacy_collusion:%' ORDER BY 1 LIMIT 1")[0]
    colluders = {e for (e,) in results(store, run, f"SELECT entity_id FROM alert_entities WHERE alert_id = '{alert_id}' "
                                                   "AND role = 'prescriber'")}
    flows = results(store, run, f"SELECT split_part(src, ':', 2), amount FROM edges WHERE rel = 'FLOWS_TO' "
                                f"AND dst = 'provider:{pharmacy}' ORDER BY amount DESC, 1")
    rows = ns.run_saved(server, "saved_pharmacy_prescriber_network", {"pharmacy_id": pharmacy, "limit": 1000})
    assert [(r["prescriber_id"], r["amount"]) for r in rows] == flows
    assert {r["prescriber_id"] for r in rows if alert_id in r["alerts"]} == colluders
    # a legal-entity group: the alert's centres, successor and shared officer are there with their roles
    alert_id, le = results(store, run, "SELECT alert_id, entity_id FROM alert_entities WHERE role = 'dissolved' "
                                       "ORDER BY 1 LIMIT 1")[0]
    rows = ns.run_saved(server, "saved_legal_entity_group", {"legal_entity_id": le, "limit": 500})
    got = {(r["entity_id"], role) for r in rows for role in r["alert_roles"]}
    want = set(results(store, run, f"SELECT entity_id, role FROM alert_entities WHERE alert_id = '{alert_id}' "
                                   "AND role IN ('successor', 'shared_officer', 'centre')"))
    assert want and want <= got
    assert le not in {r["entity_id"] for r in rows}
    assert [r["links"] for r in rows] == sorted(r["links"] for r in rows)
    # a community: its members, riskiest first
    cid, = results(store, run, "SELECT community_id FROM community_summary ORDER BY flagged DESC, community_id LIMIT 1")[0]
    members = {e for (e,) in results(store, run, f"SELECT entity_id FROM communities WHERE community_id = '{cid}'")}
    rows = ns.run_saved(server, "saved_community_members", {"community_id": cid, "limit": 1000})
    assert {r["entity_id"] for r in rows} == members
    risks = [r["risk"] or 0 for r in rows]
    assert risks == sorted(risks, reverse=True) and risks[0] > 0
    # a case's entities: those it is about, with its label and status, and the alerts naming them
    for case, label in zip(synced["cases"], ("Confirmed", "Dismissed")):
        rows = ns.run_saved(server, "saved_case_entities", {"case_id": case["case_id"]})
        assert {r["key"] for r in rows} == {f"{e['entity_type']}:{e['entity_id']}" for e in case["entities"]
                                            if e["standing"] != "victim"}     # a shopper's doctors: not its
        assert all(r["case_labels"] == [label] and case["case_id"] in r["case_ids"] for r in rows)
        [alert] = case["alerts"]
        named = {f"{t}:{i}": role for t, i, role in results(store, run, "SELECT entity_type, entity_id, role FROM "
                                                           f"alert_entities WHERE alert_id = '{alert['alert_id']}'")}
        assert {(r["key"], r["role"]) for r in rows if r["alert_id"] == alert["alert_id"]} == \
            {(k, role) for k, role in named.items() if k in {r["key"] for r in rows}}
    shopper = [e for e in synced["cases"][1]["entities"] if e["entity_type"] == "patient"]
    assert [e["roles"] for e in shopper] == ["shopper"]         # a doctor-shopping case names its patient
    assert all(e["entity_type"] != "patient" for e in synced["cases"][0]["entities"])   # billed patients: not
    assert ns.run_saved(server, "saved_case_entities", {"case_id": "C-99999"}) == []


def hub_free_lengths(g: nx.Graph, degree: dict, source: str, cap: int, cutoff: int = 6) -> dict:
    """networkx's answer: the length of the shortest path from `source` to every node within
    `cutoff` links, through no node of more than `cap` links (the two ends may be hubs)."""
    inner = g.subgraph([n for n in g if degree[n] <= cap or n == source])
    dist = nx.single_source_shortest_path_length(inner, source, cutoff=cutoff)
    for hub in (n for n in g if degree[n] > cap and n != source):     # reached as an end only
        steps = [dist[m] + 1 for m in g[hub] if m in dist and dist[m] < cutoff and (degree[m] <= cap or m == source)]
        if steps:
            dist[hub] = min(steps)
    return dist


def test_shortest_path_avoids_hubs_like_networkx(server, synced):
    store, run = synced["store"], synced["first"]
    g = nx.Graph()
    g.add_edges_from(results(store, run, "SELECT src, dst FROM edges"))
    degree = dict(results(store, run, "SELECT node_id, degree FROM node_degree"))
    ends = [k for (k,) in results(store, run, "SELECT DISTINCT entity_type || ':' || entity_id FROM alert_entities "
                                              "WHERE entity_type IN ('provider', 'legal_entity') ORDER BY 1")]
    cases = {"around a hub": [], "unchanged": [], "no hub-free path": []}
    for cap in (60, 200):
        for a in ends[::4]:
            plain = nx.single_source_shortest_path_length(g, a, cutoff=6)
            avoid = hub_free_lengths(g, degree, a, cap)
            for b in ends:
                if a < b and b in plain:
                    kind = ("no hub-free path" if b not in avoid else
                            "around a hub" if avoid[b] > plain[b] else "unchanged" if plain[b] > 1 else None)
                    if kind:
                        cases[kind].append((a, b, cap, plain[b], avoid.get(b)))
    assert all(cases.values()), {k: len(v) for k, v in cases.items()}
    checked = [c for kind in cases.values() for c in kind[:3]]
    for a, b, cap, plain, avoid in checked:
        rows = q(server, cypher("saved_shortest_path"), from_key=a, to_key=b, max_degree=cap)
        if avoid is None:                               # every path within six links crosses a hub
            assert rows == [], (a, b, cap)
            continue
        # Neo4j searches around the hubs: the hub-free shortest length, not the plain path filtered away
        assert [r["hops"] for r in rows] == [avoid], (a, b, cap, plain, avoid)
        keys = rows[0]["keys"]
        assert (keys[0], keys[-1]) == (a, b) and len(keys) == avoid + 1
        assert all(g.has_edge(x, y) for x, y in zip(keys, keys[1:]))
        assert all(degree[k] <= cap for k in keys[1:-1])
    # without a cap, the plain shortest length
    a, b, _, plain, _ = cases["around a hub"][0]
    rows = q(server, cypher("saved_shortest_path"), from_key=a, to_key=b, max_degree=10**9)
    assert [r["hops"] for r in rows] == [plain]


def test_bulk_import_files_match_what_the_sync_wrote(server, synced, tmp_path):
    store, run = synced["store"], synced["first"]
    counts = import_files(store, tmp_path, run)
    ids: dict[str, set] = {}
    labels = {}
    for stem, n in counts.items():
        header = (tmp_path / f"{stem}.header.csv").read_text().strip().split(",")
        with open(tmp_path / f"{stem}.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert len(rows) == n and all(len(r) == len(header) for r in rows), stem
        if stem.startswith("nodes-"):
            space = header[0].split("(")[1].rstrip(")")
            ids.setdefault(space, set()).update(r[0] for r in rows)
            if space == "Entity":
                labels.update({r[0]: set(r[-1].split(";")) for r in rows})
        else:
            for col, value in ((header[0], 0), (header[1], 1)):
                space = col.split("(")[1].rstrip(")")
                assert {r[value] for r in rows} <= ids[space], (stem, col)
    assert sum(n for s, n in counts.items() if s.startswith("nodes-")) == graph_counts(server)["Entity"] + \
        graph_counts(server)["Alert"] + graph_counts(server)["Community"]
    synced_labels = {r["key"]: set(r["labels"]) - {"Confirmed", "Dismissed"}     # cases: put on by a sync only
                     for r in q(server, "MATCH (n:Entity) RETURN n.key AS key, labels(n) AS labels")}
    assert labels == synced_labels
    script = (tmp_path / "import.sh").read_text()
    assert "neo4j-admin database import full" in script
    assert all(f"{stem}.header.csv,{stem}.csv" in script for stem in counts)


def test_an_interrupted_sync_resumes_and_a_newer_run_leaves_nothing_stale(server, synced, monkeypatch):
    store, first, second = synced["store"], synced["first"], synced["second"]
    old = {a for (a,) in results(store, first, "SELECT alert_id FROM alerts")}
    new = {a for (a,) in results(store, second, "SELECT alert_id FROM alerts")}
    assert old - new and new, "the half-year run should drop some of the year's alerts"
    real, calls = ns._write_batch, []

    def failing(*args):
        if len(calls) == 3:
            raise ConnectionError("the network went away")
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(ns, "_write_batch", failing)
    with pytest.raises(ConnectionError):
        ns.sync(store, server, second, batch_size=4000)
    state = q(server, cypher("sync_state_read"), id=ns.STATE_ID)[0]
    assert (state["run_id"], state["status"], state["done"]) == (second, "syncing", 3)
    monkeypatch.setattr(ns, "_write_batch", real)
    report = ns.sync(store, server, second, batch_size=4000)
    assert report["resumed_after_batches"] == 3
    assert report["stale_deleted"]["nodes"] > 0
    assert graph_counts(server) == expected_counts(store, second)
    assert {r["id"] for r in q(server, "MATCH (a:Alert) RETURN a.id AS id")} == new
    assert q(server, "MATCH (n) WHERE n.run_id <> $run RETURN count(n) AS c", run=second) == [{"c": 0}]
    assert q(server, "MATCH ()-[r]->() WHERE r.run_id <> $run RETURN count(r) AS c", run=second) == [{"c": 0}]
    state = q(server, cypher("sync_state_read"), id=ns.STATE_ID)[0]
    assert (state["run_id"], state["status"]) == (second, "done")


def test_the_cli_syncs_and_runs_saved_queries(server, synced):
    env = {"NEO4J_URI": server.uri, "NEO4J_USER": server.user, "NEO4J_PASSWORD": server.password.get_secret_value(),
           "NEO4J_DATABASE": server.database, "PATH": ""}
    cli = [sys.executable, "-m", "cli.main"]
    out = subprocess.run([*cli, "neo4j", "sync", "--store", str(synced["store"].root), "--run", synced["second"]],
                         env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["run_id"] == synced["second"]
    out = subprocess.run([*cli, "neo4j", "query", "saved_top_alerts", "-p", "pattern=dense_block", "-p", "limit=1"],
                         env=env, capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows and {r["alert_id"] for r in rows} == {rows[0]["alert_id"]}
    bad = subprocess.run([*cli, "neo4j", "query", "saved_top_alerts", "-p", "pattern=dense_block"],
                         env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "limit" in bad.stderr


def test_a_schedule_publishes_to_neo4j_and_a_dead_server_fails_only_the_publication(server, region, tmp_path,
                                                                                      monkeypatch):
    from scheduler.schedule import ScheduleError, load_schedule, run_job
    path = tmp_path / "schedule.toml"
    path.write_text(f'store = "store"\n[[jobs]]\nname = "nightly"\nsource = "{region["data"]}"\n'
                    'cron = "0 2 * * *"\nretries = 0\nneo4j = true\n')
    monkeypatch.delenv("NEO4J_URI", raising=False)
    with pytest.raises(ScheduleError, match="NEO4J_URI"):
        load_schedule(path)
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    schedule = load_schedule(path)
    dead = run_job(schedule, schedule.job("nightly"))
    assert dead["status"] == "succeeded" and dead["neo4j"]["status"] == "failed"
    assert Store(tmp_path / "store").current() == dead["run_id"]
    for k, v in {"NEO4J_URI": server.uri, "NEO4J_USER": server.user,
                 "NEO4J_PASSWORD": server.password.get_secret_value(), "NEO4J_DATABASE": server.database}.items():
        monkeypatch.setenv(k, v)
    schedule = load_schedule(path)          # the Neo4j settings are read once, when the file loads
    live = run_job(schedule, schedule.job("nightly"))
    assert live["status"] == "succeeded" and live["neo4j"]["status"] == "synced"
    alerts = {a for (a,) in results(Store(tmp_path / "store"), live["run_id"], "SELECT alert_id FROM alerts")}
    assert {r["id"] for r in q(server, "MATCH (a:Alert) RETURN a.id AS id")} == alerts
    assert q(server, "MATCH (a:Alert) WHERE a.run_id <> $run RETURN count(a) AS c", run=live["run_id"]) == [{"c": 0}]


def test_every_guide_slide_runs_on_the_synced_data(server, synced):
    """Each slide's step 1 (the example parameters) gives exactly the parameters its saved query
    needs, and step 2 then finds something (GDS statements: see the next test)."""
    from queries import HERE, parameters
    ns.sync(synced["store"], server, synced["first"], batch_size=4000)
    pairs = re.findall(r"\{\{example:(\w+) for ([\w ]+)\}\}", (HERE / "guide.html").read_text())
    assert len(pairs) == 11
    for example, statements in pairs:
        rows = q(server, cypher(f"guide_example_{example}"))
        assert len(rows) == 1, example
        statements = statements.split()
        assert set(rows[0]) == {p for s in statements for p in parameters(s)}, example
        for name in statements:
            if name.startswith("saved_"):
                assert ns.run_saved(server, name, rows[0]), (example, name, rows[0])


def test_gds_recomputes_communities_and_pagerank_of_an_investigators_subgraph(neo4j_server, server, synced):
    assert neo4j_server.gds, "OpenGDS should load as a plugin of the test server (tests/neo4j_server.py)"
    store, run = synced["store"], synced["first"]
    ns.sync(store, server, run, batch_size=4000)      # (a resync when the test before ran)
    params = q(server, cypher("guide_example_gds_neighbourhood"))[0]
    q(server, cypher("gds_drop_graph"), graph_name=params["graph_name"])
    projected = q(server, cypher("gds_project_neighbourhood"), **params)[0]
    # the same subgraph read with the driver: entities within two graph links, never through a
    # hub (nor through an Alert or a Community), and the graph's relationships among them
    rels = "|".join(ns.RELS)
    edges = q(server, f"MATCH path = (s:Entity {{id: $entity_id}})-[:{rels}*0..2]-(n:Entity) "
                      "WHERE all(x IN nodes(path)[1..] WHERE coalesce(x.degree, 0) <= $max_degree) "
                      f"WITH collect(DISTINCT n) AS m UNWIND m AS a OPTIONAL MATCH (a)-[r:{rels}]->(b) WHERE b IN m "
                      "RETURN a.key AS a, b.key AS b, toFloat(coalesce(r.n, 1)) AS w", **params)
    g = nx.Graph()
    g.add_nodes_from(e["a"] for e in edges)
    for e in (e for e in edges if e["b"] is not None):   # parallel relationships add up
        g.add_edge(e["a"], e["b"], weight=g.get_edge_data(e["a"], e["b"], {"weight": 0})["weight"] + e["w"])
    assert projected["nodes"] == len(g) > 20
    assert projected["relationships"] == 2 * sum(1 for e in edges if e["b"] is not None)   # undirected
    communities = q(server, cypher("gds_leiden_stream"), graph_name=params["graph_name"])
    partition = [{m["key"] for m in c["members"]} for c in communities]
    assert sorted(x for p in partition for x in p) == sorted(g)       # a partition of the subgraph
    # as good a partition as leidenalg's (the library fraudnet's own communities use) on the same graph
    import igraph as ig
    import leidenalg
    h = ig.Graph.from_networkx(g)
    ours = leidenalg.find_partition(h, leidenalg.ModularityVertexPartition, weights="weight", seed=42)
    theirs = nx.community.modularity(g, partition, weight="weight")
    best = nx.community.modularity(g, [{h.vs[i]["_nx_name"] for i in c} for c in ours], weight="weight")
    assert theirs >= 0.95 * best > 0.2
    # the planted dense block's other providers fall in one community; the entity the subgraph is
    # centred on is linked to every one of its patients, so Leiden may place it anywhere
    alert, = results(store, run, f"SELECT alert_id FROM alert_entities WHERE entity_id = '{params['entity_id']}' "
                                 "AND alert_id LIKE 'dense_block:%' ORDER BY 1 LIMIT 1")[0]
    block = {e for (e,) in results(store, run, f"SELECT entity_id FROM alert_entities WHERE alert_id = '{alert}' "
                                               "AND role = 'biller'")}
    block = {f"provider:{e}" for e in block} & set(g) - {f"provider:{params['entity_id']}"}
    homes = {i for i, p in enumerate(partition) if p & block}
    assert len(block) >= 2 and len(homes) == 1
    ranks = q(server, cypher("gds_pagerank_stream"), graph_name=params["graph_name"], limit=params["limit"])
    scores = [r["pagerank"] for r in ranks]
    assert len(ranks) == min(params["limit"], len(g)) and scores == sorted(scores, reverse=True)
    # against networkx on the same undirected, weighted subgraph: the same most central entities
    want = nx.pagerank(g, weight="weight")
    top = sorted(want, key=want.get, reverse=True)[:3]
    assert [r["n"]["key"] for r in ranks[:3]] == top
    assert q(server, cypher("gds_drop_graph"), graph_name=params["graph_name"]) == [{"dropped": params["graph_name"]}]
