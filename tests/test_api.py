"""The HTTP API on a real store built from a generated region: statuses, bodies, exact messages."""
import json
import os
import re
import shutil
import time
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyConfigError, load_keys, parse_keys
from api.logs import log_config
from runs.store import Store

ADMIN, ANALYST = "admin-key-0123456789abcdef", "analyst-key-0123456789abcdef"
KEYS = f"ops:admin:{ADMIN},alice:analyst:{ANALYST}"
A = {"X-API-Key": ANALYST}


@pytest.fixture(scope="module")
def store(region, tmp_path_factory):
    """A copy of the region's store, so runs started here do not change other tests' store."""
    root = tmp_path_factory.mktemp("api") / "store"
    shutil.copytree(region["store"].root, root)
    return Store(root)


@pytest.fixture(scope="module")
def client(store, region):
    app = create_app(store, parse_keys(KEYS, "test"), data_root=region["root"])
    with TestClient(app) as c:
        yield c


def get(client, url, key=ANALYST, status=200):
    r = client.get(url, headers={"X-API-Key": key} if key else {})
    assert r.status_code == status, (url, r.status_code, r.text)
    return r.json() if r.headers["content-type"].startswith("application/json") else r.text


def first(client, pattern):
    return get(client, f"/api/v1/alerts?pattern={pattern}&limit=1")["data"][0]


def test_health_and_ready_need_no_key(client, tmp_path):
    assert get(client, "/api/v1/health", key=None) == {"status": "ok"}
    assert get(client, "/health", key=None) == {"status": "ok"}
    ready = get(client, "/api/v1/ready", key=None)
    assert ready["status"] == "ready" and ready["run_id"]
    with TestClient(create_app(Store(tmp_path / "empty"), parse_keys(KEYS, "test"))) as empty:
        r = empty.get("/api/v1/ready")
        assert (r.status_code, r.json()) == (503, {"status": "no current run", "run_id": None})


def test_authentication_and_roles(client):
    assert get(client, "/api/v1/alerts", key=None, status=401) == {
        "detail": "missing API key: send it in the X-API-Key header"}
    assert get(client, "/api/v1/alerts", key="wrong-key-0123456789", status=401) == {"detail": "invalid API key"}
    assert get(client, "/api/v1/audit", status=403) == {
        "detail": "this needs the admin role; key 'alice' has role 'analyst'"}
    r = client.post("/api/v1/runs", json={"source": "data"}, headers=A)
    assert (r.status_code, r.json()) == (403, {"detail": "this needs the admin role; key 'alice' has role 'analyst'"})


def test_keys_come_only_from_the_environment_and_are_checked(monkeypatch):
    from config import Environment
    for name in ("FRAUDNET_API_KEYS", "FRAUDNET_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(KeyConfigError, match="no API keys: set FRAUDNET_API_KEYS=name:role:key"):
        load_keys(Environment())
    for keys, problem in (
            ("bob:analyst:changeme", r"^FRAUDNET_API_KEYS: entry 1 \(bob\) has a placeholder or a key shorter than 16"),
            ("bob:root:0123456789abcdefgh", r"^FRAUDNET_API_KEYS: entry 1 \(bob\) has role 'root', expected one of"),
            (f"a:analyst:{ADMIN},b:admin:{ADMIN}", r"^FRAUDNET_API_KEYS: entry 2 \(b\) has the same key as another")):
        monkeypatch.setenv("FRAUDNET_API_KEYS", keys)
        with pytest.raises(KeyConfigError, match=problem):
            load_keys(Environment())
    monkeypatch.setenv("FRAUDNET_API_KEYS", KEYS)
    env = Environment()
    ring = load_keys(env)
    assert ring.check(ADMIN).role == "admin" and ring.check("nope") is None
    assert ADMIN not in repr(ring.__dict__) and ADMIN not in repr(env)      # held hashed; a secret in the environment


def test_runs(client, store):
    runs = get(client, "/api/v1/runs")
    assert runs["count"] == len(store.list_runs()) and runs["data"][0]["status"] == "succeeded"
    one = get(client, f"/api/v1/runs/{runs['data'][0]['run_id']}")
    assert set(one["timings"]) == {"load", "build", "detect", "score", "write", "check", "promote"}
    assert one["settings"]["double_billing"]["fdr"] == 0.01 and one["checks"]["passed"]
    assert one["sources"] == ["data"]            # relative to the data root: no server path
    assert get(client, "/api/v1/runs/20990101T000000000000-abcd", status=404) == {
        "detail": "no run '20990101T000000000000-abcd'"}
    assert get(client, "/api/v1/runs/a..b", status=404) == {"detail": "no run 'a..b'"}


def test_alert_lists_filter_sort_and_paginate(client):
    everything = get(client, "/api/v1/alerts?limit=500")
    assert everything["count"] == len(everything["data"]) > 6
    order = [(a["rank"], a["pattern"], a["alert_id"]) for a in everything["data"]]
    assert order == sorted(order)                 # the one order of alerts: rank within the pattern
    scores = [a["score"] for a in everything["data"]]
    db = get(client, "/api/v1/alerts?pattern=double_billing&limit=500")
    assert db["count"] == sum(a["pattern"] == "double_billing" for a in everything["data"])
    assert {a["pattern"] for a in db["data"]} == {"double_billing"}
    page = get(client, "/api/v1/alerts?pattern=double_billing&limit=2&offset=1")
    assert [a["alert_id"] for a in page["data"]] == [a["alert_id"] for a in db["data"][1:3]]
    asc = get(client, "/api/v1/alerts?sort=score&limit=3")
    assert [a["score"] for a in asc["data"]] == sorted(scores)[:3]
    assert [a["score"] for a in db["data"]] == sorted((a["score"] for a in db["data"]), reverse=True)
    top = db["data"][0]
    high = get(client, f"/api/v1/alerts?min_score={top['score']}")
    assert all(a["score"] >= top["score"] for a in high["data"]) and high["count"] >= 1
    biller = top["alert_id"].split(":")[2]
    mine = get(client, f"/api/v1/alerts?entity=provider:{biller}")
    assert top["alert_id"] in {a["alert_id"] for a in mine["data"]}
    assert get(client, "/api/v1/alerts?limit=0", status=422) == {
        "detail": "query parameter 'limit': Input should be greater than or equal to 1"}
    assert get(client, "/api/v1/alerts?pattern=fraud", status=422)["detail"].startswith("query parameter 'pattern'")
    assert get(client, "/api/v1/alerts?entity=nobody", status=422)["detail"].startswith("query parameter 'entity'")


def test_a_double_billing_alert_carries_its_path_and_both_claims(client, region):
    hospital = get(client, "/api/v1/alerts?pattern=double_billing&limit=500")["data"]
    aid = next(a["alert_id"] for a in hospital if a["alert_id"].startswith("double_billing:hospital:"))
    alert = get(client, f"/api/v1/alerts/{aid}")
    _, _, provider, centre = aid.split(":")
    path = alert["evidence"]["paths"][0]
    assert path["nodes"][0] == path["nodes"][3] == f"provider:{provider}" and path["nodes"][1] == f"centre:{centre}"
    assert path["rels"] == ["WORKS_AT", "BILLED", "BILLED"]
    claims = {r["claim_id"]: r for r in _claims(region, {path["hospital_claim_id"], path["private_claim_id"]})}
    assert claims[path["hospital_claim_id"]]["centre_id"] == centre
    assert claims[path["private_claim_id"]]["centre_id"] == ""
    assert {"entity_type": "provider", "entity_id": provider, "role": "biller", "standing": "accused"}.items() \
        <= next(e for e in alert["entities"] if e["entity_type"] == "provider").items()
    assert path["nodes"][2].startswith("patient ")          # numbered as in the evidence lines, not named
    assert get(client, "/api/v1/alerts/nope", status=404) == {"detail": "no alert 'nope'"}


def test_the_cli_and_the_api_show_the_same_alert_of_every_pattern_naming_no_patient(client, store):
    """One alert view for both faces: entities with standing and excess euros, patients counted
    (`patients`, `patients_sampled`), the statistic against peers, the evidence lines' count."""
    from click.testing import CliRunner
    from cli.main import main
    con = store.connect()
    try:
        patterns = [p for (p,) in con.execute("SELECT DISTINCT pattern FROM alerts ORDER BY 1").fetchall()]
        patients = {i for (i,) in con.execute("SELECT DISTINCT entity_id FROM alert_entities "
                                              "WHERE entity_type = 'patient'").fetchall()}
    finally:
        con.close()
    assert {"double_billing", "doctor_shopping", "peer_outlier"} <= set(patterns) and patients
    for pattern in patterns:
        aid = first(client, pattern)["alert_id"]
        api = get(client, f"/api/v1/alerts/{quote(aid, safe=':')}")
        done = CliRunner().invoke(main, ["alert", aid, "--json", "--store", str(store.root)])
        assert done.exit_code == 0, done.output
        assert json.loads(done.output) == api, pattern
        assert {"patients", "patients_sampled", "peers", "evidence_lines"} <= api.keys()
        assert all(e["entity_type"] != "patient" and "standing" in e for e in api["entities"]), pattern
        assert not {w for w in re.findall(r"[A-Za-z0-9_.-]+", json.dumps(api))} & patients, pattern
    shopping = get(client, "/api/v1/alerts/" + quote(first(client, "doctor_shopping")["alert_id"], safe=":"))
    assert shopping["patients_sampled"] == 1 and set(shopping["peers"]["subject_units"]) == {"patient"}


def _claims(region, ids):
    import csv
    with open(region["data"] / "claims.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["claim_id"] in ids]


def test_entity_with_risk_alerts_community_and_centrality(client):
    top = first(client, "peer_outlier")
    pid = top["alert_id"].split(":")[1]
    e = get(client, f"/api/v1/entities/provider/{pid}")
    assert e["node_id"] == f"provider:{pid}" and e["kind"]
    assert e["risk"]["score"] > 0 and top["alert_id"] in e["risk"]["reasons"]
    assert [a["alert_id"] for a in e["alerts"] if a["pattern"] == "peer_outlier"] == [top["alert_id"]]
    assert e["communities"] and e["centrality"]["degree"] >= 1
    assert get(client, "/api/v1/entities/provider/nobody", status=404) == {"detail": "no provider 'nobody'"}
    assert get(client, "/api/v1/entities/wizard/x", status=422)["detail"].startswith("path parameter 'entity_type'")


def test_neighbourhood_is_capped_and_does_not_expand_hubs(client):
    pid = first(client, "dense_block")["alert_id"].split(":")[1]
    n = get(client, f"/api/v1/entities/provider/{pid}/neighbourhood?depth=2&max_nodes=50&hub_degree=100")
    ids = {x["node_id"] for x in n["nodes"]}
    assert len(ids) <= 50 and n["truncated"] and f"provider:{pid}" in ids
    assert all(e["src"] in ids and e["dst"] in ids for e in n["edges"])
    assert all(x["hub"] == (x["degree"] > 100) for x in n["nodes"] if x["node_id"] != f"provider:{pid}")
    one = get(client, f"/api/v1/entities/provider/{pid}/neighbourhood?depth=1&max_nodes=2000")
    assert all(f"provider:{pid}" in (e["src"], e["dst"]) for e in one["edges"])
    assert get(client, f"/api/v1/entities/provider/{pid}/neighbourhood?depth=4", status=422)["detail"].startswith(
        "query parameter 'depth'")


def test_paths_between_two_entities_avoid_hubs(client):
    aid = next(a["alert_id"] for a in get(client, "/api/v1/alerts?pattern=double_billing&limit=500")["data"]
               if a["alert_id"].startswith("double_billing:hospital:"))
    _, _, provider, centre = aid.split(":")
    p = get(client, f"/api/v1/paths?from=provider:{provider}&to=centre:{centre}&k=2&max_hops=3")
    assert p["paths"][0]["nodes"] == [f"provider:{provider}", f"centre:{centre}"]
    assert p["paths"][0]["edges"][0]["rel"] == "WORKS_AT"
    assert all(path["hops"] <= 3 for path in p["paths"]) and len(p["paths"]) <= 2
    none = get(client, f"/api/v1/paths?from=provider:{provider}&to=centre:{centre}&k=2&max_hops=3&hub_degree=1")
    assert [x["nodes"] for x in none["paths"]] == [[f"provider:{provider}", f"centre:{centre}"]]
    assert get(client, "/api/v1/paths?from=provider:x&to=nobody", status=422)["detail"].startswith("query parameter 'to'")


def test_heavy_reads_are_sent_as_fastapi_would_encode_them(client, store):
    """Neighbourhoods and paths are encoded in the worker (`api.workers.encode`): byte for byte
    what FastAPI writes for the same answer, dates included."""
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    from runs import results
    aid = first(client, "dense_block")["alert_id"]
    pid = aid.split(":")[1]
    run_id, cur = store.current(), store.connect().cursor()
    hub = cur.execute("SELECT node_id FROM node_degree ORDER BY degree DESC LIMIT 1").fetchall()[0][0]
    for url, found in ((f"/api/v1/entities/provider/{pid}/neighbourhood?depth=2&max_nodes=300",
                        results.neighbourhood(cur, f"provider:{pid}", 2, 300, 500)),
                       (f"/api/v1/paths?from=provider:{pid}&to={hub}&k=2&hub_degree=100000",
                        results.paths(cur, f"provider:{pid}", hub, 2, 4, 100000))):
        r = client.get(url, headers=A)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.content == JSONResponse(jsonable_encoder({"run_id": run_id, **found})).body
    assert "first_date" in r.text


def test_communities_ranked_by_risk(client):
    cs = get(client, "/api/v1/communities?limit=500")
    risks = [c["risk"] for c in cs["data"]]
    assert cs["count"] == len(cs["data"]) > 0 and risks == sorted(risks, reverse=True)
    one = get(client, f"/api/v1/communities/{cs['data'][0]['community_id']}")
    assert len(one["members"]) == one["size"] and one["flagged"] > 0 and one["alerts"]
    assert get(client, "/api/v1/communities?graph=rx")["data"][0]["graph"] == "rx"
    assert get(client, "/api/v1/communities/zz-0001", status=404) == {"detail": "no community 'zz-0001'"}


def test_changes_and_exports(client, store):
    ch = get(client, "/api/v1/runs/current/changes")
    assert ch["previous_run"] is None and len(ch["new"]) == get(client, "/api/v1/alerts")["count"]
    csv = get(client, "/api/v1/runs/current/export/alerts.csv")
    assert csv.splitlines()[0] == "alert_id,pattern,score,summary,rank,excess_euros,surprise_bits,evidence"
    assert get(client, "/api/v1/runs/current/export/secrets.csv", status=422)["detail"].startswith("path parameter 'name'")


def test_every_read_is_audited_and_only_admins_read_the_audit_log(client):
    pid = first(client, "peer_outlier")["alert_id"].split(":")[1]
    get(client, f"/api/v1/entities/provider/{pid}")
    log = get(client, "/api/v1/audit?limit=5", key=ADMIN)
    assert log["data"][0]["who"] == "alice" and log["data"][0]["action"] == "entities.get"
    assert log["data"][0]["target"] == f"provider:{pid}"


def test_the_audit_log_names_a_patient_by_a_keyed_pseudonym_and_finds_its_reads(client, store):
    con = store.connect()          # an alert names no patient: take the accused from its results
    try:
        patient = con.execute("SELECT e.entity_id FROM alert_entities e JOIN alerts USING (alert_id) "
                              "WHERE pattern = 'doctor_shopping' AND entity_type = 'patient' LIMIT 1").fetchone()[0]
    finally:
        con.close()
    get(client, f"/api/v1/entities/patient/{patient}")
    get(client, f"/api/v1/alerts?entity=patient:{patient}")
    get(client, "/api/v1/entities/patient/P-nobody", status=404)                  # not read: not audited
    log = get(client, "/api/v1/audit?limit=5", key=ADMIN)["data"]
    entity, listed = log[1]["target"], log[0]["target"]
    assert re.fullmatch(r"patient:~[0-9a-f]{24}", entity) and entity in unquote(listed)
    assert patient not in json.dumps(log)
    assert get(client, "/api/v1/audit?target=patient:P-nobody", key=ADMIN)["data"] == []
    assert "valid date" in json.dumps(get(client, "/api/v1/audit?day=2026-13-01", key=ADMIN, status=422))
    assert get(client, "/api/v1/audit?day=2026-11-30", key=ADMIN)["count"] >= 0
    found = get(client, f"/api/v1/audit?target=patient:{patient}", key=ADMIN)
    assert [r["action"] for r in found["data"]] == ["alerts.list", "entities.get"]
    assert get(client, "/api/v1/audit?limit=1", key=ADMIN)["data"][0]["target"] == f"audit?day=&target={quote(entity)}"


@pytest.mark.slow
def test_post_runs_starts_a_scan_one_at_a_time(client, store, region):
    r = client.post("/api/v1/runs", json={"source": "data"}, headers={"X-API-Key": ADMIN})
    assert r.status_code == 202 and r.json()["status"] == "running"
    run_id = r.json()["run_id"]
    for _ in range(600):      # a run records `succeeded`, then becomes current: wait for both
        state = get(client, f"/api/v1/runs/{run_id}")
        if state["status"] not in ("running", "succeeded") or state["current"]:
            break
        time.sleep(0.1)
    assert state["status"] == "succeeded" and state["current"]
    fd = store.lock().acquire("20990101T000000000000-abcd")     # another scan holds the store: refused
    try:
        r = client.post("/api/v1/runs", json={"source": "data"}, headers={"X-API-Key": ADMIN})
        assert (r.status_code, r.json()) == (409, {"detail": "a scan is already running (run 20990101T000000000000-abcd)"})
    finally:
        import os
        os.close(fd)
    r = client.post(f"/api/v1/runs/{run_id}/accept", headers={"X-API-Key": ADMIN})
    assert (r.status_code, r.json()) == (409, {"detail": f"run {run_id} has no held results to accept (status succeeded)"})
    for body, detail in (({"source": "../.."}, "source '../..' is outside the data root"),
                         ({"source": "nowhere"}, "no dataset folder 'nowhere' under the data root")):
        r = client.post("/api/v1/runs", json=body, headers={"X-API-Key": ADMIN})
        assert r.json() == {"detail": detail}
    r = client.post("/api/v1/runs", json={"source": "data", "settings": {"seed": "x"}}, headers={"X-API-Key": ADMIN})
    assert r.status_code == 422 and r.json()["detail"].startswith("body parameter 'settings.seed': ")


def test_the_access_log_writes_route_templates_never_paths_or_queries(client, caplog):
    import logging
    caplog.set_level(logging.INFO, logger="fraudnet.access")
    get(client, "/api/v1/entities/patient/P9991234", status=404)
    get(client, "/api/v1/alerts?entity=%70atient%3AP0009999", status=200)
    get(client, "/api/v1/nowhere/P0005555", status=404)
    lines = [r.getMessage() for r in caplog.records if r.name == "fraudnet.access"]
    assert lines[-3].endswith('"GET /api/v1/entities/{entity_type}/{entity_id}" 404 ' + lines[-3].split(" 404 ")[1])
    assert '"GET /api/v1/alerts" 200' in lines[-2] and lines[-2].endswith(" alice")
    assert '"GET -" 404' in lines[-1]
    assert not [x for x in lines if "P000" in x or "atient" in x]
    assert all(h["filters"] == ["withhold_messages"] for h in log_config()["handlers"].values())


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/health", "/api/v1/ready", "/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/runs/{run_id}/changes",
            "/api/v1/runs/{run_id}/export/{name}", "/api/v1/alerts", "/api/v1/alerts/{alert_id}",
            "/api/v1/entities/{entity_type}/{entity_id}", "/api/v1/entities/{entity_type}/{entity_id}/neighbourhood",
            "/api/v1/paths", "/api/v1/communities", "/api/v1/communities/{community_id}", "/api/v1/audit",
            "/api/v1/runs/{run_id}/accept", "/api/v1/entities/{entity_type}/{entity_id}/profile",
            "/api/v1/cases", "/api/v1/cases/export.csv", "/api/v1/cases/actions", "/api/v1/cases/kpis",
            "/api/v1/cases/kpis.csv", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/notes",
            "/api/v1/cases/{case_id}/decisions", "/api/v1/cases/{case_id}/decisions/{decision_id}",
            "/api/v1/cases/{case_id}/report",
            # the Neo4j Browser's style, guide and favourites (public, no data: README, the tour)
            "/neo4j/fraudnet.grass", "/neo4j/guide.html", "/neo4j/favourites.zip"} == set(spec["paths"])
    documented = {(path, method): set(op["responses"]) for path, ops in spec["paths"].items() for method, op in ops.items()}
    assert "409" not in documented[("/api/v1/runs/{run_id}", "get")] and "404" in documented[("/api/v1/runs/{run_id}", "get")]
    assert "409" in documented[("/api/v1/runs", "post")] and "403" in documented[("/api/v1/runs", "post")]
    assert json.dumps(spec["components"]["securitySchemes"]) == json.dumps(
        {"APIKeyHeader": {"type": "apiKey", "description": "an API key from FRAUDNET_API_KEYS", "in": "header",
                          "name": "X-API-Key"}})


def test_a_results_file_cut_while_the_server_runs_is_refused_on_every_read(region, tmp_path):
    """A fresh user cut the current run's results file under a running server: alert lists and
    exports were still served from the open connection, other reads failed with 500."""
    root = tmp_path / "store"
    shutil.copytree(region["store"].root, root)
    store = Store(root)
    app = create_app(store, parse_keys(KEYS, "test"), data_root=region["root"])
    with TestClient(app) as c:
        a = first(c, "peer_outlier")
        urls = ["/api/v1/alerts", f"/api/v1/alerts/{a['alert_id']}", f"/api/v1/entities/provider/{a['alert_id'].split(':')[1]}",
                "/api/v1/communities", "/api/v1/runs/current/export/alerts.csv"]
        for url in urls:                                   # served, and its connection now open
            get(c, url)
        results = store.results_path(store.current())
        with open(results, "r+b") as f:
            f.truncate(results.stat().st_size // 2)
        for url in urls:
            said = get(c, url, status=409)
            assert said["detail"] == (f"the current run {store.current()} cannot be read (its results file is missing, "
                                      f"cut or overwritten): see GET /api/v1/runs/{store.current()}"), (url, said)


def test_heavy_workers_come_from_the_environment(monkeypatch, store):
    from config import Environment
    monkeypatch.delenv("FRAUDNET_HEAVY_WORKERS", raising=False)
    assert Environment().heavy_workers is None
    app = create_app(store, parse_keys(KEYS, "test"))
    assert app.state.results.workers.workers == (os.cpu_count() or 1) + 1       # the default: a core each and one more
    monkeypatch.setenv("FRAUDNET_HEAVY_WORKERS", "1")
    env = Environment()
    assert create_app(store, parse_keys(KEYS, "test"), heavy_workers=env.heavy_workers).state.results.workers.workers == 1
    monkeypatch.setenv("FRAUDNET_HEAVY_WORKERS", "0")
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="heavy_workers"):
        Environment()


def test_a_run_scanned_from_the_command_line_shows_no_server_path(tmp_path):
    """A scan started outside the API reads a folder outside the data root: its error names the
    folder by its name over HTTP, as `sources` does, never by its server path."""
    from runs.pipeline import scan
    bad = tmp_path / "deep" / "bad1"
    bad.mkdir(parents=True)
    (bad / "claims.csv").write_text("claim_id\n1\n")
    store = Store(tmp_path / "store")
    with pytest.raises(Exception):
        scan(bad, store)
    [run] = store.list_runs()
    assert run["status"] == "failed" and str(bad) in run["error"]["message"]     # the store keeps the whole path
    with TestClient(create_app(store, parse_keys(KEYS, "test"), data_root=tmp_path / "root")) as client:
        one = get(client, f"/api/v1/runs/{run['run_id']}")
        listed = client.get("/api/v1/runs", headers=A).text
    assert one["sources"] == ["bad1"] and "problem(s) in bad1:" in one["error"]["message"]
    assert str(tmp_path) not in json.dumps(one) and str(tmp_path) not in listed
