"""Communities, stable ids, centrality (checked against networkx), risk propagation, risk and evaluation."""
import networkx as nx
import pyarrow as pa
import pytest

from graph.evaluate import evaluate
from graph.findings import make_findings
from graph.network import centrality, leiden, propagate, stable_ids
from graph.risk import entity_risk


def edges(rows):
    return pa.table({"src": [r[0] for r in rows], "dst": [r[1] for r in rows], "weight": [float(r[2]) for r in rows]})


def two_cliques(bridge=1.0):
    rows = [(f"provider:a{i}", f"provider:a{j}", 5) for i in range(5) for j in range(i + 1, 5)]
    rows += [(f"provider:b{i}", f"provider:b{j}", 5) for i in range(5) for j in range(i + 1, 5)]
    return edges(rows + [("provider:a0", "provider:b0", bridge)])


def test_leiden_splits_two_cliques_deterministically():
    labels = leiden(two_cliques(), seed=1)
    assert len(set(labels.values())) == 2
    assert len({labels[f"provider:a{i}"] for i in range(5)}) == 1
    assert labels["provider:a0"] != labels["provider:b0"]
    assert leiden(two_cliques(), seed=1) == labels


def test_community_ids_are_stable_across_scans():
    first = stable_ids(leiden(two_cliques(), seed=1), None, "sp")
    ids = dict(zip(first["node_id"].to_pylist(), first["community_id"].to_pylist()))
    assert sorted(set(ids.values())) == ["sp-0001", "sp-0002"]
    # next scan: clique b loses a member, a new clique c appears, labels come out in another order
    rows = [(f"provider:c{i}", f"provider:c{j}", 9) for i in range(6) for j in range(i + 1, 6)]
    rows += [(f"provider:a{i}", f"provider:a{j}", 5) for i in range(5) for j in range(i + 1, 5)]
    rows += [(f"provider:b{i}", f"provider:b{j}", 5) for i in range(1, 5) for j in range(i + 1, 5)]
    second = stable_ids(leiden(edges(rows), seed=1), first, "sp")
    again = dict(zip(second["node_id"].to_pylist(), second["community_id"].to_pylist()))
    assert again["provider:a1"] == ids["provider:a1"]
    assert again["provider:b1"] == ids["provider:b1"]
    assert again["provider:c0"] == "sp-0003"
    assert "provider:b0" not in again


def test_centrality_matches_networkx_and_finds_the_broker():
    e = two_cliques(bridge=5)
    membership = dict(zip(*[[f"provider:{c}{i}" for c in "ab" for i in range(5)],
                            ["A"] * 5 + ["B"] * 5]))
    t = {r["node_id"]: r for r in centrality(e, membership, seed=1).to_pylist()}
    g = nx.Graph()
    for s, d, w in zip(e["src"].to_pylist(), e["dst"].to_pylist(), e["weight"].to_pylist()):
        g.add_edge(s, d, weight=w, distance=1 / w)
    pr = nx.pagerank(g, weight="weight")
    bt = nx.betweenness_centrality(g, weight="distance", normalized=False)
    for n in g:
        assert t[n]["pagerank"] == pytest.approx(pr[n], abs=1e-4)
        assert t[n]["betweenness"] == pytest.approx(bt[n])
    assert [n for n, r in t.items() if r["broker"]] == []   # the bridge ends mostly talk to their own clique
    assert t["provider:a0"]["participation"] > 0 and t["provider:a1"]["participation"] == 0


def test_risk_spreads_to_neighbours_of_flagged_entities_but_stays_apart():
    net = edges([("provider:x", "provider:y", 3), ("provider:y", "provider:z", 3), ("provider:z", "provider:w", 3),
                 ("provider:x", "provider:q", 3), ("provider:q", "provider:y", 3)])
    mass = propagate(net, {"provider:x": 1.0, "provider:q": 1.0})
    assert mass["provider:y"] > mass["provider:z"] > mass["provider:w"]
    f = make_findings(
        [{"alert_id": "peer_outlier:x", "pattern": "peer_outlier", "score": 10, "summary": "s"},
         {"alert_id": "peer_outlier:q", "pattern": "peer_outlier", "score": 5, "summary": "s"}],
        [{"alert_id": "peer_outlier:x", "entity_type": "provider", "entity_id": "x", "role": "biller"},
         {"alert_id": "peer_outlier:q", "entity_type": "provider", "entity_id": "q", "role": "biller"}])
    risk = {r["entity_id"]: r for r in entity_risk(f, net).to_pylist()}
    assert risk["x"]["direct_score"] == 100.0 and risk["q"]["direct_score"] == 50.0
    assert risk["y"]["direct_score"] == 0 and risk["y"]["network_score"] > risk.get("w", {"network_score": 0})["network_score"]
    assert risk["y"]["reasons"] == "network: tied to 2 flagged entities (provider:q, provider:x)"
    assert risk["x"]["reasons"] == "peer_outlier as biller (peer_outlier:x)"
    assert risk["x"]["score"] > risk["y"]["score"]


def test_evaluate_counts_recall_and_precision_at_k():
    f = make_findings(
        [{"alert_id": f"a{i}", "pattern": "dense_block", "score": 10 - i, "summary": "s"} for i in range(5)],
        [{"alert_id": "a0", "entity_type": "provider", "entity_id": "p1", "role": "biller"},
         {"alert_id": "a1", "entity_type": "provider", "entity_id": "zz", "role": "biller"},
         {"alert_id": "a4", "entity_type": "provider", "entity_id": "p2", "role": "biller"}])
    truth = pa.table({"pattern": ["dense_block", "dense_block", "peer_outlier"], "group_id": ["g1", "g2", "g3"],
                      "entity_type": ["provider"] * 3, "entity_id": ["p1", "p2", "p3"]})
    risk = pa.table({"entity_type": ["provider"] * 3, "entity_id": ["p1", "zz", "p2"]})
    r = evaluate(f.alerts, f.entities, risk, truth)
    rows = {x["pattern"]: x for x in r["patterns"]}
    # K = 4: a0..a3; a0 names g1, a4 (rank 5) is outside K
    assert (rows["dense_block"]["k"], rows["dense_block"]["found"], rows["dense_block"]["recall"],
            rows["dense_block"]["precision_at_k"]) == (4, 1, 0.5, 0.25)
    assert (rows["peer_outlier"]["recall"], rows["peer_outlier"]["alerts"]) == (0.0, 0)
    assert r["entity_risk"] == {"known": 3, "precision_at_k": 2 / 3, "average_precision": (1 + 2 / 3) / 3, "found": 2}
