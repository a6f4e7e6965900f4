"""Communities, stable ids and centrality (checked against networkx)."""
import networkx as nx
import pyarrow as pa
import pytest

from graph.network import centrality, community_summary, leiden, stable_ids


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


def test_community_density_counts_distinct_linked_pairs_of_its_own_graph():
    """Density = distinct member pairs linked in the community's own graph / possible pairs, in
    [0, 1]: a pair linked in the other graph too, or in both directions, is one link (the members
    a, b, c, d of both an sp and an rx community gave 7 links for 6 pairs: density 1.17)."""
    a, b, c, d = (f"provider:{x}" for x in "abcd")
    sp = edges([(a, b, 3), (b, c, 2), (a, c, 1)])                 # 3 of the 6 pairs
    rx = edges([(a, b, 4), (b, a, 1), (a, d, 2), (c, d, 1)])      # a–b both ways: 3 pairs
    communities = pa.table({"community_id": ["sp-0001"] * 4 + ["rx-0001"] * 4 + ["sp-0002"],
                            "node_id": [a, b, c, d, a, b, c, d, "provider:e"]})
    risk = pa.table({"entity_type": ["provider"], "entity_id": ["a"], "score": [0.9], "direct_score": [0.9]})
    rows = {r["community_id"]: r for r in community_summary(communities, {"sp": sp, "rx": rx}, risk).to_pylist()}
    assert (rows["sp-0001"]["size"], rows["sp-0001"]["density"], rows["sp-0001"]["internal_weight"]) == (4, 0.5, 6.0)
    assert (rows["rx-0001"]["size"], rows["rx-0001"]["density"], rows["rx-0001"]["internal_weight"]) == (4, 0.5, 8.0)
    assert (rows["sp-0002"]["size"], rows["sp-0002"]["density"], rows["sp-0002"]["internal_weight"]) == (1, 0.0, 0.0)
    clique = edges([(x, y, 1) for x in (a, b, c, d) for y in (a, b, c, d) if x != y])   # every pair, both ways
    full = community_summary(communities, {"sp": clique, "rx": clique}, risk).to_pylist()
    assert {r["community_id"]: r["density"] for r in full} == {"sp-0001": 1.0, "rx-0001": 1.0, "sp-0002": 0.0}
