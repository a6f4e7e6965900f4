"""Entity risk: euros at stake by standing, guilt by association kept apart and bounded, and the
properties an analyst sorts by (monotone, stable, unsaturated), on hand-made and random alerts."""
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.findings import combine, make_findings
from graph.risk import STANDING_WEIGHTS, entity_risk

from .conftest import examples


def alert(aid, pattern, euros, *entities):
    """An alert and its entities: (entity_id, role, standing), all providers."""
    return make_findings([{"alert_id": aid, "pattern": pattern, "score": euros, "summary": "s", "excess_euros": euros}],
                         [{"alert_id": aid, "entity_type": "provider", "entity_id": e, "role": r, "standing": s}
                          for e, r, s in entities])


def net(rows):
    return pa.table({"src": [r[0] for r in rows], "dst": [r[1] for r in rows], "weight": [float(r[2]) for r in rows]})


def risk_of(findings, network=None, share=0.1):
    return {r["entity_id"]: r for r in entity_risk(findings, network, share).to_pylist()}


def test_direct_risk_is_the_euros_at_stake_weighted_by_standing_and_victims_carry_none():
    f = combine([alert("shop", "doctor_shopping", 900.0, ("SHOPPER", "shopper", "accused"),
                       ("GP", "shopped_prescriber", "victim"), ("PH", "shopped_pharmacy", "victim")),
                 alert("ring", "pharmacy_collusion", 5000.0, ("PHX", "pharmacy", "accused"),
                       ("MULE", "patient", "participant")),
                 alert("dup", "double_billing", 1200.0, ("PHX", "biller", "accused"))])
    risk = risk_of(f)
    assert risk["PHX"]["direct_score"] == 6200.0 and risk["PHX"]["alerts"] == 2
    assert risk["MULE"]["direct_score"] == 5000.0 * STANDING_WEIGHTS["participant"]
    assert risk["SHOPPER"]["direct_score"] == 900.0
    assert "GP" not in risk and "PH" not in risk                     # victims are not at risk
    assert risk["PHX"]["reasons"] == ("pharmacy_collusion as pharmacy (ring): €5,000.00; "
                                      "double_billing as biller (dup): €1,200.00")


def test_guilt_by_association_is_apart_bounded_and_local():
    f = alert("a", "peer_outlier", 10000.0, ("X", "biller", "accused"))
    network = net([("provider:X", "provider:Y", 3.0), ("provider:Y", "provider:Z", 3.0)])
    risk = risk_of(f, network)
    assert risk["X"]["network_score"] == 0 and risk["X"]["score"] == 10000.0
    # Y is tied to X: at most 10 % of X's risk, times the tie 3 / (3 + 1)
    assert risk["Y"]["direct_score"] == 0 and risk["Y"]["network_score"] == round(0.1 * 0.75 * 10000.0, 2)
    assert risk["Y"]["reasons"] == "network: tied to 1 entity at risk (provider:X)"
    assert "Z" not in risk                                           # two links away: nothing
    assert risk_of(f, network, share=0.0).keys() == {"X"}


def test_a_neighbour_linked_both_ways_or_by_several_edges_is_named_and_counted_once():
    """A user saw `tied to 2 entities at risk (provider:X, provider:X, provider:X)`: X was tied to Y
    both ways and by a second edge. X is one neighbour, at its strongest tie; W, another
    neighbour, is still named beside it."""
    f = combine([alert("a", "peer_outlier", 10000.0, ("X", "biller", "accused")),
                 alert("b", "peer_outlier", 2000.0, ("W", "biller", "accused"))])
    network = net([("provider:X", "provider:Y", 3.0), ("provider:Y", "provider:X", 1.0),
                   ("provider:X", "provider:Y", 0.5), ("provider:Y", "provider:W", 1.0)])
    y = risk_of(f, network)["Y"]
    assert y["reasons"] == "network: tied to 2 entities at risk (provider:X, provider:W)"
    assert y["network_score"] == round(0.1 * 0.75 * 10000.0, 2)     # the strongest tie to X, once


def test_the_riskiest_stay_ordered_no_ceiling():
    big = [alert(f"a{i}", "peer_outlier", 10.0 ** (3 + i), (f"P{i}", "biller", "accused")) for i in range(6)]
    scores = [r["score"] for r in entity_risk(combine(big)).to_pylist()]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 6 and scores[0] == 1e8


# --- properties, on random alerts -----------------------------------------------------------

ENTITIES = [f"E{i}" for i in range(8)]
STANDING = st.sampled_from(["accused", "participant", "victim"])
ALERT = st.tuples(st.sampled_from(["double_billing", "dense_block", "peer_outlier"]),
                  st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
                  st.lists(st.tuples(st.sampled_from(ENTITIES), STANDING), min_size=1, max_size=4))
NETWORK = net([(f"provider:E{i}", f"provider:E{(i * 3 + 1) % 8}", 1.0 + i) for i in range(8)])


def build(alerts):
    return combine([alert(f"a{i}", p, e, *((x, "role", s) for x, s in ents)) for i, (p, e, ents) in enumerate(alerts)])


def scores(alerts):
    return {k: v["score"] for k, v in risk_of(build(alerts), NETWORK).items()}


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(ALERT, max_size=6), ALERT)
def test_a_new_alert_never_lowers_any_risk(alerts, new):
    before, after = scores(alerts), scores(alerts + [new])
    assert all(after.get(k, 0.0) >= v - 1e-6 for k, v in before.items())


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(ALERT, min_size=1, max_size=6), st.data())
def test_removing_an_unrelated_alert_leaves_an_entity_unchanged(alerts, data):
    gone = data.draw(st.integers(0, len(alerts) - 1))
    named = {x for x, _ in alerts[gone][2]}
    tied = named | {n for s, d in zip(NETWORK["src"].to_pylist(), NETWORK["dst"].to_pylist())
                    for a, n in ((s, d), (d, s)) if a.split(":")[1] in named for n in [n.split(":")[1]]}
    before, after = scores(alerts), scores(alerts[:gone] + alerts[gone + 1:])
    for k in set(ENTITIES) - tied:
        assert before.get(k, 0.0) == after.get(k, 0.0)


def test_the_top_entities_of_a_generated_region_have_distinct_scores(region):
    con = region["store"].connect()
    top = [s for (s,) in con.execute("SELECT score FROM entity_risk ORDER BY score DESC LIMIT 20").fetchall()]
    con.close()
    assert len(top) == 20 and len(set(top)) == 20
