"""A run from start to end: the pipeline, the store, the checks, and the child process every face uses."""
import json
import os
import re
import signal
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from contract.errors import Busy, DatasetError, NotReady, SettingsError
from loaders.synthetic import generate
from publish.export import export
from runs import launch
from runs.campaigns import read_campaigns
from runs.pipeline import STAGES, accept, scan
from runs.settings import RunSettings
from runs.store import Store

from .conftest import REPO, read_csv, write_table


def test_scan_records_the_run_and_exports_the_contract_files(region, tmp_path):
    run = region["run"]
    assert run["status"] == "succeeded" and run["current"]
    assert set(run["timings"]) == set(STAGES)
    assert run["settings"] == RunSettings(campaigns=read_campaigns(REPO / "campaigns")).model_dump(mode="json")
    assert run["counts"]["claims"] > 50000
    assert run["counts"]["alerts"] == sum(v for k, v in run["counts"].items() if k.startswith("alerts."))
    assert run["checks"]["passed"] and run["checks"]["against"] is None
    written = export(region["store"], tmp_path / "out")
    assert [p.name for p in written] == ["alerts.csv", "alert_entities.csv", "entity_risk.csv", "communities.csv"]
    headers = {p.name: p.read_text().splitlines()[0] for p in written}
    assert headers == {
        "alerts.csv": "alert_id,pattern,score,summary,rank,excess_euros,surprise_bits,evidence",
        "alert_entities.csv": "alert_id,entity_type,entity_id,role,standing,excess_euros",
        "entity_risk.csv": "entity_type,entity_id,score,reasons,direct_score,network_score,alerts",
        "communities.csv": "community_id,entity_type,entity_id"}
    alerts = read_csv(tmp_path / "out" / "alerts.csv")
    assert alerts and all(a["summary"] and float(a["score"]) > 0 for a in alerts)
    ids = {a["alert_id"] for a in alerts}
    assert {e["alert_id"] for e in read_csv(tmp_path / "out" / "alert_entities.csv")} == ids
    assert read_csv(tmp_path / "out" / "communities.csv")


def test_alerts_are_in_one_order_by_rank_within_their_pattern(region, tmp_path):
    export(region["store"], tmp_path / "out")
    alerts = read_csv(tmp_path / "out" / "alerts.csv")
    keys = [(int(a["rank"]), a["pattern"], a["alert_id"]) for a in alerts]
    assert keys == sorted(keys)
    by_pattern: dict = {}
    for a in alerts:
        by_pattern.setdefault(a["pattern"], []).append(float(a["score"]))
    for scores in by_pattern.values():        # within a pattern, rank follows the score
        assert scores == sorted(scores, reverse=True)
    assert {int(a["rank"]) for a in alerts if a["pattern"] == alerts[0]["pattern"]} >= {1}


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


def _copy(src, dst, claims: pa.Table | None = None):
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    if claims is not None:
        pacsv.write_csv(claims, dst / "claims.csv", pacsv.WriteOptions(quoting_style="needed"))
    return dst


def _claims(folder) -> pa.Table:
    return pacsv.read_csv(folder / "claims.csv", convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in ("claim_id", "patient_id", "provider_id", "prescriber_id",
                                               "centre_id", "service_code", "service_date")}))


def test_a_failed_scan_leaves_the_current_results_untouched(region, region_store, tmp_path):
    store = region_store
    good = {"run_id": store.current()}
    before = store.results_path(good["run_id"]).read_bytes()
    bad = _copy(region["data"], tmp_path / "bad")
    write_table(bad, "providers", [{"provider_id": "1", "kind": "wizard"}])
    with pytest.raises(DatasetError):
        scan(bad, store)
    runs = store.list_runs()
    assert [r["status"] for r in runs] == ["failed", "succeeded"]
    assert runs[0]["error"]["type"] == "DatasetError"
    assert "providers.csv, line 2, column kind, value 'wizard'" in runs[0]["error"]["message"]
    assert store.current() == good["run_id"]
    assert store.results_path(good["run_id"]).read_bytes() == before
    with pytest.raises(NotReady, match="has no results"):
        store.connect(runs[0]["run_id"])


def test_a_half_delivered_extract_is_held_by_its_checks_until_an_admin_accepts_it(region, region_store, tmp_path):
    store = region_store
    good = {"run_id": store.current()}
    claims = _claims(region["data"])
    march = pc.equal(pc.utf8_slice_codeunits(claims["service_date"], 0, 7), "2025-03")
    keep = pc.or_(pc.invert(march), pc.equal(pc.bit_wise_and(pa.array(range(claims.num_rows)), 1), 0))
    half = _copy(region["data"], tmp_path / "half", claims.filter(keep))      # half of March is missing
    held = scan(half, store)
    assert held["status"] == "held" and not held["current"]
    assert store.current() == good["run_id"]
    assert held["checks"]["failed"] == ["claims in 2025-03"]
    march_check = next(r for r in held["checks"]["results"] if r["check"] == "claims in 2025-03")
    assert march_check["now"] < 0.6 * march_check["previous"]
    assert store.results_path(held["run_id"]).is_file()          # kept, readable by run id
    with pytest.raises(NotReady):
        accept(store, good["run_id"], by="ops")                  # only a held run can be accepted
    accepted = accept(store, held["run_id"], by="ops (test)")
    assert accepted["status"] == "succeeded" and accepted["current"] and accepted["accepted_by"] == "ops (test)"
    assert store.current() == held["run_id"]
    assert store.changes()["previous_run"] == good["run_id"]


@pytest.mark.slow
def test_checks_pass_a_run_of_the_same_data_and_can_be_turned_off(region, region_store, tmp_path):
    store = region_store
    again = scan(region["data"], store)
    assert again["status"] == "succeeded" and again["checks"]["passed"]
    assert {r["check"] for r in again["checks"]["results"]} >= {"claims", "providers", "patients", "claims in 2025-06"}
    claims = _claims(region["data"])
    few = _copy(region["data"], tmp_path / "few", claims.slice(0, claims.num_rows // 3))
    off = scan(few, store, RunSettings.model_validate({"checks": {"enabled": False}}))
    assert off["status"] == "succeeded" and off["current"]


@pytest.mark.slow
def test_a_scan_runs_in_a_child_process_that_chooses_nothing(region, tmp_path):
    store = Store(tmp_path / "store")
    seen = []
    record = launch.run(store, [str(region["data"])], RunSettings(), progress=lambda s, secs: seen.append(s))
    assert launch.outcome(record) == "succeeded" and record["current"]
    assert seen == list(STAGES)
    assert [r["run_id"] for r in store.list_runs()] == [record["run_id"]]


@pytest.mark.slow
def test_a_busy_store_refuses_the_second_scan_and_leaves_no_run(region, tmp_path):
    store = Store(tmp_path / "store")
    first = launch.start(store, [str(region["data"])], RunSettings())
    with pytest.raises(Busy) as e:
        launch.start(store, [str(region["data"])], RunSettings())
    assert e.value.holder == first.run_id
    assert launch.outcome(first.wait()) == "succeeded"
    assert [r["run_id"] for r in store.list_runs()] == [first.run_id]


def test_a_scan_past_its_time_limit_is_stopped_and_recorded(region, tmp_path):
    store = Store(tmp_path / "store")
    record = launch.run(store, [str(region["data"])], RunSettings(), timeout=0.5)
    assert launch.outcome(record) == "timeout" and record["status"] == "failed"
    assert record["error"] == {"type": "TimedOut", "message": "stopped after its time limit of 0.5 s"}
    assert store.current() is None and store.lock().holder() is None


def test_a_scan_stopped_from_outside_records_why_not_what_it_surfaced_as(tmp_path):
    # DuckDB turns a signal that lands in a query into "Query interrupted", a loader wraps it
    # in its own error: the run must still say it was stopped at its time limit
    from contract.errors import TimedOut
    from runs.pipeline import execute
    store = Store(tmp_path / "store")
    run = store.new_run([str(tmp_path / "missing")], RunSettings().model_dump(mode="json"))
    with pytest.raises(Exception):
        execute(store, run, stopped=lambda: TimedOut(2.0))
    assert store.get_run(run.id)["error"] == {"type": "TimedOut",
                                              "message": "stopped after its time limit of 2 s"}
    other = store.new_run([str(tmp_path / "missing")], RunSettings().model_dump(mode="json"))
    with pytest.raises(DatasetError):
        execute(store, other)
    assert store.get_run(other.id)["error"]["type"] == "DatasetError"


@pytest.mark.slow
def test_a_killed_scan_never_replaces_the_last_good_results(tmp_path):
    data = tmp_path / "data"
    generate(data, patients=40000, seed=2)
    store = Store(tmp_path / "store")
    good = scan(data, store)
    running = launch.start(store, [str(data)], RunSettings())
    killed_in = None
    deadline = time.time() + 60
    while time.time() < deadline and killed_in is None:
        stage = store.get_run(running.run_id).get("stage")
        if stage in ("build", "detect", "score"):
            os.kill(running.process.pid, signal.SIGKILL)
            killed_in = stage
        time.sleep(0.02)
    assert killed_in, "the scan finished before it could be killed"
    record = running.wait()
    assert record["status"] == "interrupted" and record["stage"] == killed_in
    assert record["error"]["message"] == "the scan process ended (killed by signal 9) without recording its end"
    assert store.current() == good["run_id"]
    assert not store.results_path(record["run_id"]).exists()
    assert store.lock().holder() is None        # the OS released the lock with the process
    work = store.runs_dir / record["run_id"] / "work"
    assert (work / "claims.parquet").is_file()  # the killed scan's claims, left behind…
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import parse_keys
    with TestClient(create_app(store, parse_keys("a:analyst:0123456789abcdefgh", "t"))) as client:
        assert client.get("/api/v1/ready").json() == {"status": "ready", "run_id": good["run_id"]}
        served = client.get("/api/v1/alerts", headers={"X-API-Key": "0123456789abcdefgh"}).json()
        assert served["count"] == good["counts"]["alerts"] and served["data"][0]["run_id"] == good["run_id"]
    again = scan(data, store)      # the next run starts cleanly and becomes current
    assert again["status"] == "succeeded" and store.current() == again["run_id"]
    assert not work.exists()                    # … are removed by the next scan


def test_a_killed_scan_is_interrupted_with_its_stage_and_cause_whether_its_face_saw_it_or_not(region, tmp_path):
    """One status for one thing: a scan process that dies without recording its end is
    `interrupted`, with the stage it reached and, when its face saw it die, how."""
    store = Store(tmp_path / "store")
    running = launch.start(store, [str(region["data"])], RunSettings())
    os.kill(running.process.pid, signal.SIGKILL)
    record = running.wait()
    assert record["status"] == "interrupted" and launch.outcome(record) == "interrupted"
    assert record["error"] == {"type": "Interrupted",
                               "message": "the scan process ended (killed by signal 9) without recording its end"}
    assert record["stage"] == store._record(running.run_id)["stage"]
    orphan = store.new_run([str(region["data"])], RunSettings().model_dump(mode="json"))   # its face died too
    orphan.stage("load")
    orphan.stage("load", 1.5)
    orphan.stage("build")
    record = store.get_run(orphan.id)
    assert (record["status"], record["stage"]) == ("interrupted", "build")
    assert record["error"]["message"] == "the scan process ended without recording its end (its scan log may say why)"
    from click.testing import CliRunner
    from cli.main import main
    listed = CliRunner().invoke(main, ["runs", "--store", str(store.root)], env={"COLUMNS": "200"})
    assert listed.output.count("interrupted") == 2 and "failed" not in listed.output, listed.output


def test_a_scan_whose_face_died_before_it_said_locked_runs_to_its_end(tmp_path):
    """The child's `locked` meets a closed pipe (its face is gone): the scan still ends by itself."""
    import subprocess
    import sys
    from .conftest import claim, write_dataset
    data = write_dataset(tmp_path / "data", providers=[{"provider_id": "D1", "kind": "nurse"}],
                         claims=[claim(f"C{i}", f"P{i}", "D1", "AMI1", "2025-01-05") for i in range(5)])
    store = Store(tmp_path / "store")
    run = store.new_run([str(data)], RunSettings().model_dump(mode="json"))
    reader, writer = os.pipe()
    os.close(reader)                                            # the face died before reading
    done = subprocess.run([sys.executable, "-m", "runs.worker", str(store.root), run.id], stdout=writer,
                          stderr=subprocess.PIPE, cwd=REPO, timeout=300)
    os.close(writer)
    assert done.returncode == 0, done.stderr.decode()
    assert store.get_run(run.id)["status"] == "succeeded" and store.current() == run.id


def test_a_start_after_the_end_is_worded_without_pydantic_s_prefix(tmp_path):
    from runs.settings import parse_settings
    with pytest.raises(SettingsError) as e:
        parse_settings({"start": "2025-06-01", "end": "2025-01-01"}, "settings.json")
    assert e.value.problems == ["(settings): start 2025-06-01 is after end 2025-01-01"]


def test_a_window_holding_no_claim_is_refused_naming_the_data_s_dates(region, tmp_path):
    """A window after the data's last date would make a run of 0 claims current on a new store."""
    store = Store(tmp_path / "store")
    with pytest.raises(SettingsError) as e:
        scan(region["data"], store, RunSettings.model_validate({"start": "2027-01-01"}))
    assert e.value.problems == ["the window 2027-01-01 to … holds no claim: the data's claims run from 2025-01-01 "
                                "to 2025-12-31"]
    assert store.current() is None and launch.outcome(store.list_runs()[0]) == "bad_input"


def test_a_window_scans_only_its_claims(region, tmp_path):
    store = Store(tmp_path / "store")
    run = scan(region["data"], store, RunSettings.model_validate({"start": "2025-03-01", "end": "2025-05-31"}))
    assert 0 < run["counts"]["claims"] < region["run"]["counts"]["claims"]
    assert run["window"]["claims_loaded"] == region["run"]["counts"]["claims"]
    assert run["warnings"] and "keeps" in run["warnings"][0]       # a window keeping little is said
    con = store.connect()
    lo, hi = con.execute("SELECT min(first_date), max(last_date) FROM edges WHERE rel = 'BILLED'").fetchall()[0]
    con.close()
    assert str(lo) >= "2025-03-01" and str(hi) <= "2025-05-31"


@pytest.mark.slow
def test_a_rolling_window_ends_at_the_data_not_at_today(region, tmp_path):
    store = Store(tmp_path / "store")
    run = scan(region["data"], store, RunSettings.model_validate({"window_days": 90}))
    assert run["window"]["end"] == "2025-12-31" and run["window"]["start"] == "2025-10-03"


def test_runs_are_listed_newest_first_with_their_record(region):
    runs = region["store"].list_runs()
    assert runs[0]["run_id"] == region["run"]["run_id"]
    on_disk = json.loads((region["store"].runs_dir / runs[0]["run_id"] / "run.json").read_text())
    assert on_disk["load_report"]["tables"]["claims"]["rows"] == runs[0]["counts"]["claims"]


@pytest.mark.slow
def test_a_damaged_record_or_pointer_blocks_nothing(region, tmp_path):
    import shutil
    root = tmp_path / "store"
    shutil.copytree(region["store"].root, root)
    store = Store(root)
    current = store.current()
    (root / "current.json").write_text('{"run_id": "2025')          # cut by a crash
    assert store.current() == current                                # recovered from the run records
    broken = store.new_run(["x"], {})
    (broken.dir / "run.json").write_text("{")
    assert [r["status"] for r in store.list_runs()][:2] == ["damaged", "succeeded"]
    again = scan(region["data"], store)
    assert again["status"] == "succeeded" and store.current() == again["run_id"]


def test_every_pattern_finds_its_planted_cases_and_leaves_the_lookalikes_alone(region, tmp_path):
    import pyarrow.csv as pacsv

    from graph.evaluate import evaluate
    con = region["store"].connect(region["run"]["run_id"])   # the run scanned with the example campaigns
    alerts, entities, risk = (con.sql(f"SELECT * FROM {t}").to_arrow_table()
                              for t in ("alerts", "alert_entities", "entity_risk"))
    con.close()
    text = lambda path, cols: pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={c: "string" for c in cols}))
    result = evaluate(alerts, entities, risk, text(region["truth"], ("pattern", "group_id", "entity_type", "entity_id")),
                      lookalikes=text(region["lookalikes"], ("pattern", "entity_type", "entity_id")))
    assert {r["pattern"] for r in result["patterns"]} == {
        "dense_block", "doctor_shopping", "double_billing", "entity_network", "peer_outlier", "pharmacy_collusion",
        "mega_consumer", "atypical_private_practice", "indicator_outlier"}
    for r in result["patterns"]:
        assert r["recall"] == 1.0 and r["precision_at_k"] >= 0.85 and r["lookalikes_in_top_k"] == 0, r
    negative = alerts.filter(pc.less(alerts["score"], 0)).to_pylist()    # scores are euros beyond: never below zero
    assert not negative, [(a["alert_id"], a["score"]) for a in negative]


def test_a_registry_linking_nothing_is_a_warning_of_the_run_in_every_listing(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import parse_keys

    from .conftest import claim, write_dataset
    claims = write_dataset(tmp_path / "claims", providers=[{"provider_id": "691234567", "kind": "nurse"}],
                           claims=[claim("C1", "P1", "691234567", "AMI1", "2025-01-05")])
    registry = write_dataset(tmp_path / "registry", providers=[{"provider_id": "0691234567", "kind": "nurse"}])
    store = Store(tmp_path / "store")
    run = scan([claims, registry], store)
    assert run["status"] == "succeeded" and len(run["warnings"]) == 1
    assert run["warnings"][0].startswith(f"registry {registry} links none of the claims' entities")
    with TestClient(create_app(store, parse_keys("a:analyst:0123456789abcdefgh", "t"))) as client:
        listed = client.get("/api/v1/runs", headers={"X-API-Key": "0123456789abcdefgh"}).json()["data"][0]
    assert listed["warnings"] == [run["warnings"][0].replace(str(registry), "registry")]     # no server path over HTTP


def test_a_run_whose_results_file_is_cut_overwritten_or_gone_is_listed_as_unreadable(region, tmp_path):
    import shutil

    from click.testing import CliRunner

    from cli.main import main
    root = tmp_path / "store"
    shutil.copytree(region["store"].root, root)
    store = Store(root)
    run_id = store.current()
    path = store.results_path(run_id)
    whole = path.read_bytes()
    assert store.get_run(run_id)["results"] == "readable"
    assert "results unreadable" not in CliRunner().invoke(main, ["runs", "--store", str(root)]).output

    path.write_bytes(whole[: len(whole) // 2])                       # cut by a copy
    record = store.list_runs()[0]
    assert (record["status"], record["results"]) == (
        "succeeded", f"unreadable: the results file has {len(whole) // 2:,} bytes, its run wrote {len(whole):,}")
    listed = CliRunner().invoke(main, ["runs", "--store", str(root)], terminal_width=250)
    assert listed.exit_code == 0 and "succeeded, results unreadable" in listed.output
    with pytest.raises(NotReady):
        store.connect(run_id)

    path.write_bytes(b"\0" * len(whole))                             # the right size, not a database
    assert store.get_run(run_id)["results"] == "unreadable: the results file is not a DuckDB database"
    path.unlink()
    assert store.get_run(run_id)["results"] == "unreadable: the results file is missing"
    # it stays the current run, refused to readers; no older run is served in its place
    assert store.current() == run_id and store.get_run(run_id)["current"]
    with pytest.raises(NotReady):
        store.readable()
    shown = CliRunner().invoke(main, ["alerts", "--store", str(root)])
    assert shown.exit_code != 0 and run_id in shown.output
    failed = store.new_run(["x"], {})
    failed.record["status"] = "failed"
    failed.save()
    assert "results" not in store.get_run(failed.id)                  # no results to judge


def test_an_output_path_that_cannot_be_written_is_an_error_naming_it_before_any_work(region, tmp_path):
    from click.testing import CliRunner

    from cli.main import main
    (tmp_path / "a-file").write_text("x")
    store = tmp_path / "store"
    out = CliRunner().invoke(main, ["scan", str(region["data"]), "--store", str(store),
                                    "--export", str(tmp_path / "a-file" / "x")])
    assert out.exit_code == 2 and "--export" in out.output and "a-file" in out.output
    assert not (store / "runs").exists()                         # refused before any scan
    out = CliRunner().invoke(main, ["export", str(tmp_path / "a-file" / "dir"), "--store", str(region["store"].root)])
    assert out.exit_code == 2 and isinstance(out.exception, SystemExit), out.output    # no traceback
    assert "a-file" in out.output


def test_the_scan_log_holds_each_stage_s_seconds_and_rows_and_no_patient(tmp_path):
    """README, What is logged: `runs/<run_id>/scan.log` holds the stage timings (name, seconds,
    rows) of a scan that succeeded, and no patient id."""
    from .conftest import claim, write_dataset
    data = write_dataset(tmp_path / "data", providers=[{"provider_id": "691234567", "kind": "nurse"}],
                         claims=[claim(f"C{i}", f"ZQXPAT{i % 3}", "691234567", "AMI1", f"2025-01-{i + 1:02d}")
                                 for i in range(9)])
    store = Store(tmp_path / "store")
    record = launch.run(store, [str(data)], RunSettings())
    assert launch.outcome(record) == "succeeded"
    log = (store.runs_dir / record["run_id"] / "scan.log").read_text()
    stages = re.findall(rf"INFO fraudnet\.scan: run {record['run_id']} stage (\w+): (\d+\.\d\d) s; (.*)", log)
    assert [s for s, _, _ in stages] == ["load", "build", "detect", "score", "write", "check", "promote"]
    said = {s: rows for s, _, rows in stages}
    assert said["load"] == "9 claims loaded" and said["build"].startswith("9 claims in the window, ")
    assert said["check"] == "0 checks failed" and said["promote"] == "0 alerts made current"
    assert f"run {record['run_id']} succeeded and is current" in log and "ZQXPAT" not in log


def test_a_critical_load_warning_is_printed_once_by_scan(tmp_path):
    """A critical load warning is also a run warning (in every listing); `fraudnet scan` says it once."""
    from click.testing import CliRunner

    from cli.main import main

    from .conftest import claim, write_dataset
    claims = write_dataset(tmp_path / "claims", providers=[{"provider_id": "691234567", "kind": "nurse"}],
                           claims=[claim("C1", "P1", "691234567", "AMI1", "2025-01-05")])
    registry = write_dataset(tmp_path / "registry", providers=[{"provider_id": "0691234567", "kind": "nurse"}])
    out = CliRunner().invoke(main, ["scan", str(claims), str(registry), "--store", str(tmp_path / "store")])
    assert out.exit_code == 0, out.output
    assert out.output.count("links none of the claims' entities") == 1, out.output
    assert "CRITICAL WARNING: registry" in out.output


def test_a_failed_check_is_worded_with_the_whole_counts_allowed():
    """A fresh user read `alerts.mega_consumer: 5 against 27 before (allowed 5 to 135)`: the lower
    bound was 5.4, shown rounded; the counts allowed are 6 to 135."""
    from cli.main import failed_check
    from runs.checks import check_run
    from runs.settings import CheckSettings
    checks = CheckSettings.model_validate({"alerts_per_pattern": {"max_drop": 0.8, "max_rise": 4, "min_count": 1}})
    ran = check_run({"counts": {"alerts.mega_consumer": 5}}, {"run_id": "r1", "counts": {"alerts.mega_consumer": 27}},
                    checks)
    [row] = [r for r in ran["results"] if r["check"] == "alerts.mega_consumer"]
    assert not row["passed"] and row["bounds"] == [5.4, 135.0] and row["allowed"] == [6, 135]
    assert failed_check(row) == "  check failed: alerts.mega_consumer: 5 against 27 before (allowed 6 to 135)"
    # a count on a whole bound passes: allowed includes it
    [edge] = [r for r in check_run({"counts": {"alerts.x": 6}}, {"run_id": "r1", "counts": {"alerts.x": 30}},
                                   checks)["results"] if r["check"] == "alerts.x"]
    assert edge["passed"] and edge["allowed"] == [6, 150]
