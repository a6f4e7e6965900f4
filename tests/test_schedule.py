"""Scheduled scans: change reports between runs, ticks and refused overlaps, webhook, retention."""
import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from loaders.synthetic import generate
from runs.store import Store
from scheduler.schedule import ScheduleError, apply_retention, load_schedule, run_job

from .conftest import REPO, read_csv


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("sched")
    generate(root / "extracts" / "2025-01", patients=5000, seed=7, truth=root / "truth.csv")
    return root


def write_schedule(root: Path, body: str) -> Path:
    path = root / "schedule.toml"
    path.write_text(body)
    return path


def read_claims(folder: Path) -> pa.Table:
    return pacsv.read_csv(folder / "claims.csv", convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in ("claim_id", "patient_id", "provider_id", "prescriber_id",
                                               "centre_id", "service_code", "service_date")}))


def copy_with_claims(src: Path, dst: Path, claims: pa.Table):
    shutil.copytree(src, dst)
    pacsv.write_csv(claims, dst / "claims.csv", pacsv.WriteOptions(quoting_style="needed"))


@pytest.mark.slow
def test_two_scheduled_scans_report_exactly_what_changed_and_a_third_reports_nothing(base, tmp_path):
    root = tmp_path
    shutil.copytree(base / "extracts" / "2025-01", root / "extracts" / "2025-01")
    sched = load_schedule(write_schedule(root, 'store = "store"\n[[jobs]]\nname = "weekly"\n'
                                                'source = "extracts/*"\ncron = "0 3 * * 1"\n'))
    first = run_job(sched, sched.jobs[0])
    assert first["status"] == "succeeded" and first["source"].endswith("2025-01")
    report = Store(root / "store").changes(first["run_id"])
    assert report["previous_run"] is None and report["new"] and not report["resolved"]

    truth = read_csv(base / "truth.csv")
    providers = {p["provider_id"]: p["kind"] for p in read_csv(base / "extracts" / "2025-01" / "providers.csv")}
    planted = sorted(t["entity_id"] for t in truth if t["pattern"] == "double_billing"
                     and providers[t["entity_id"]] == "dentist")
    worse, cured = planted[0], planted[1]
    everyone = {t["entity_id"] for t in truth} | {x["entity_id"] for x in read_csv(base / "lookalikes.csv")}
    claims = read_claims(root / "extracts" / "2025-01")
    honest = sorted(p for p, k in providers.items() if k == "dentist" and p not in everyone
                    and pc.sum(pc.equal(claims["provider_id"], p)).as_py() >= 40)[0]
    # the new fraud: an honest dentist re-bills 30 lines; `worse` re-bills every line once more
    new_lines = pa.concat_tables([claims.filter(pc.equal(claims["provider_id"], honest)).slice(0, 30),
                                  claims.filter(pc.equal(claims["provider_id"], worse))])
    n = claims.num_rows
    new_lines = new_lines.set_column(0, "claim_id", pa.array([f"X{i:09d}" for i in range(new_lines.num_rows)]))
    # and `cured` stops: its same-day duplicates are gone
    keys = ["provider_id", "patient_id", "service_code", "service_date", "centre_id"]
    mine = claims.filter(pc.equal(claims["provider_id"], cured)).to_pylist()
    seen, drop = set(), set()
    for c in mine:
        k = tuple(c[x] for x in keys)
        (drop if k in seen else seen).add(c["claim_id"] if k in seen else k)
    kept = claims.filter(pc.invert(pc.is_in(claims["claim_id"], pa.array(sorted(drop)))))
    copy_with_claims(root / "extracts" / "2025-01", root / "extracts" / "2025-02", pa.concat_tables([kept, new_lines]))
    assert kept.num_rows + new_lines.num_rows != n

    second = run_job(sched, sched.jobs[0])
    assert second["source"].endswith("2025-02")
    report = Store(root / "store").changes(second["run_id"])
    assert report["previous_run"] == first["run_id"]
    assert [a["alert_id"] for a in report["new"]] == [f"double_billing:rebilled:{honest}"]
    assert [a["alert_id"] for a in report["escalated"]] == [f"double_billing:rebilled:{worse}"]
    assert report["escalated"][0]["score"] > 1.2 * report["escalated"][0]["previous_score"]
    assert [a["alert_id"] for a in report["resolved"]] == [f"double_billing:rebilled:{cured}"]

    shutil.copytree(root / "extracts" / "2025-02", root / "extracts" / "2025-03")
    third = run_job(sched, sched.jobs[0])
    report = Store(root / "store").changes(third["run_id"])
    assert (report["new"], report["escalated"], report["resolved"]) == ([], [], [])
    assert (report["new_communities"], report["dissolved_communities"]) == ([], [])
    assert report["summary"] == "0 new, 0 escalated, 0 resolved alert(s); 0 new, 0 dissolved communities"


def test_overlapping_jobs_never_misattribute_a_run(region, tmp_path):
    """Job b starts while job a's scan holds the store: b is refused and names no run; a names
    its own run, the only one in the store."""
    shutil.copytree(region["data"], tmp_path / "data")
    sched = load_schedule(write_schedule(tmp_path, 'store = "store"\n'
                                                   '[[jobs]]\nname = "a"\nsource = "data"\ncron = "0 1 * * *"\n'
                                                   '[[jobs]]\nname = "b"\nsource = "data"\ncron = "0 1 * * *"\n'))
    store = Store(tmp_path / "store")
    outcomes = {}
    a = threading.Thread(target=lambda: outcomes.update(a=run_job(sched, sched.job("a"))))
    a.start()
    while store.lock().holder() is None and a.is_alive():     # a's scan holds the store's lock
        threading.Event().wait(0.01)
    outcomes["b"] = run_job(sched, sched.job("b"))
    a.join()
    assert outcomes["b"]["status"] == "refused" and "run_id" not in outcomes["b"]
    assert outcomes["b"]["error"].startswith("a scan is already running (run ")
    assert outcomes["a"]["status"] == "succeeded"
    assert [r["run_id"] for r in store.list_runs()] == [outcomes["a"]["run_id"]]


@pytest.mark.slow
def test_the_scheduler_runs_jobs_on_their_triggers(base, tmp_path):
    shutil.copytree(base / "extracts" / "2025-01", tmp_path / "data")
    config = write_schedule(tmp_path, 'store = "store"\nkeep_runs = 50\n'
                                      '[[jobs]]\nname = "a"\nsource = "data"\ninterval_seconds = 1\nretries = 0\n')
    done = subprocess.run([sys.executable, "-m", "cli.main", "schedule", "run", "--config", config.name,
                           "--stop-after", "6"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    runs = Store(tmp_path / "store").list_runs()
    assert runs and all(r["status"] == "succeeded" for r in runs), done.stderr
    assert "job a: succeeded" in done.stderr
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr     # stopped while a job may run


def test_a_webhook_body_names_no_patient(region):
    from publish.webhook import body
    sent = json.dumps(body(region["store"].changes(region["run"]["run_id"])))
    patients = {r["patient_id"] for r in read_csv(region["data"] / "patients.csv")}
    assert len(patients) == 6000 and json.loads(sent)["new"]        # a body with alerts in it
    assert not [p for p in patients if p in sent]


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_webhook_gets_the_change_report_and_a_dead_one_does_not_fail_the_scan(base, tmp_path):
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        shutil.copytree(base / "extracts" / "2025-01", tmp_path / "data")
        port = server.server_address[1]
        sched = load_schedule(write_schedule(tmp_path, f'''store = "store"
[[jobs]]
name = "live"
source = "data"
cron = "0 3 * * *"
webhook = "http://127.0.0.1:{port}/hook"
[[jobs]]
name = "dead"
source = "data"
cron = "0 3 * * *"
webhook = "http://127.0.0.1:9/hook?token=s3cret"
webhook_timeout_seconds = 2
'''))
        live = run_job(sched, sched.job("live"))
        assert live["webhook"] == "delivered (200)"
        sent = Hook.received[-1]
        assert sent["run_id"] == live["run_id"] and sent["status"] == "succeeded" and "summary" in sent
        assert not [r for r in sent["risk_risers"] if r["entity_type"] == "patient"]
        dead = run_job(sched, sched.job("dead"))
        assert dead["status"] == "succeeded" and dead["webhook"].startswith("failed: ")
        assert "s3cret" not in json.dumps(dead["webhook"])
    finally:
        server.shutdown()


def test_retention_keeps_the_last_runs_and_never_the_published_one(region, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(region["store"].root, root)
    store = Store(root)
    published = store.current()
    for i in range(3):    # three failed runs, newer than the published one
        store.new_run(["x"], {}).finish("failed", error={"type": "RuntimeError", "message": f"failure {i}"})
    assert apply_retention(store, keep=3) == []     # beyond the 3 newest is only the published run: kept
    assert [r["status"] for r in store.list_runs()] == ["failed", "failed", "failed", "succeeded"]
    oldest_failure = store.list_runs()[2]["run_id"]
    store.new_run(["x"], {}).finish("failed", error={"type": "RuntimeError", "message": "again"})
    assert apply_retention(store, keep=3) == [oldest_failure]
    assert store.current() == published
    assert [r["status"] for r in store.list_runs()] == ["failed", "failed", "failed", "succeeded"]


@pytest.mark.slow
def test_a_window_job_scans_the_last_days_of_its_data(base, tmp_path):
    shutil.copytree(base / "extracts" / "2025-01", tmp_path / "data")
    sched = load_schedule(write_schedule(tmp_path, 'store = "store"\n[[jobs]]\nname = "w"\nsource = "data"\n'
                                                   'cron = "0 3 * * *"\n[jobs.settings]\nwindow_days = 92\n'))
    out = run_job(sched, sched.jobs[0])
    run = Store(tmp_path / "store").get_run(out["run_id"])
    assert (run["window"]["start"], run["window"]["end"]) == ("2025-10-01", "2025-12-31")
    assert 0 < run["counts"]["claims"] < 40000 and not run["warnings"] == []


@pytest.mark.slow
def test_relative_paths_are_the_schedule_files_own_wherever_it_is_run_from(base, tmp_path):
    shutil.copytree(base / "extracts" / "2025-01", tmp_path / "conf" / "data")
    write_schedule(tmp_path / "conf", 'store = "store"\n[[jobs]]\nname = "n"\nsource = "data"\ncron = "0 1 * * *"\n')
    for command in (["check"], ["once", "n"]):
        done = subprocess.run([sys.executable, "-m", "cli.main", "schedule", *command, "--config", "conf/schedule.toml"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "succeeded"
    assert Store(tmp_path / "conf" / "store").current() == json.loads(done.stdout)["run_id"]


def test_the_schedule_file_is_validated_with_every_problem_at_once(tmp_path):
    bad = write_schedule(tmp_path, 'keep_runs = 0\nfoo = 1\n[[jobs]]\nname = "x y"\nsource = "d"\n'
                                   'cron = "61 * * * *"\n[[jobs]]\nname = "z"\nsource = "d"\n')
    with pytest.raises(ScheduleError) as e:
        load_schedule(bad)
    text = str(e.value)
    assert text.startswith(f"{bad}: 5 problem(s):") and len(e.value.problems) == 5
    for fragment in ("key keep_runs, value 0: Input should be greater than or equal to 1",
                     "key foo, value 1: Extra inputs are not permitted",
                     "job 'x y' (jobs[0]), key name, value 'x y': String should match pattern",
                     "(jobs[0]), key cron, value '61 * * * *': Error validating expression '61'",
                     "job 'z' (jobs[1]): give exactly one of cron or interval_seconds (neither given)"):
        assert fragment in text
    good = load_schedule(write_schedule(tmp_path, 'store = "s"\n[[jobs]]\nname = "n"\nsource = "nothing/*"\n'
                                                  'cron = "0 1 * * *"\n'))
    outcome = run_job(good, good.jobs[0])            # an outcome of the documented list, no run
    assert outcome == {"status": "bad_input", "error": f"no dataset folder matches {tmp_path}/nothing/*",
                       "job": "n", "source": f"{tmp_path}/nothing/*", "attempt": 1}
    assert not (tmp_path / "s" / "runs").exists()


def test_a_job_with_cron_and_interval_gets_every_problem_of_the_file_in_one_report(tmp_path):
    """A user's file: a bad cron *and* an interval, a bad retry count, a second job of the same
    name syncing to Neo4j without a server set: five problems, each naming job, key and value."""
    bad = write_schedule(tmp_path, 'store = "s"\n[[jobs]]\nname = "a"\nsource = "d"\ncron = "61 * * * *"\n'
                                   'interval_seconds = 5\nretries = 99\n'
                                   '[[jobs]]\nname = "a"\nsource = "d"\ncron = "0 1 * * *"\nneo4j = true\n')
    with pytest.MonkeyPatch.context() as env:
        for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
            env.delenv(name, raising=False)
        with pytest.raises(ScheduleError) as e:
            load_schedule(bad)
    assert e.value.problems == [
        "job 'a' (jobs[0]), key cron, value '61 * * * *': Error validating expression '61': "
        "the last value (61) is higher than the maximum value (59)",
        "job 'a' (jobs[0]), key retries, value 99: Input should be less than or equal to 10",
        "job 'a' (jobs[0]): give exactly one of cron or interval_seconds "
        "(both given: cron '61 * * * *', interval_seconds 5)",
        "(schedule): job names must be unique: ['a', 'a']",
        "(schedule): job(s) a sync to Neo4j: set NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD and NEO4J_DATABASE "
        "in the scheduler's environment (NEO4J_URI: not set (e.g. bolt://localhost:7687))"]
    assert str(e.value).startswith(f"{bad}: 5 problem(s):")
    # a valid cron beside an interval is still one problem, not silently accepted
    with pytest.raises(ScheduleError, match=r"both given: cron '0 1 \* \* \*', interval_seconds 5"):
        load_schedule(write_schedule(tmp_path, 'store = "s"\n[[jobs]]\nname = "a"\nsource = "d"\n'
                                               'cron = "0 1 * * *"\ninterval_seconds = 5\n'))


def test_the_example_schedule_is_valid(tmp_path):
    s = load_schedule(REPO / "schedule.example.toml")
    assert [j.name for j in s.jobs] == ["nightly", "weekly-full"] and s.store == "/store"
    nightly = s.job("nightly").settings
    assert (nightly.seed, nightly.window_days, nightly.double_billing.fdr) == (42, 365, 0.01)
    with pytest.raises(ScheduleError, match="a webhook must be https://"):
        load_schedule(write_schedule(tmp_path, 'store = "s"\n[[jobs]]\nname = "n"\nsource = "d"\n'
                                               'cron = "0 1 * * *"\nwebhook = "http://alerts.example.org/x"\n'))
    # the refused URL is shown by scheme and host: its token would land in the scheduler's log
    with pytest.raises(ScheduleError) as e:
        load_schedule(write_schedule(tmp_path, 'store = "s"\n[[jobs]]\nname = "n"\nsource = "d"\ncron = "0 1 * * *"\n'
                                               'webhook = "http://hooks.example.org/x?token=SECRET123"\n'))
    assert "key webhook, value 'http://hooks.example.org': a webhook must be https://" in str(e.value)
    assert "SECRET123" not in str(e.value)


@pytest.mark.slow
def test_a_scheduled_scan_with_warnings_says_so_where_its_outcome_is_reported(tmp_path, caplog):
    """A scheduled scan's outcome (`run_job`: what `schedule once` prints), its log line and its
    webhook body said nothing of the run's warnings (here a prescriber absent from providers, kept,
    and a window keeping a few of the claims): they carry them; a run without any says so too."""
    from .conftest import claim, write_dataset
    days = [f"2025-{m:02d}-{d:02d}" for m in range(1, 13) for d in (3, 17)]
    write_dataset(tmp_path / "data", providers=[{"provider_id": "D1", "kind": "physician"},
                                                {"provider_id": "D2", "kind": "nurse"}],
                  claims=[claim(f"K{i}", f"P{i % 7}", "D2", "AMI1", day, 3.15, prescriber="D9" if i == 5 else "D1")
                          for i, day in enumerate(days)])
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sched = load_schedule(write_schedule(tmp_path, f'''store = "store"
[[jobs]]
name = "w"
source = "data"
cron = "0 3 * * *"
webhook = "http://127.0.0.1:{server.server_address[1]}/hook"
[jobs.settings]
window_days = 60
'''))
        with caplog.at_level("INFO", logger="fraudnet.schedule"):
            out = run_job(sched, sched.jobs[0])
        sent = Hook.received[-1]
    finally:
        server.shutdown()
    assert out["status"] == "succeeded"
    window = next(w for w in out["warnings"] if w.startswith("the window "))
    prescriber = "1 row(s) of claims.csv name 1 prescriber_id value(s) absent from providers.csv; kept as entities " \
                 "of unknown kind"
    assert out["warnings"] == [window, prescriber] and "keeps 4 of the 24 claims loaded" in window
    assert sent["run_id"] == out["run_id"] and sent["warnings"] == out["warnings"]
    lines = [r.getMessage() for r in caplog.records if r.name == "fraudnet.schedule"]
    assert f"job w: succeeded (attempt 1, run {out['run_id']}), 2 warning(s)" in lines
    assert f"job w: run {out['run_id']}: warning: {prescriber}" in lines
    # the same data without the unknown prescriber nor the window: no warning, said as such
    (tmp_path / "schedule.toml").write_text((tmp_path / "schedule.toml").read_text().replace("window_days = 60", ""))
    write_dataset(tmp_path / "data", claims=[claim(f"K{i}", f"P{i % 7}", "D2", "AMI1", day, 3.15, prescriber="D1")
                                             for i, day in enumerate(days)])
    again = load_schedule(tmp_path / "schedule.toml")
    quiet = run_job(again, again.jobs[0])
    assert quiet["status"] == "succeeded" and "warnings" not in quiet


def test_a_job_that_makes_no_run_current_is_a_warning_of_the_log(tmp_path, caplog):
    """Bad input (logged INFO before) is a WARNING, as a folder that matches nothing already was;
    a run made current without warnings stays INFO."""
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "claims.csv").write_text("claim_id\n1\n")
    sched = load_schedule(write_schedule(tmp_path, 'store = "store"\n[[jobs]]\nname = "b"\nsource = "bad"\n'
                                                   'cron = "0 3 * * *"\nretries = 0\n'))
    with caplog.at_level("INFO", logger="fraudnet.schedule"):
        out = run_job(sched, sched.jobs[0])
    assert out["status"] == "bad_input"
    [record] = [r for r in caplog.records if r.name == "fraudnet.schedule" and r.getMessage().startswith("job b: ")]
    assert record.levelname == "WARNING" and record.getMessage().startswith("job b: bad_input (attempt 1, run ")


def test_a_job_that_makes_no_run_current_tells_its_webhook_why(tmp_path):
    """A webhook heard only of succeeded and held runs: a job whose input was bad, whose folder
    matched nothing, or which found the store busy left whoever watches the webhook waiting. Now
    each is POSTed with its status and error, server paths shown by the folder's name only."""
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "claims.csv").write_text("claim_id\n1\n")
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f'webhook = "http://127.0.0.1:{server.server_address[1]}/hook"\n'
    try:
        sched = load_schedule(write_schedule(tmp_path, 'store = "store"\n'
                                             '[[jobs]]\nname = "b"\nsource = "bad"\ncron = "0 3 * * *"\nretries = 0\n' + hook +
                                             '[[jobs]]\nname = "n"\nsource = "none-*"\ncron = "0 3 * * *"\n' + hook))
        bad = run_job(sched, sched.job("b"))
        sent_bad = Hook.received[-1]
        none = run_job(sched, sched.job("n"))
        sent_none = Hook.received[-1]
    finally:
        server.shutdown()
    assert bad["status"] == "bad_input" and bad["webhook"] == "delivered (200)"
    assert sent_bad["job"] == "b" and sent_bad["status"] == "bad_input" and sent_bad["run_id"] == bad["run_id"]
    assert sent_bad["attempt"] == 1 and sent_bad["warnings"] == [] and "claims.csv" in sent_bad["error"]
    assert none["status"] == "bad_input" and none["webhook"] == "delivered (200)"
    assert sent_none == {"job": "n", "status": "bad_input", "run_id": None, "attempt": 1,
                         "error": "no dataset folder matches none-*", "warnings": []}
    assert str(tmp_path) not in json.dumps([sent_bad, sent_none])


def test_held_runs_count_towards_retention(region, tmp_path, monkeypatch):
    """A job whose runs are all held by their checks still removes the runs beyond `keep_runs`
    (the current one aside): held runs never pile up."""
    import scheduler.schedule as schedule
    root = tmp_path / "store"
    shutil.copytree(region["store"].root, root)
    (tmp_path / "d").mkdir()
    published = Store(root).current()

    def held(store, sources, settings, timeout):
        run = store.new_run(sources, {})
        run.finish("held", checks={"failed": ["alerts"]})
        return run.record

    monkeypatch.setattr(schedule, "run_scan", held)
    sched = load_schedule(write_schedule(tmp_path, 'store = "store"\nkeep_runs = 2\n[[jobs]]\nname = "j"\n'
                                                   'source = "d"\ncron = "0 3 * * *"\n'))
    results = [run_job(sched, sched.jobs[0]) for _ in range(4)]
    assert [r["status"] for r in results] == ["held"] * 4
    assert results[-1]["removed_runs"] == [results[1]["run_id"]]
    runs = Store(root).list_runs()
    assert [r["run_id"] for r in runs] == [results[3]["run_id"], results[2]["run_id"], published]


def test_a_schedule_file_that_is_not_utf8_is_a_clear_error_naming_it(tmp_path):
    from click.testing import CliRunner

    from cli.main import main
    bad = tmp_path / "schedule.toml"
    bad.write_bytes('store = "s"\n# planifié\n'.encode("latin-1"))
    with pytest.raises(ScheduleError) as e:
        load_schedule(bad)
    assert e.value.problems == ["line 2: not UTF-8 text (byte 0xe9); save the file as UTF-8"]
    out = CliRunner().invoke(main, ["schedule", "check", "--config", str(bad)])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert f"{bad}: 1 problem(s):" in out.output and "line 2: not UTF-8 text" in out.output


def test_a_job_s_time_limit_and_the_server_s_are_finite_and_bounded(tmp_path, monkeypatch):
    """TOML reads `timeout_seconds = inf`, the environment `FRAUDNET_SCAN_TIMEOUT=inf`: the scan's
    timer then overflowed in its child (`timestamp out of range`) and the run was `interrupted`.
    Refused up front, naming the key, as every number past `MAX_COUNT` seconds."""
    from pydantic import ValidationError

    from config import Environment
    for value, said in (("inf", "Input should be a finite number"), ("nan", "Input should be a finite number"),
                        ("1e300", "Input should be less than or equal to 1000000000")):
        bad = write_schedule(tmp_path, f'[[jobs]]\nname = "n"\nsource = "d"\ncron = "0 1 * * *"\n'
                                       f'timeout_seconds = {value}\n')
        with pytest.raises(ScheduleError) as e:
            load_schedule(bad)
        assert "key timeout_seconds" in str(e.value) and said in str(e.value), str(e.value)
        monkeypatch.setenv("FRAUDNET_SCAN_TIMEOUT", value)
        with pytest.raises(ValidationError, match=said):
            Environment()
