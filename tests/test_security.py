"""Issue #15, replayed: every attempt on patients' confidentiality and on the results, kept as
regression tests. Real requests to `fraudnet serve` on 127.0.0.1, real scan processes, real pid
namespaces (`unshare --pid --fork`) and a real full disk (a small tmpfs) where the attempt needs
them; those that take long are marked `slow`.

1. patient ids in logs (plain, percent-encoded), alert ids and webhook bodies;
2. bulk reads audited; the audit log under a full disk;
3. the scan lock across pid namespaces;
4. a full disk: the previous run served, the failure recorded with its cause, leftovers cleaned,
   retention freeing space;
5. a validation error naming a patient: the review's attempt through `fraudnet scan` here, every
   fault around patient cells in the loaders' property test (`tests/test_no_patient_values.py`);
6. unauthenticated bodies, sizes, slow clients;
7. links out of the data root, a Neo4j URI with a password, duplicate keys, file modes, a store
   path with `'`, formula cells, damaged records, `/ready` on a cut results file, one analyst's
   burst of heavy calls;
8. schedule paths relative to the schedule file, a rolling window anchored on the data.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyConfigError, parse_keys
from contract.errors import AuditUnavailable
from contract.vocab import ENTITY_TYPES
from publish.export import export
from publish.webhook import body, check_url, where
from runs import launch, results
from runs.audit import audit, read_audit
from runs.pipeline import scan, window
from runs.settings import RunSettings
from runs.store import Store

from .conftest import REPO

ADMIN, ANALYST, OTHER = "admin-key-0123456789abcdef", "analyst-key-0123456789abcdef", "second-analyst-0123456789"
KEYS = f"ops:admin:{ADMIN},alice:analyst:{ANALYST},bob:analyst:{OTHER}"
SECRET_LINE = "root:x:0:0:SECRET-FIRST-LINE"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def patient_ids(data: Path) -> set[str]:
    claims = pacsv.read_csv(data / "claims.csv", convert_options=pacsv.ConvertOptions(
        column_types={"patient_id": pa.string()}, include_columns=["patient_id"]))
    return set(claims["patient_id"].unique().to_pylist())


def leaked(text: str, patients: set[str]) -> set[str]:
    """Patient ids in `text`, as written or percent-encoded (once or twice)."""
    found = set()
    for form in (text, unquote(text), unquote(unquote(text))):
        found |= set(re.findall(r"[A-Za-z0-9_.-]+", form)) & patients
    return found


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Server:
    """`fraudnet serve` in a subprocess on 127.0.0.1, its whole output in `log`."""

    def __init__(self, store: Path, data_root: Path, log: Path, **env):
        self.port, self.log = free_port(), log
        self.base = f"http://127.0.0.1:{self.port}"
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", "--store", str(store), "--port", str(self.port),
                 "--data-root", str(data_root)], cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "FRAUDNET_API_KEYS": KEYS, **env})
        for _ in range(300):
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not start: {log.read_text()[-2000:]}")

    def get(self, url: str, key: str | None = ANALYST, **kw) -> httpx.Response:
        return httpx.get(self.base + url, headers={"X-API-Key": key} if key else {}, timeout=60, **kw)

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def site(region, tmp_path_factory):
    """A copy of the region's store, a data root holding the region, and a server on both."""
    root = tmp_path_factory.mktemp("security")
    shutil.copytree(region["store"].root, root / "store")
    shutil.copytree(region["data"], root / "data-root" / "region")
    (root / "outside").mkdir()
    (root / "outside" / "claims.csv").write_text(SECRET_LINE + "\n")
    server = Server(root / "store", root / "data-root", root / "serve.log",
                    FRAUDNET_CLIENT_TIMEOUT="2", FRAUDNET_HEAVY_CALLS_PER_KEY="2")
    yield {"root": root, "store": Store(root / "store"), "data_root": root / "data-root", "server": server,
           "patients": patient_ids(region["data"])}
    server.stop()


# --- 1. patient ids in logs, alert ids, webhook bodies --------------------------------------------

@pytest.mark.slow
def test_no_patient_id_in_the_server_log_or_the_audit_log_after_opening_every_kind_of_alert_and_entity(site):
    server, store, patients = site["server"], site["store"], site["patients"]
    con = store.connect()
    some = {t: [i for (i,) in con.execute("SELECT entity_id FROM nodes WHERE entity_type = $t ORDER BY entity_id "
                                          "LIMIT 3", {"t": t}).fetchall()] for t in ENTITY_TYPES}
    named = [i for (i,) in con.execute("SELECT DISTINCT entity_id FROM alert_entities WHERE entity_type = 'patient' "
                                       "ORDER BY 1 LIMIT 6").fetchall()]
    provider = some["provider"][0]
    con.close()
    assert all(some.values()) and named, "every entity type and some alerted patients are in the region"
    statuses = []

    def see(url, key=ANALYST, expect=None):
        r = server.get(url, key)
        statuses.append(r.status_code)
        assert expect is None or r.status_code == expect, (url, r.status_code, r.text[:300])
        return r

    alerts = see("/api/v1/alerts?limit=500", expect=200).json()["data"]
    kinds = {a["pattern"] for a in alerts}
    assert {"doctor_shopping", "dense_block", "double_billing", "pharmacy_collusion", "peer_outlier",
            "entity_network"} <= kinds
    for a in alerts:                                   # every alert, every kind, patients' included
        see(f"/api/v1/alerts/{quote(a['alert_id'], safe=':')}", expect=200)
    for pattern in kinds:
        see(f"/api/v1/alerts?pattern={pattern}", expect=200)
    for etype, ids in {**some, "patient": some["patient"] + named}.items():
        for eid in ids:
            see(f"/api/v1/entities/{etype}/{quote(eid)}", expect=200)
            see(f"/api/v1/entities/{etype}/{quote(eid)}/neighbourhood?depth=1&max_nodes=50", expect=200)
            see(f"/api/v1/alerts?entity={etype}:{quote(eid)}", expect=200)
    pid = named[0]
    for url in (f"/api/v1/alerts?entity=%70atient%3A{pid}", f"/api/v1/alerts?entity=patient%3a{quote(pid)}",
                f"/api/v1/entities/%70atient/{pid}", f"/api/v1/entities/patient/%{ord(pid[0]):02X}{pid[1:]}",
                f"/api/v1/alerts?entity=%2570atient%253A{pid}", f"/api/v1/paths?from=patient:{pid}&to=provider:{provider}",
                f"/api/v1/entities/patient/{pid}X", f"/api/v1/nowhere/{pid}", f"/api/v1/alerts?entity=patient:{pid}&limit=0",
                f"/{pid}", f"/api/v1/alerts/doctor_shopping:{pid}?run={pid}",
                f"/api/v1/entities/provider/patient:{pid}", f"/api/v1/entities/provider/provider:patient:{pid}"):
        see(url)
    for url in (f"/api/v1/entities/provider/patient:{pid}", f"/api/v1/entities/provider/provider:patient:{pid}"):
        r = see(url, expect=404)                       # a patient's node id under another type: not repeated
        assert pid not in r.text, r.text
    see(f"/api/v1/entities/patient/{pid}", key=None, expect=401)
    see(f"/api/v1/entities/patient/{pid}", key="not-a-key-" + pid, expect=401)
    for c in see("/api/v1/communities?limit=500", expect=200).json()["data"]:
        see(f"/api/v1/communities/{c['community_id']}", expect=200)
    for name in ("alerts.csv", "alert_entities.csv", "entity_risk.csv", "communities.csv"):
        see(f"/api/v1/runs/current/export/{name}", expect=200)
    see("/api/v1/runs/current/changes", expect=200)
    r = httpx.post(server.base + "/api/v1/runs", json={"source": pid, "settings": {"seed": pid}},
                   headers={"X-API-Key": ADMIN}, timeout=30)
    assert r.status_code == 422
    assert len(statuses) > 100 and {200, 401, 404, 422} <= set(statuses)
    log = server.log.read_text()
    assert not leaked(log, patients)
    assert log.count('"GET /api/v1/alerts/{alert_id}" 200') == len(alerts)     # every request was logged
    assert '"GET /api/v1/entities/{entity_type}/{entity_id}" 200' in log and '"GET -" 404' in log
    audit_log = "".join(f.read_text() for f in (store.root / "audit").glob("*.jsonl"))
    assert not leaked(audit_log, patients) and '"target": "patient:~' in audit_log
    reads = server.get(f"/api/v1/audit?target=patient:{quote(pid)}&limit=1000", ADMIN).json()["data"]
    assert {r["action"] for r in reads} >= {"entities.get", "entities.neighbourhood", "alerts.list", "paths.get"}
    assert not leaked(server.get("/api/v1/audit?limit=1", ADMIN).text, patients)     # nor the log's own read


@pytest.mark.slow
def test_a_scan_started_over_the_api_logs_and_records_no_patient_id(site):
    server, store = site["server"], site["store"]
    r = httpx.post(server.base + "/api/v1/runs", json={"source": "region"}, headers={"X-API-Key": ADMIN}, timeout=30)
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    for _ in range(1200):
        state = server.get(f"/api/v1/runs/{run_id}").json()
        if state["status"] != "running" and (state["status"] != "succeeded" or state["current"]):
            break
        time.sleep(0.25)
    assert state["status"] == "succeeded" and state["sources"] == ["region"]
    scan_log = (store.runs_dir / run_id / "scan.log").read_text()
    record = (store.runs_dir / run_id / "run.json").read_text()
    assert "load" in record and not leaked(scan_log, site["patients"]) and not leaked(record, site["patients"])
    assert not leaked(server.log.read_text(), site["patients"])


def test_no_alert_id_names_a_patient(site):
    con = site["store"].connect()
    ids = [a for (a,) in con.execute("SELECT alert_id FROM alerts").fetchall()]
    con.close()
    assert ids and not leaked(" ".join(ids), site["patients"])


def test_a_webhook_body_names_no_patient(site, region):
    payload = body(region["store"].changes(region["run"]["run_id"]), "succeeded")     # a first run: all new
    assert payload["new"] and not leaked(json.dumps(payload), site["patients"])


def test_webhooks_are_https_and_logged_by_host_only():
    with pytest.raises(ValueError, match="a webhook must be https://"):
        check_url("http://alerts.example.org/hook?token=s3cret")
    assert check_url("http://127.0.0.1:9/hook") and check_url("https://alerts.example.org/hook")
    assert where("https://user:pw@alerts.example.org:8443/hook?token=s3cret") == "https://alerts.example.org:8443"


# --- 2. bulk reads audited; the audit log ----------------------------------------------------------

def test_bulk_reads_are_audited(site):
    server = site["server"]
    run_id = site["store"].current()
    reads = {"/api/v1/runs/current/export/alert_entities.csv": ("runs.export", "export:alert_entities.csv"),
             "/api/v1/runs/current/export/entity_risk.csv": ("runs.export", "export:entity_risk.csv"),
             "/api/v1/runs/current/changes": ("runs.changes", f"changes:{run_id}"),
             "/api/v1/alerts?limit=20": ("alerts.list", "alerts?sort=rank&limit=20&offset=0"),
             f"/api/v1/runs/{run_id}": ("runs.get", f"run:{run_id}")}
    for url, (action, target) in reads.items():
        r = server.get(url, OTHER)
        assert r.status_code == 200, (url, r.text)
        entry = server.get("/api/v1/audit?limit=1", ADMIN).json()["data"][0]
        assert (entry["who"], entry["role"], entry["action"], entry["target"], entry["run"]) == \
               ("bob", "analyst", action, target, run_id), url
    patients_named = server.get("/api/v1/runs/current/export/alert_entities.csv", OTHER).text.count(",patient,")
    entry = server.get("/api/v1/audit?limit=1", ADMIN).json()["data"][0]
    assert patients_named > 0 and entry["rows"] >= patients_named
    assert server.get("/api/v1/audit?limit=1", ADMIN).json()["data"][0]["action"] == "audit.read"   # the log's own read


def test_cli_reads_are_audited(site, tmp_path):
    store = site["store"]
    fraudnet = [sys.executable, "-m", "cli.main"]
    for args, action in ((["alerts", "--limit", "3"], "alerts.list"), (["changes"], "runs.changes"),
                         (["export", str(tmp_path / "out")], "export"),
                         (["runs", "show", store.current()], "runs.get")):
        done = subprocess.run(fraudnet + args + ["--store", str(store.root)], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        entry = read_audit(store, limit=1)[0][0]
        assert (entry["role"], entry["action"], entry["run"]) == ("cli", action, store.current())
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (tmp_path / "out").iterdir())


def test_a_cut_audit_line_never_breaks_reading_and_the_next_line_stands_alone(tmp_path):
    store = Store(tmp_path)
    who = ("alice", "analyst")
    audit(store, *who, "entities.get", "provider:1", "r1")
    day = next((tmp_path / "audit").glob("*.jsonl"))
    with open(day, "ab") as f:
        f.write(b'{"at": "2025-01-01T00:00:00", "who": "ali')           # a write cut by a crash
    audit(store, *who, "entities.get", "provider:2", "r1")
    entries, total, damaged = read_audit(store)
    assert [e["target"] for e in entries] == ["provider:2", "provider:1"] and (total, damaged) == (2, 1)
    assert stat.S_IMODE(day.stat().st_mode) == 0o600 and stat.S_IMODE(day.parent.stat().st_mode) == 0o700


def test_a_failed_audit_write_leaves_no_cut_line(tmp_path, monkeypatch):
    store = Store(tmp_path)
    audit(store, "alice", "analyst", "entities.get", "provider:1", "r1")
    day = next((tmp_path / "audit").glob("*.jsonl"))
    before = day.read_bytes()
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[:7]))      # a short write: the disk filled
    with pytest.raises(AuditUnavailable, match=r"the audit log cannot be written \(No space left on device\)"):
        audit(store, "alice", "analyst", "entities.get", "patient:P1", "r1")
    monkeypatch.undo()
    assert day.read_bytes() == before


# --- 3. the scan lock across pid namespaces -------------------------------------------------------

LOCKER = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[4])
from contract.errors import Busy
from runs.store import Store
store, marker, tries = Store(sys.argv[1]), sys.argv[2], int(sys.argv[3])
held = clashes = 0
for i in range(tries):
    try:
        fd = store.lock().acquire(f"run-{i}", wait=0.05)
    except Busy:
        continue
    try:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:          # someone else holds the lock too
            clashes += 1
        else:
            time.sleep(0.001)
            os.unlink(marker)
        held += 1
    finally:
        os.close(fd)
print(json.dumps({"pid": os.getpid(), "held": held, "clashes": clashes}))
"""


def _unshare() -> list[str]:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) for pid namespaces")
    return ["unshare", "--pid", "--fork"]


@pytest.mark.slow
def test_the_lock_never_has_two_holders_across_pid_namespaces_under_stress(tmp_path):
    unshare = _unshare()
    store, marker = tmp_path / "store", tmp_path / "holder"
    totals = {"held": 0, "clashes": 0}
    for trial in range(20):
        procs = [subprocess.Popen(unshare + [sys.executable, "-c", LOCKER, str(store), str(marker), "25", str(REPO)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(8)]
        for p in procs:
            out, _ = p.communicate(timeout=120)
            r = json.loads(out)
            assert r["pid"] == 1                     # each in a pid namespace of its own
            totals["held"] += r["held"]
            totals["clashes"] += r["clashes"]
    assert totals["clashes"] == 0 and totals["held"] >= 20 * 8


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _descendants(pid: int) -> list[int]:
    """The processes under `pid` (children first, then theirs), as /proc lists them now."""
    out = []
    for child in _children(pid):
        out += [child, *_descendants(child)]
    return out


@pytest.mark.slow
def test_scans_in_separate_pid_namespaces_share_one_lock_and_a_killed_one_leaves_none(region, tmp_path):
    unshare = _unshare()
    store = Store(tmp_path / "store")
    scan_cmd = unshare + [sys.executable, "-m", "cli.main", "scan", str(region["data"]), "--store", str(store.root)]
    first = subprocess.Popen(scan_cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while store.lock().holder() is None and time.time() < deadline:
        time.sleep(0.05)
    holder = store.lock().holder()
    assert holder, "the first scan took the lock"
    family = _descendants(first.pid)
    for pid in family:                       # paused while it holds the lock: the second scan meets it
        os.kill(pid, signal.SIGSTOP)         # however fast the first would finish (no race)
    assert store.lock().holder() == holder
    second = subprocess.run(scan_cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert second.returncode == 3 and "a scan is already running" in second.stderr
    assert holder["run_id"] in second.stderr
    init = _children(first.pid)[0]           # the first scan's CLI: pid 1 of its namespace, seen from here
    os.kill(init, signal.SIGKILL)            # a killed container: every process of its namespace dies
    first.communicate(timeout=60)
    deadline = time.time() + 30
    while store.lock().holder() is not None and time.time() < deadline:
        time.sleep(0.05)
    assert store.lock().holder() is None     # released by the kernel: no stale lock naming a pid
    third = subprocess.run(scan_cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stderr
    runs = store.list_runs()
    assert [r["status"] for r in runs] == ["succeeded", "interrupted"] and runs[0]["current"]


# --- 4. a full disk ------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 48 MB tmpfs: a disk that fills."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
                                           capture_output=True).returncode:
        pytest.skip("needs root to mount a tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill `disk` but for about `leave` bytes; returns the filler (remove it to free the disk)."""
    filler = disk / f"filler-{time.monotonic_ns()}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, filler.stat().st_size - leave)
    return filler


def _deleted_files_open(under: Path) -> list[str]:
    out = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.endswith("(deleted)") and target.startswith(str(under)):
            out.append(target)
    return out


@pytest.mark.slow
def test_a_full_disk_keeps_the_previous_run_served_records_the_failure_and_the_next_scan_cleans_up(region, small_disk):
    from scheduler.schedule import apply_retention
    store = Store(small_disk / "store")
    good = scan(region["data"], store)
    client = TestClient(create_app(store, parse_keys(KEYS, "test"), data_root=region["root"]))
    client.__enter__()
    a, ad = {"X-API-Key": ANALYST}, {"X-API-Key": ADMIN}
    provider = client.get("/api/v1/alerts?pattern=double_billing&limit=1", headers=a).json()["data"][0]["alert_id"].split(":")[2]

    # nearly full: the results of the next scan do not fit
    filler = fill(small_disk, leave=1 << 20)
    cli = subprocess.run([sys.executable, "-m", "cli.main", "scan", str(region["data"]), "--store", str(store.root)],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 1 and "Traceback" not in cli.stderr, cli.stderr
    assert "No space left on device" in cli.stderr and "the current results are unchanged" in cli.stderr, cli.stderr
    failed = store.list_runs()[0]
    assert failed["status"] == "failed" and "No space left on device" in failed["error"]["message"]
    assert not list(store.runs_dir.glob("*/*.partial*"))              # its partial results are gone at once
    assert store.current() == good["run_id"]
    assert client.get("/api/v1/ready").json() == {"status": "ready", "run_id": good["run_id"]}
    assert client.get(f"/api/v1/entities/provider/{provider}", headers=a).status_code == 200

    # full: nothing can be written at all
    filler2 = fill(small_disk)
    for _ in range(500):          # the audit file's last block takes a few lines more, then no more
        r = client.get(f"/api/v1/entities/provider/{provider}", headers=a)
        if r.status_code != 200:
            break
    assert (r.status_code, r.json()) == (503, {"detail": "the audit log cannot be written (No space left on device): "
                                                         "reads of entity-level data are refused until it can"})
    for url in ("/api/v1/alerts", f"/api/v1/entities/provider/{provider}/neighbourhood", "/api/v1/runs/current/changes",
                "/api/v1/runs/current/export/alert_entities.csv"):
        assert client.get(url, headers=a).status_code == 503, url
    log = client.get("/api/v1/audit?limit=1000", headers=ad)
    assert log.status_code == 200 and log.json()["damaged"] == 0 and log.json()["count"] > 0
    r = client.post("/api/v1/runs", json={"source": "data"}, headers=ad)
    assert (r.status_code, r.json()) == (503, {"detail": "the store cannot be written (No space left on device): "
                                                         "nothing was started or changed"})
    cli = subprocess.run([sys.executable, "-m", "cli.main", "scan", str(region["data"]), "--store", str(store.root)],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 1 and "Traceback" not in cli.stderr and "No space left on device" in cli.stderr
    filler2.unlink()                                 # room to create a run, then the disk fills under the scan
    run = store.new_run([str(region["data"])], RunSettings().model_dump(mode="json"))
    filler2 = fill(small_disk)
    worker = subprocess.run([sys.executable, "-m", "runs.worker", str(store.root), run.id], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert worker.returncode == 1
    listed = client.get("/api/v1/runs?limit=1", headers=a).json()["data"][0]
    assert listed["run_id"] == run.id and listed["status"] == "failed"        # not `running`, ever
    assert listed["error"]["message"] == "No space left on device"
    assert store.current() == good["run_id"] and client.get("/api/v1/ready").status_code == 200

    # room again: reads are audited again, the next scan cleans up and becomes current
    filler.unlink()
    filler2.unlink()
    assert client.get(f"/api/v1/entities/provider/{provider}", headers=a).status_code == 200
    (store.runs_dir / run.id / "results.duckdb.partial").write_bytes(b"x" * 4096)      # as a killed scan leaves them
    (store.runs_dir / run.id / "results.duckdb.partial.tmp").mkdir()
    again = launch.run(store, [str(region["data"])], RunSettings())
    assert again["status"] == "succeeded" and store.current() == again["run_id"]
    assert not list(store.root.glob("**/*.partial*")) and not list(store.root.glob("**/.*.tmp"))
    assert client.get("/api/v1/alerts?limit=1", headers=a).json()["data"][0]["run_id"] == again["run_id"]
    assert client.get(f"/api/v1/alerts?run={good['run_id']}&limit=1", headers=a).status_code == 200
    free = os.statvfs(small_disk).f_bavail
    assert good["run_id"] in apply_retention(store, keep=1)
    assert client.get("/api/v1/alerts?limit=1", headers=a).status_code == 200    # the next call closes removed runs
    assert not _deleted_files_open(small_disk)
    assert os.statvfs(small_disk).f_bavail > free                              # retention freed the space
    client.__exit__(None, None, None)


# --- 5. a validation error naming a patient -------------------------------------------------------

def test_a_patient_cell_that_is_not_utf8_is_named_by_place_never_by_value(tmp_path):
    """The review's attempt end to end (the loaders' property test covers every fault):
    `fraudnet scan` on claims whose patient cell holds a Latin-1 byte."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "claims.csv").write_bytes(b"claim_id,patient_id,provider_id,service_code,service_date,amount\n"
                                      b"C1,PZQX\xe9041,D1,G,2025-01-05,26.5\nC2,PZQX0042,D1,G,2025-01-06,26.5\n")
    (data / "providers.csv").write_text("provider_id,kind\nD1,physician\n")
    store = Store(tmp_path / "store")
    done = subprocess.run([sys.executable, "-m", "cli.main", "scan", str(data), "--store", str(store.root)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "claims.csv" in done.stderr, done.stderr
    record = store.list_runs()[0]
    assert record["status"] == "failed" and "claims.csv" in record["error"]["message"]
    for text in (done.stdout, done.stderr, json.dumps(record),
                 (store.runs_dir / record["run_id"] / "scan.log").read_text(errors="replace")):
        assert "ZQX" not in text, text


# --- 6. requests: authentication before the body, sizes, slow clients ---------------------------

def _send_big(port: int, headers: str, chunked: bool, total: int = 200 * 1000 * 1000) -> bytes:
    """Send a request with a `total`-byte body until the server answers or hangs up; its answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
        s.sendall(f"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}"
                  f"{length}\r\n\r\n".encode())
        block, sent = b"x" * (1 << 20), 0
        try:
            while sent < total:
                s.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return s.recv(65536)
        except ConnectionResetError:
            return b""
    finally:
        s.close()


def test_large_bodies_are_refused_before_they_are_read_and_memory_does_not_grow(site):
    server = site["server"]
    before = rss_kb(server.process.pid)
    answers = [_send_big(server.port, "", chunked=False), _send_big(server.port, "X-API-Key: wrong-0123456789abcd\r\n", False),
               _send_big(server.port, "", chunked=True),
               _send_big(server.port, f"X-API-Key: {ADMIN}\r\n", chunked=False),
               _send_big(server.port, f"X-API-Key: {ADMIN}\r\n", chunked=True)]
    after = rss_kb(server.process.pid)
    assert after - before < 30_000, (before, after)          # kB: 1 GB sent, not kept
    for answer in answers[:3]:      # a reset may come before the answer is read: never a 2xx or a 5xx
        assert answer == b"" or answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    for answer in answers[3:]:
        assert answer == b"" or answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert any(a.startswith(b"HTTP/1.1 401 ") for a in answers[:3]) and any(a.startswith(b"HTTP/1.1 413 ") for a in answers[3:])
    r = httpx.post(server.base + "/api/v1/runs", content=b"{" + b" " * 2_000_000 + b"}",
                   headers={"X-API-Key": ADMIN, "Content-Type": "application/json"}, timeout=30)
    assert (r.status_code, r.json()) == (413, {"detail": "the request body is larger than 1,000,000 bytes"})


def test_headers_and_bodies_sent_too_slowly_are_cut_off(site):
    server = site["server"]                    # FRAUDNET_CLIENT_TIMEOUT=2
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    t0 = time.monotonic()
    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
    closed = False
    while time.monotonic() - t0 < 8:
        try:
            s.sendall(b"X-Slow: 1\r\n")        # a header every 0.25 s, never the end of the head
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        s.settimeout(0.25)
        try:
            if s.recv(1024) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except ConnectionResetError:           # closed while our last header was on its way
            closed = True
            break
    s.close()
    assert closed and time.monotonic() - t0 < 4
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(f"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nX-API-Key: {ADMIN}\r\nContent-Type: application/json\r\n"
              f"Content-Length: 100\r\n\r\n{{\"source\"".encode())
    t0 = time.monotonic()
    answer = b""
    try:
        while chunk := s.recv(65536):
            answer += chunk
    except ConnectionResetError:               # a reset after the answer: what was read stands
        pass
    s.close()
    assert answer.startswith(b"HTTP/1.1 408 ") and b"not received within 2 s" in answer and time.monotonic() - t0 < 4


def test_every_endpoint_but_health_needs_a_key(site):
    server = site["server"]
    spec = server.get("/openapi.json", key=None).json()
    checked = 0
    for path, ops in spec["paths"].items():
        if not path.startswith("/api/v1/") or path in ("/api/v1/health", "/api/v1/ready"):
            continue
        url = re.sub(r"\{[^}]+\}", "x", path)
        for method in ops:
            r = httpx.request(method.upper(), server.base + url, timeout=30)
            assert (r.status_code, r.json()) == (401, {"detail": "missing API key: send it in the X-API-Key header"}), url
            checked += 1
    assert checked >= 14


def test_one_keys_burst_of_heavy_calls_is_limited_and_others_are_served(site):
    server, store = site["server"], site["store"]
    con = store.connect()
    hub = con.execute("SELECT node_id FROM node_degree ORDER BY degree DESC LIMIT 1").fetchall()[0][0]
    provider = con.execute("SELECT entity_id FROM nodes WHERE entity_type = 'provider' LIMIT 1").fetchall()[0][0]
    con.close()
    etype, eid = hub.split(":", 1)
    statuses, start = [], threading.Barrier(20)

    def burst():
        start.wait()
        r = server.get(f"/api/v1/entities/{etype}/{eid}/neighbourhood?depth=3&max_nodes=2000&hub_degree=100000")
        statuses.append((r.status_code, r.json().get("detail")))
    threads = [threading.Thread(target=burst) for _ in range(20)]
    for t in threads:
        t.start()
    other = server.get(f"/api/v1/entities/provider/{provider}", OTHER)
    for t in threads:
        t.join()
    assert other.status_code == 200
    refused = [d for s, d in statuses if s == 429]
    assert {s for s, _ in statuses} <= {200, 429} and len(refused) >= 10
    assert refused[0] == ("key 'alice' already has 2 heavy call(s) running (neighbourhoods, paths, exports, "
                          "change reports): retry when one ends")


def test_two_keys_with_one_secret_are_refused():
    with pytest.raises(KeyConfigError, match=r"entry 2 \(b\) has the same key as another entry"):
        parse_keys(f"a:analyst:{ADMIN},b:admin:{ADMIN}", "FRAUDNET_API_KEYS")


def test_a_neo4j_uri_with_a_password_is_refused_without_showing_it(region):
    done = subprocess.run([sys.executable, "-m", "cli.main", "neo4j", "sync", "--store", str(region["store"].root)],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NEO4J_URI": "bolt://neo4j:s3cret-pw@db.example.org:7687"})
    assert done.returncode == 2 and "db.example.org:7687" in done.stderr, done.stderr
    assert "s3cret" not in done.stderr + done.stdout


# --- 7. the data root, file modes, the store path, formula cells, damaged records, readiness ----

def test_a_link_out_of_the_data_root_is_refused_and_its_content_never_shown(site, region):
    server, data_root, root = site["server"], site["data_root"], site["root"]
    linked = data_root / "linked"
    linked.mkdir()
    for f in region["data"].iterdir():
        if f.name != "claims.csv":
            shutil.copy(f, linked / f.name)
    (linked / "claims.csv").symlink_to(root / "outside" / "claims.csv")
    (data_root / "elsewhere").symlink_to(root / "outside", target_is_directory=True)
    for source, detail in (("linked", "1 problem(s) in the dataset: claims.csv: is a link to outside the data root: refused"),
                           ("elsewhere", "source 'elsewhere' is outside the data root")):
        r = httpx.post(server.base + "/api/v1/runs", json={"source": source}, headers={"X-API-Key": ADMIN}, timeout=30)
        assert (r.status_code, r.json()) == (422, {"detail": detail})
    # a link placed after the request: the scan process checks again before it reads anything
    store = Store(root / "linked-store")
    record = launch.run(store, [str(linked)], RunSettings(), data_root=data_root)
    assert launch.outcome(record) == "bad_input"
    assert record["error"]["message"].endswith("claims.csv: is a link to outside the data root: refused")
    assert "SECRET" not in json.dumps(record) and "SECRET" not in server.log.read_text()


@pytest.mark.slow
def test_results_audit_and_exports_are_readable_by_the_service_only(region, tmp_path):
    store = Store(tmp_path / "store")
    record = launch.run(store, [str(region["data"])], RunSettings())
    assert record["status"] == "succeeded"
    audit(store, "alice", "analyst", "entities.get", "patient:P1", record["run_id"])
    export(store, tmp_path / "out")
    for path in [*store.root.rglob("*"), *(tmp_path / "out").iterdir()]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700


@pytest.mark.slow
def test_a_store_path_with_a_quote_scans_again_and_again(region, tmp_path):
    store = Store(tmp_path / "it's a store")
    first, second = scan(region["data"], store), scan(region["data"], store)
    assert first["status"] == second["status"] == "succeeded" and store.changes()["previous_run"] == first["run_id"]


def _results_with(alerts: list[dict], risk: list[dict]) -> dict:
    tables = {name: t.schema.empty_table() for name, t in results.RESULTS.items()}
    tables["alerts"] = pa.Table.from_pylist(alerts, results.RESULTS["alerts"].schema)
    tables["entity_risk"] = pa.Table.from_pylist(risk, results.RESULTS["entity_risk"].schema)
    return tables


def test_exported_cells_that_a_spreadsheet_would_run_are_defused(tmp_path):
    store = Store(tmp_path / "store")
    run = store.new_run(["x"], {})
    results.write(run.dir / "results.duckdb", _results_with(
        [{"alert_id": "-2+3", "pattern": "peer_outlier", "score": 1.0, "summary": '=HYPERLINK("http://x","y")',
          "evidence": "{}", "rank": 1}],
        [{"entity_type": "provider", "entity_id": "@SUM(A1)", "score": 1.0, "direct_score": 1.0,
          "network_score": 0.0, "alerts": 1, "reasons": "\t=1+1"}]))
    run.finish("succeeded")
    store.promote(run)
    export(store, tmp_path / "out")
    alerts = (tmp_path / "out" / "alerts.csv").read_text().splitlines()[1]
    risk = (tmp_path / "out" / "entity_risk.csv").read_text().splitlines()[1]
    assert alerts.startswith("'-2+3,peer_outlier,1.0,\"'=HYPERLINK(") and risk.startswith("provider,'@SUM(A1),1.0,'\t=1+1")
    with TestClient(create_app(store, parse_keys(KEYS, "t"))) as client:
        served = client.get("/api/v1/runs/current/export/alerts.csv", headers={"X-API-Key": ANALYST}).text
    assert served.splitlines()[1] == alerts


def test_damaged_records_block_nothing_and_ready_sees_a_cut_results_file(site, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(site["store"].root, root)
    store = Store(root)
    current = store.current()
    (root / "current.json").write_text('{"run_id": "2025')
    broken = store.new_run(["x"], {})
    (broken.dir / "run.json").write_text("{")
    with TestClient(create_app(store, parse_keys(KEYS, "t"))) as client:
        runs = client.get("/api/v1/runs", headers={"X-API-Key": ANALYST}).json()["data"]
        assert [r["status"] for r in runs][:2] == ["damaged", "succeeded"] and runs[1]["current"]
        assert client.get("/api/v1/ready").json() == {"status": "ready", "run_id": current}
        path = store.results_path(current)
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)
        r = client.get("/api/v1/ready")
        assert (r.status_code, r.json()) == (503, {"status": "the current run's results cannot be read", "run_id": None})
        listed = client.get("/api/v1/runs", headers={"X-API-Key": ANALYST}).json()["data"]
        assert listed[1]["status"] == "succeeded" and listed[1]["results"].startswith(
            "unreadable: the results file has ") and listed[0]["results"] is None


# --- 8. schedules -------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_schedule_with_relative_paths_runs_from_anywhere(region, tmp_path):
    (tmp_path / "extracts").mkdir()
    shutil.copytree(region["data"], tmp_path / "extracts" / "2025-12-31")
    (tmp_path / "schedule.toml").write_text('store = "store"\n[[jobs]]\nname = "nightly"\nsource = "extracts/*"\n'
                                            'cron = "0 2 * * *"\n[jobs.settings]\nwindow_days = 365\n')
    fraudnet = [sys.executable, "-m", "cli.main", "schedule"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    checked = subprocess.run(fraudnet + ["check", "--config", str(tmp_path / "schedule.toml")], cwd="/",
                             capture_output=True, text=True, env=env)
    assert checked.returncode == 0 and checked.stdout.endswith("valid\n")
    once = subprocess.run(fraudnet + ["once", "nightly", "--config", str(tmp_path / "schedule.toml")], cwd="/",
                          capture_output=True, text=True, env=env, timeout=600)
    assert once.returncode == 0, once.stderr
    assert json.loads(once.stdout)["status"] == "succeeded" and (tmp_path / "store" / "current.json").is_file()


def test_the_example_schedules_window_ends_at_the_data_not_today(region):
    from loaders.dataset import load_dataset
    from scheduler.schedule import load_schedule
    settings = load_schedule(REPO / "schedule.example.toml").jobs[0].settings
    assert settings.window_days == 365
    tables = load_dataset(region["data"]).tables
    from datetime import date
    start, end = window(tables, settings, today=date(2026, 6, 1))
    assert (str(start), str(end)) == ("2025-01-01", "2025-12-31")
