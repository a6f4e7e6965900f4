"""Cases on the investigators' graph, against the session's real Neo4j 5.26: each sync puts the
cases' ids, statuses and decisions on the entities they concern, with the Confirmed or Dismissed
label, and takes them off when the cases change."""
import shutil

import pytest

import publish.neo4j as ns
from cases.store import Actor, CaseStore
from runs.store import Store

from .conftest import empty_neo4j

pytestmark = pytest.mark.neo4j
ALICE = Actor("alice", "analyst")


def q(server, text, **params):
    with ns.driver(server) as d:
        records, _, _ = d.execute_query(text, params, database_=server.database)
    return [r.data() for r in records]


def top(store, pattern):
    con = store.connect()
    try:
        return con.execute("SELECT alert_id FROM alerts WHERE pattern = $p ORDER BY rank LIMIT 1", {"p": pattern}).fetchall()[0][0]
    finally:
        con.close()


def test_case_labels_follow_the_cases(neo4j_server, region, tmp_path):
    server = neo4j_server.settings
    empty_neo4j(server)
    shutil.copytree(region["store"].root, tmp_path / "store")
    store = Store(tmp_path / "store")
    cs = CaseStore(store)
    fraud = cs.open(ALICE, [top(store, "double_billing")], opened_on="2025-06-01")
    cs.update(fraud["case_id"], ALICE, 1, status="confirmed", qualification="fraud")
    cs.decide(fraud["case_id"], ALICE, "am_financial_penalty", "2025-10-01", overpayment_notified=5000)
    shopper = cs.open(ALICE, [top(store, "doctor_shopping")])
    cs.update(shopper["case_id"], ALICE, 1, status="dismissed")
    cs.open(ALICE, [top(store, "dense_block")])                 # open: neither label

    report = ns.sync(store, server, batch_size=5000)
    want_confirmed = sorted(f"{e['entity_type']}:{e['entity_id']}" for e in fraud["entities"] if e["standing"] != "victim")
    got = q(server, "MATCH (n:Confirmed) RETURN n.key AS key, n.case_ids AS ids, n.case_statuses AS statuses, "
                    "n.case_decisions AS decisions ORDER BY key")
    assert [g["key"] for g in got] == want_confirmed
    assert all((g["ids"], g["statuses"], g["decisions"]) == ([fraud["case_id"]], ["confirmed"], ["am_financial_penalty"])
               for g in got)
    dismissed = q(server, "MATCH (n:Dismissed) RETURN n.key AS key ORDER BY key")
    # the shopper's case labels the shopper only: the doctors and pharmacies it deceived (its victims) none
    assert shopper["entities"] and all(e["standing"] == "victim" for e in shopper["entities"] if e["entity_type"] != "patient")
    assert [d["key"] for d in dismissed if not d["key"].startswith("patient:")] == []
    assert sum(d["key"].startswith("patient:") for d in dismissed) == 1       # the shopper; no billed patient
    assert q(server, "MATCH (n:Confirmed:Dismissed) RETURN count(n) AS c")[0]["c"] == 0
    assert report["cases"] == {"cleared": 0, "labelled": len(got) + len(dismissed) + sum(
                                   e["standing"] != "victim" for e in CaseStore(store).get("C-00003")["entities"]),
                               "confirmed": len(got), "dismissed": len(dismissed)}

    # a resync changes nothing; reopening the confirmed case takes its label off at the next sync
    again = ns.sync(store, server, batch_size=5000)
    assert q(server, "MATCH (n:Confirmed) RETURN n.key AS key ORDER BY key") == [{"key": k} for k in want_confirmed]
    assert again["cases"]["confirmed"] == report["cases"]["confirmed"]
    cs.update(fraud["case_id"], ALICE, 3, status="in_review")
    ns.sync(store, server, batch_size=5000)
    assert q(server, "MATCH (n:Confirmed) RETURN count(n) AS c")[0]["c"] == 0
    statuses = q(server, "MATCH (n:Entity {key: $k}) RETURN n.case_statuses AS s", k=want_confirmed[0])
    assert statuses == [{"s": ["in_review"]}]
