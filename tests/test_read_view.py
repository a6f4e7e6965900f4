"""The API's read view of the current run (`runs.results.RunView`, kept by `api.deps.Results`):
the same answers as the per-call statements, for every alert and entity, and a new current run
served at once."""
import json
import random
import shutil

import duckdb
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import parse_keys
from cases.views import alert_content
from contract.errors import NotFound
from contract.vocab import PATTERNS
from runs import results
from runs.audit import read_audit
from runs.store import Store

KEY = "analyst-key-0123456789abcdef"
H = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def run(region):
    """(a cursor on the region's run, its view, the node ids of its entities)."""
    con = region["store"].connect()
    cur = con.cursor()
    nodes = [r for r in cur.execute("SELECT entity_type, entity_id FROM nodes ORDER BY 1, 2").fetchall()]
    yield cur, results.RunView(cur), nodes
    cur.close()
    con.close()


def _same(view_answer, call_answer):
    # compared as the JSON the API sends (floats, dates, None) and as Python values
    assert view_answer == call_answer
    assert json.dumps(view_answer, default=str) == json.dumps(call_answer, default=str)


def test_every_alert_is_answered_as_the_per_call_statements_answer_it(run):
    cur, view, _ = run
    ids = [a for (a,) in cur.execute("SELECT alert_id FROM alerts ORDER BY 1").fetchall()]
    assert len(ids) > 20 and {i.split(":")[0] for i in ids} >= {"double_billing", "doctor_shopping", "dense_block"}
    for alert_id in ids:
        _same(alert_content(view, alert_id), alert_content(cur, alert_id))
        _same(view.alert(alert_id), results.alert(cur, alert_id))
    for missing in ("peer_outlier:nobody", "doctor_shopping:x"):
        with pytest.raises(NotFound) as e:
            alert_content(view, missing)
        assert (e.value.kind, e.value.key) == ("alert", missing)


def test_alert_lists_are_answered_as_the_per_call_statements_answer_them(run):
    cur, view, _ = run
    named = cur.execute("SELECT entity_type, entity_id FROM alert_entities ORDER BY 1, 2 LIMIT 1").fetchall()[0]
    median = cur.execute("SELECT median(score) FROM alerts").fetchall()[0][0]
    asked = [dict(), dict(limit=500), dict(limit=3, offset=2), dict(limit=20, offset=4), dict(offset=10_000),
             dict(min_score=median), dict(entity=named), dict(entity=("provider", "nobody")),
             *({"pattern": p, "sort": s, "limit": 7} for p in PATTERNS for s in ("rank", "-score", "score")),
             dict(pattern="peer_outlier", min_score=median, sort="-score")]
    for kwargs in asked:
        rows, total = view.alerts(**kwargs)
        assert (rows, total) == results.alerts(cur, **kwargs), kwargs
    assert view.alerts(limit=500)[1] > 20


def _check_entities(cur, view, nodes):
    for entity_type, entity_id in nodes:
        _same(results.entity(view, entity_type, entity_id), results.entity(cur, entity_type, entity_id))


def test_every_entity_but_most_patients_is_answered_as_the_per_call_statements_answer_it(run):
    """The everyday tier: every provider, centre, legal entity and person, every patient an
    alert, a risk score or a community names, and 300 other patients drawn at random (the slow
    test below compares all of them)."""
    cur, view, nodes = run
    known = {tuple(r) for r in cur.execute("""
        SELECT entity_type, entity_id FROM alert_entities UNION SELECT entity_type, entity_id FROM entity_risk
        UNION SELECT entity_type, entity_id FROM communities""").fetchall()}
    others = [n for n in nodes if n[0] == "patient" and n not in known]
    picked = [n for n in nodes if n[0] != "patient" or n in known] + random.Random(3).sample(others, 300)
    assert {t for t, _ in picked} == {"provider", "centre", "legal_entity", "person", "patient"}
    assert any(results.entity(view, *n)["alerts"] for n in picked if n[0] == "patient")
    _check_entities(cur, view, picked)
    for entity_type, entity_id in (("provider", "nobody"), ("patient", "P-none")):
        with pytest.raises(NotFound) as e:
            results.entity(view, entity_type, entity_id)
        assert (e.value.kind, e.value.key) == (entity_type, entity_id)


@pytest.mark.slow
def test_every_entity_is_answered_as_the_per_call_statements_answer_it(run):
    cur, view, nodes = run
    assert view.size() == len(nodes) > 6000
    _check_entities(cur, view, nodes)


def _second_run(store: Store, renamed: str) -> str:
    """A copy of the current run under a new id, with provider `renamed` renamed in its results:
    a finished run whose answers differ from the current one's."""
    first = store.current()
    second = first[:-4] + ("0000" if first[-4:] != "0000" else "0001")
    shutil.copytree(store.runs_dir / first, store.runs_dir / second)
    path = store.results_path(second)
    con = duckdb.connect(str(path))
    try:
        con.execute("UPDATE nodes SET name = 'Renamed' WHERE node_id = $n", {"n": f"provider:{renamed}"})
        con.execute("CHECKPOINT")
    finally:
        con.close()
    record = json.loads((store.runs_dir / second / "run.json").read_text())
    record.update(run_id=second, results_bytes=path.stat().st_size, promoted_at=None)
    (store.runs_dir / second / "run.json").write_text(json.dumps(record))
    return second


def test_the_api_serves_the_view_and_a_new_current_run_at_once_every_read_audited(region, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(region["store"].root, root)
    shutil.rmtree(root / "audit", ignore_errors=True)   # reads other tests audited in the shared region's store
    store = Store(root)
    first = store.current()
    with TestClient(create_app(store, parse_keys(f"alice:analyst:{KEY}", "test"))) as c:
        top = c.get("/api/v1/alerts?pattern=peer_outlier&limit=1", headers=H).json()["data"][0]
        provider = top["alert_id"].split(":")[1]
        before = c.get(f"/api/v1/entities/provider/{provider}", headers=H).json()
        held = c.app.state.results._view
        assert held[0] == first and isinstance(held[1], results.RunView)     # answered from the view
        cur = store.connect().cursor()
        assert before == {"run_id": first, **results.entity(cur, "provider", provider)}
        second = _second_run(store, provider)
        store.promote(second)
        after = c.get(f"/api/v1/entities/provider/{provider}", headers=H).json()
        assert (after["run_id"], after["name"]) == (second, "Renamed") and before["name"] != "Renamed"
        assert c.app.state.results._view[0] == second                        # the first run's view dropped
        listed = c.get("/api/v1/alerts?limit=5", headers=H).json()
        assert {a["run_id"] for a in listed["data"]} == {second}
        one = c.get(f"/api/v1/alerts/{top['alert_id']}", headers=H).json()
        assert one["run_id"] == second
        old = c.get(f"/api/v1/entities/provider/{provider}?run={first}", headers=H).json()
        assert old == before and c.app.state.results._view[0] == second    # an older run: per call
    reads = [(e["action"], e["run"]) for e in read_audit(store, limit=100)[0]][::-1]
    assert reads == [("alerts.list", first), ("entities.get", first), ("entities.get", second),
                     ("alerts.list", second), ("alerts.get", second), ("entities.get", first)]


def test_a_view_being_built_does_not_hold_the_server(region, tmp_path, monkeypatch):
    """The current run's view is built in a worker thread (`Results.ready`): while it is made
    (tens of seconds for a national run), health checks and other calls are answered."""
    import threading

    from api import deps
    entered, release, waited = threading.Event(), threading.Event(), []

    class Slow(results.RunView):
        def __init__(self, cur):
            entered.set()
            waited.append(release.wait(timeout=10))     # False: nothing answered while it waited
            super().__init__(cur)

    monkeypatch.setattr(deps, "RunView", Slow)
    with TestClient(create_app(region["store"], parse_keys(f"alice:analyst:{KEY}", "test"))) as c:
        answers = []
        call = threading.Thread(target=lambda: answers.append(c.get("/api/v1/alerts?limit=1", headers=H)))
        call.start()
        assert entered.wait(timeout=30)
        assert c.get("/health").status_code == 200      # answered while the view is being built
        release.set()
        call.join(timeout=30)
    assert waited == [True] and answers[0].status_code == 200 and answers[0].json()["count"] > 0
