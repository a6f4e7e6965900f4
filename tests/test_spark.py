"""The `spark` tier: every distinct statement of a scan run on DuckDB and replayed on Spark (local
master), compared row for row; a scan with `--engine spark` publishes what the default one does.

`make test` installs pyspark (the extra `spark`) and needs Java 17 or later on the PATH. One local
Spark session serves the whole tier (its driver capped at 2 GB: the machine is shared); each
distinct statement is replayed once, as Spark's cost is per statement, not per row, at this size.
"""
import csv
import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from contract.vocab import PATTERNS
from engine import capture, open_engine
from engine.spark import SparkEngine
from engine.statements import statements
from engine.translate import parse
from graph.impact import measure
from loaders.dataset import load_dataset
from graph.model import in_window
from runs.pipeline import scan, window
from runs.campaigns import read_campaigns
from runs.settings import RunSettings
from runs.store import Store

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parent.parent
FRAUDNET = Path(sys.executable).parent / "fraudnet"
SOURCES = sorted([*REPO.glob("graph/*.py"), *REPO.glob("runs/*.py"), *REPO.glob("cases/*.py")])
# the driver capped (the machine is shared); whole-stage code generation off: at this size, compiling
# each statement's Java costs more than it saves (Spark's configuration page)
SPARK_CONF = {"spark.driver.memory": "2g", "spark.sql.codegen.wholeStage": "false"}
PATIENTS = 5000          # the generator's least (every planted pattern)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small generated region scanned twice on DuckDB (the second scan has a previous run, so
    the change report's statements run too), then the impact of a decision on one alert of each
    pattern measured on it, and a rolling window cut: every statement captured."""
    from loaders.synthetic import generate
    root = tmp_path_factory.mktemp("spark")
    generate(root / "data", patients=PATIENTS, seed=11)
    store = Store(root / "store")
    campaigns = read_campaigns(Path(__file__).resolve().parent.parent / "campaigns")   # their statements too
    with capture() as seen:
        first = scan(root / "data", store)
        second = scan(root / "data", store, RunSettings(checks={"enabled": False}, campaigns=campaigns))
        assert first["status"] == second["status"] == "succeeded"
        with store.connect() as con:
            picked = con.execute("SELECT pattern, min(alert_id) AS alert_id FROM alerts GROUP BY 1 ORDER BY 1").fetchall()
            watches = [{"case_id": f"C-{i:05d}", "pattern": pattern, "decided_on": date(2025, 7, 1),
                        "entities": [{"entity_type": t, "entity_id": e} for t, e in con.execute(
                            "SELECT entity_type, entity_id FROM alert_entities WHERE alert_id = ? ORDER BY 1, 2",
                            [alert_id]).fetchall()]}
                       for i, (pattern, alert_id) in enumerate(picked)]
        tables = load_dataset(root / "data").tables
        measure(tables, pa.Table.from_pylist(watches), campaigns=campaigns)
        in_window(tables, *window(tables, RunSettings(window_days=365)))      # the window's statements
    return {"root": root, "statements": seen, "store": store, "patterns": [p for p, _ in picked]}


@pytest.fixture(scope="module")
def spark():
    """The tier's one Spark session (local master, driver capped)."""
    engine = SparkEngine("local[*]", SPARK_CONF)
    yield engine
    engine.close()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _ordered(sql: str) -> bool:
    """Whether the statement's result has an order (an ORDER BY on its outermost query)."""
    return parse(sql).args.get("order") is not None


def test_the_captured_scan_covers_every_statement_of_the_code(small):
    held = {f.sql for f in statements(SOURCES, REPO)}
    ran = {s.sql for s in small["statements"]}
    assert held - ran == set()
    assert set(small["patterns"]) == set(PATTERNS)    # the impact of each pattern's statistic was measured


def test_every_statement_gives_the_same_rows_on_spark(small, spark):
    """Each distinct statement once, with the inputs of its last call that returned rows (else
    its last call), so that the comparison compares something."""
    last = {}
    for s in small["statements"]:
        if s.result.num_rows or s.sql not in last or not last[s.sql].result.num_rows:
            last[s.sql] = s
    differ, empty = [], []
    for i, s in enumerate(last.values()):
        try:
            got = spark.run(s.sql, s.params, s.tables)
        except Exception as e:
            differ.append((i, f"{type(e).__name__}: {str(e)[:300]}", s.sql.strip()[:300]))
            continue
        if not got.schema.equals(s.result.schema):
            differ.append((i, f"schema {got.schema} != {s.result.schema}", s.sql.strip()[:300]))
            continue
        want_rows, got_rows = s.result.to_pylist(), got.to_pylist()
        if not _ordered(s.sql):
            want_rows, got_rows = sorted(want_rows, key=repr), sorted(got_rows, key=repr)
        if not _same(want_rows, got_rows):
            differ.append((i, f"{len(want_rows)} rows on DuckDB, {len(got_rows)} on Spark", s.sql.strip()[:300]))
        if not want_rows:
            empty.append(s.sql.strip()[:120])
    assert differ == []
    assert len(last) >= 60
    assert len(empty) <= len(last) // 10, empty       # nearly every statement compared real rows


def _rows(folder: Path) -> dict[str, list[dict]]:
    out = {}
    for f in sorted(folder.glob("*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            out[f.name] = list(csv.DictReader(fh))
    return out


@pytest.mark.xfail(reason="open (issue #19): on the generator's region since it plants the control programmes, "
                          "one pharmacy_collusion alert is missing from the Spark scan and two mega_consumer billers "
                          "come in another order (measured 2026-11-30); every statement alone agrees")
def test_a_scan_on_spark_publishes_what_a_scan_on_duckdb_publishes(small, tmp_path):
    """Both scans go into one store (one secret for opaque alert ids, stable community ids):
    the Spark run is the second, so its change report must also show nothing new or gone."""
    data, store = small["root"] / "data", tmp_path / "store"
    (tmp_path / "settings.json").write_text(json.dumps({"spark_conf": SPARK_CONF}))
    for engine in ("duckdb", "spark"):
        done = subprocess.run([str(FRAUDNET), "scan", str(data), "--store", str(store), "--settings",
                               str(tmp_path / "settings.json"), "--export", str(tmp_path / engine), "--engine", engine],
                              capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
    duck, spark = _rows(tmp_path / "duckdb"), _rows(tmp_path / "spark")
    assert set(duck) >= {"alerts.csv", "alert_entities.csv", "communities.csv", "entity_risk.csv"}
    assert set(duck) == set(spark)
    for name in duck:
        assert spark[name] == duck[name], name
    assert len(duck["alerts.csv"]) > 10 and len(duck["communities.csv"]) > 0
    record = Store(store).get_run(Store(store).current())
    assert (record["settings"]["engine"], record["settings"]["spark_master"]) == ("spark", "local[*]")
    assert record["changes"] == "0 new, 0 escalated, 0 resolved alert(s); 0 new, 0 dissolved communities"
