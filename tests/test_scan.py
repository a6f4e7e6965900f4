import json
import os
import signal
import subprocess
import sys
import time

import pytest

from runs.pipeline import export, scan
from runs.store import NotFound, Store
from graph.settings import ScanSettings
from contract.errors import DatasetError
from loaders.synthetic import generate

from .conftest import REPO, read_csv, write_table


def test_scan_records_the_run_and_exports_the_contract_files(region, tmp_path):
    run = region["run"]
    assert run["status"] == "succeeded" and run["published"]
    assert set(run["timings"]) == {"load", "build", "detect", "score", "publish"}
    assert run["settings"] == ScanSettings().model_dump(mode="json")
    assert run["counts"]["claims"] > 50000
    assert run["counts"]["alerts"] == sum(v for k, v in run["counts"].items() if k.startswith("alerts."))
    written = export(region["store"], tmp_path / "out")
    assert [p.name for p in written] == ["alerts.csv", "alert_entities.csv", "entity_risk.csv", "communities.csv"]
    headers = {p.name: p.read_text().splitlines()[0] for p in written}
    assert headers == {
        "alerts.csv": "alert_id,pattern,score,summary,evidence",
        "alert_entities.csv": "alert_id,entity_type,entity_id,role,standing",
        "entity_risk.csv": "entity_type,entity_id,score,reasons,direct_score,network_score,alerts",
        "communities.csv": "community_id,entity_type,entity_id"}
    alerts = read_csv(tmp_path / "out" / "alerts.csv")
    assert alerts and all(a["summary"] and float(a["score"]) > 0 for a in alerts)
    ids = {a["alert_id"] for a in alerts}
    assert {e["alert_id"] for e in read_csv(tmp_path / "out" / "alert_entities.csv")} == ids
    assert read_csv(tmp_path / "out" / "communities.csv")


def test_double_billing_finds_every_planted_provider_and_no_honest_lookalike(region, tmp_path):
    export(region["store"], tmp_path / "out")
    planted = {t["entity_id"] for t in read_csv(region["truth"]) if t["pattern"] == "double_billing"}
    honest = {x["entity_id"] for x in read_csv(region["lookalikes"]) if x["pattern"] == "double_billing"}
    alerts = {a["alert_id"] for a in read_csv(tmp_path / "out" / "alerts.csv") if a["pattern"] == "double_billing"}
    accused = {e["entity_id"] for e in read_csv(tmp_path / "out" / "alert_entities.csv")
               if e["alert_id"] in alerts and e["standing"] == "accused"}
    assert planted and honest          # twice-daily nurses, GPs' second visits, glucose curves
    assert accused == planted          # every planted provider, and nothing else


def test_no_alert_id_names_a_patient(region, tmp_path):
    export(region["store"], tmp_path / "out")
    patients = {e["entity_id"] for e in read_csv(tmp_path / "out" / "alert_entities.csv")
                if e["entity_type"] == "patient"}
    ids = [a["alert_id"] for a in read_csv(tmp_path / "out" / "alerts.csv")]
    assert patients and not [i for i in ids if any(p in i for p in patients)]
    assert [i for i in ids if i.startswith("doctor_shopping:")]


def test_a_failed_scan_leaves_the_published_results_untouched(region, tmp_path):
    store = Store(tmp_path / "store")
    good = scan(region["data"], store)
    before = (store.runs_dir / good["run_id"] / "results.duckdb").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in region["data"].iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    write_table(bad, "providers", [{"provider_id": "1", "kind": "wizard"}])
    with pytest.raises(DatasetError):
        scan(bad, store)
    runs = store.list_runs()
    assert [r["status"] for r in runs] == ["failed", "succeeded"]
    assert runs[0]["error"].startswith("DatasetError: ")
    assert "providers.csv, line 2, column kind, value 'wizard'" in runs[0]["error"]
    assert store.current() == good["run_id"]
    assert (store.runs_dir / good["run_id"] / "results.duckdb").read_bytes() == before
    with pytest.raises(NotFound, match="has no results"):
        store.connect(runs[0]["run_id"])


def test_a_killed_scan_never_replaces_the_last_good_results(tmp_path):
    data = tmp_path / "data"
    generate(data, patients=40000, seed=2)
    store = Store(tmp_path / "store")
    good = scan(data, store)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "scan", str(data), "--store", str(store.root)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    killed_in = None
    while time.time() < deadline and killed_in is None:
        for r in store.list_runs():
            if r["run_id"] != good["run_id"] and r.get("stage") in ("build", "detect", "score"):
                os.kill(proc.pid, signal.SIGKILL)
                killed_in = r["stage"]
                break
        time.sleep(0.02)
    proc.wait()
    assert killed_in, "the scan finished before it could be killed"
    runs = store.list_runs()
    assert runs[0]["status"] == "interrupted" and runs[0]["stage"] == killed_in
    assert store.current() == good["run_id"]
    assert not (store.runs_dir / runs[0]["run_id"] / "results.duckdb").exists()
    assert json.loads((store.root / "scan.lock").read_text())["pid"] == proc.pid    # left behind, stale
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import parse_keys
    with TestClient(create_app(store, parse_keys("a:analyst:0123456789abcdefgh", "t"))) as client:
        assert client.get("/api/v1/ready").json() == {"status": "ready", "run_id": good["run_id"]}
        served = client.get("/api/v1/alerts", headers={"X-API-Key": "0123456789abcdefgh"}).json()
        assert served["count"] == good["counts"]["alerts"] and served["data"][0]["run_id"] == good["run_id"]
    again = scan(data, store)      # the next run clears the stale lock, starts cleanly and publishes
    assert again["status"] == "succeeded" and store.current() == again["run_id"]


def test_a_window_scans_only_its_claims(region, tmp_path):
    store = Store(tmp_path / "store")
    run = scan(region["data"], store, ScanSettings.model_validate({"start": "2025-03-01", "end": "2025-05-31"}))
    assert 0 < run["counts"]["claims"] < region["run"]["counts"]["claims"]
    con = store.connect()
    lo, hi = con.execute("SELECT min(first_date), max(last_date) FROM edges WHERE rel = 'BILLED'").fetchall()[0]
    con.close()
    assert str(lo) >= "2025-03-01" and str(hi) <= "2025-05-31"


def test_runs_are_listed_newest_first_with_their_record(region):
    runs = region["store"].list_runs()
    assert runs[0]["run_id"] == region["run"]["run_id"]
    on_disk = json.loads((region["store"].runs_dir / runs[0]["run_id"] / "run.json").read_text())
    assert on_disk["load_report"]["tables"]["claims"]["rows"] == runs[0]["counts"]["claims"]


def test_every_pattern_finds_its_planted_cases_and_leaves_the_lookalikes_alone(region, tmp_path):
    import pyarrow.csv as pacsv

    from graph.evaluate import evaluate
    con = region["store"].connect()
    alerts, entities, risk = (con.sql(f"SELECT * FROM {t}").to_arrow_table()
                              for t in ("alerts", "alert_entities", "entity_risk"))
    con.close()
    text = lambda path, cols: pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={c: "string" for c in cols}))
    result = evaluate(alerts, entities, risk, text(region["truth"], ("pattern", "group_id", "entity_type", "entity_id")),
                      lookalikes=text(region["lookalikes"], ("pattern", "entity_type", "entity_id")))
    assert {r["pattern"] for r in result["patterns"]} == {
        "dense_block", "doctor_shopping", "double_billing", "entity_network", "peer_outlier", "pharmacy_collusion"}
    for r in result["patterns"]:
        assert r["recall"] == 1.0 and r["precision_at_k"] >= 0.85 and r["lookalikes_in_top_k"] == 0, r
