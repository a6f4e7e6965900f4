"""The `spark` tier: a scan on Spark (local master) in this process, every statement it runs
replayed on DuckDB with the same inputs and compared row for row, value for value (floats bit for
bit: a tolerance is what hid euros summed in another order feeding a threshold); the statements a
scan on Spark does not run replayed on Spark; and what the Spark scan publishes equal to what the
DuckDB scan publishes.

`make test` installs pyspark (the extra `spark`) and needs Java 17 or later on the PATH. One local
Spark session serves the whole tier (its driver capped at 2 GB: the machine is shared): the scan's
engine finds it running and leaves it running. Spark's cost is per statement, not per row, at this
size: the region is scanned once on Spark, and DuckDB (milliseconds a statement) does the replays.
"""
import csv
import math
import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from contract.vocab import PATTERNS
from engine import DUCKDB, capture, use
from engine.spark import SparkEngine
from engine.statements import statements
from engine.translate import parse
from graph.impact import measure
from loaders.dataset import load_dataset
from graph.model import in_window
from publish.export import export
from runs.pipeline import scan, window
from runs.campaigns import read_campaigns
from runs.settings import RunSettings
from runs.store import Store

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted([*REPO.glob("graph/*.py"), *REPO.glob("runs/*.py"), *REPO.glob("cases/*.py")])
# the driver capped (the machine is shared); whole-stage code generation off: at this size, compiling
# each statement's Java costs more than it saves (Spark's configuration page)
SPARK_CONF = {"spark.driver.memory": "2g", "spark.sql.codegen.wholeStage": "false"}
PATIENTS = 5000          # the generator's least (every planted pattern)


@pytest.fixture(scope="module")
def spark():
    """The tier's one Spark session (local master, driver capped)."""
    engine = SparkEngine("local[*]", SPARK_CONF)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def small(tmp_path_factory, spark):
    """A small generated region scanned on DuckDB (the previous run), then again with the example
    campaigns on DuckDB and, from a copy of the store (the same secret and previous run), on Spark
    (the change report's and the campaigns' statements run too); then, on Spark, the impact of a
    decision on one alert of each pattern and a rolling window cut. Every statement captured,
    with the engine it ran on; both scans exported."""
    from loaders.synthetic import generate
    root = tmp_path_factory.mktemp("spark")
    data = root / "data"
    generate(data, patients=PATIENTS, seed=11)
    campaigns = read_campaigns(REPO / "campaigns")
    settings = RunSettings(checks={"enabled": False}, campaigns=campaigns)
    store = Store(root / "duckdb-store")
    with capture() as on_duckdb:
        first = scan(data, store)
        shutil.copytree(store.root, root / "spark-store")
        second = scan(data, store, settings)
    export(store, root / "duckdb")
    with store.connect() as con:
        picked = con.execute("SELECT pattern, min(alert_id) AS alert_id FROM alerts GROUP BY 1 ORDER BY 1").fetchall()
        watches = [{"case_id": f"C-{i:05d}", "pattern": pattern, "decided_on": date(2025, 7, 1),
                    "entities": [{"entity_type": t, "entity_id": e} for t, e in con.execute(
                        "SELECT entity_type, entity_id FROM alert_entities WHERE alert_id = ? ORDER BY 1, 2",
                        [alert_id]).fetchall()]}
                   for i, (pattern, alert_id) in enumerate(picked)]
    tables = load_dataset(data).tables
    spark_store = Store(root / "spark-store")
    with capture() as on_spark:
        third = scan(data, spark_store, settings.model_copy(update={"engine": "spark", "spark_conf": SPARK_CONF}))
        with use(spark):
            measure(tables, pa.Table.from_pylist(watches), campaigns=campaigns)
            in_window(tables, *window(tables, RunSettings(window_days=365)))      # the window's statements
    assert first["status"] == second["status"] == third["status"] == "succeeded", third.get("error")
    export(spark_store, root / "spark")
    return {"root": root, "on_duckdb": on_duckdb, "on_spark": on_spark, "patterns": [p for p, _ in picked],
            "duckdb": store.get_run(store.current()), "spark": spark_store.get_run(spark_store.current())}


def _same(a, b) -> bool:
    """Equal values; floats bit for bit (NaN equal to NaN)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _ordered(sql: str) -> bool:
    """Whether the statement's result has an order (an ORDER BY on its outermost query)."""
    return parse(sql).args.get("order") is not None


def _differs(sql: str, want: pa.Table, got: pa.Table) -> str | None:
    """How `got` (one engine's result) differs from `want` (the other's), or None."""
    if not got.schema.equals(want.schema):
        return f"schema {got.schema} != {want.schema}"
    want_rows, got_rows = want.to_pylist(), got.to_pylist()
    if not _ordered(sql):
        want_rows, got_rows = sorted(want_rows, key=repr), sorted(got_rows, key=repr)
    if len(want_rows) != len(got_rows):
        return f"{len(want_rows)} rows against {len(got_rows)}"
    bad = [(i, k, a[k], b[k]) for i, (a, b) in enumerate(zip(want_rows, got_rows)) for k in a if not _same(a[k], b[k])]
    return f"{len(bad)} values differ, first {bad[:3]}" if bad else None


def test_the_captured_statements_cover_every_statement_of_the_code(small):
    held = {f.sql for f in statements(SOURCES, REPO)}
    ran = {s.sql for s in small["on_spark"]} | {s.sql for s in small["on_duckdb"]}
    assert held - ran == set()
    assert set(small["patterns"]) == set(PATTERNS)    # the impact of each pattern's statistic was measured


def test_every_statement_gives_the_same_rows_on_both_engines(small, spark):
    """Every call made on Spark replayed on DuckDB with its inputs; each distinct statement only
    the DuckDB scans ran, replayed on Spark with the inputs of its last call that returned rows."""
    differ, empty = [], set()
    for s in small["on_spark"]:
        problem = _differs(s.sql, DUCKDB.run(s.sql, s.params, s.tables), s.result)
        if problem:
            differ.append((problem, s.sql.strip()[:300]))
        if not s.result.num_rows:
            empty.add(s.sql)
    ran_on_spark = {s.sql for s in small["on_spark"]}
    empty -= {s.sql for s in small["on_spark"] if s.result.num_rows}      # empty in one call, not in all
    last = {}
    for s in small["on_duckdb"]:
        if s.sql not in ran_on_spark and (s.result.num_rows or s.sql not in last or not last[s.sql].result.num_rows):
            last[s.sql] = s
    for s in last.values():
        try:
            problem = _differs(s.sql, s.result, spark.run(s.sql, s.params, s.tables))
        except Exception as e:
            problem = f"{type(e).__name__}: {str(e)[:300]}"
        if problem:
            differ.append((problem, s.sql.strip()[:300]))
        if not s.result.num_rows:
            empty.add(s.sql)
    assert differ == []
    distinct = ran_on_spark | set(last)
    assert len(distinct) >= 60
    assert len(empty) <= len(distinct) // 10, [e.strip()[:120] for e in empty]   # nearly all compared real rows


def _rows(folder: Path) -> dict[str, list[dict]]:
    out = {}
    for f in sorted(folder.glob("*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            out[f.name] = list(csv.DictReader(fh))
    return out


def test_a_scan_on_spark_publishes_what_a_scan_on_duckdb_publishes(small):
    """The same region, settings and previous run: the same CSV files, row for row
    (alerts with their scores, entities, communities, risks, evidence…), the same change report."""
    duck, spark = _rows(small["root"] / "duckdb"), _rows(small["root"] / "spark")
    assert set(duck) >= {"alerts.csv", "alert_entities.csv", "communities.csv", "entity_risk.csv"}
    assert set(duck) == set(spark)
    for name in duck:
        assert spark[name] == duck[name], name
    assert len(duck["alerts.csv"]) > 10 and len(duck["communities.csv"]) > 0
    record = small["spark"]
    assert (record["settings"]["engine"], record["settings"]["spark_master"]) == ("spark", "local[*]")
    assert small["duckdb"]["settings"]["engine"] == "duckdb"
    assert record["changes"] == small["duckdb"]["changes"]
    assert record["counts"] == small["duckdb"]["counts"]


def test_round_gives_duckdbs_cents_on_spark(spark):
    """Values a hair below a half cent (0.5 × 521.93 is 260.96499…): Spark's own round() gives
    260.97, DuckDB's 260.96; the translation gives DuckDB's on both."""
    t = pa.table({"a": [521.93, 0.29, 2.675, 1.005, 0.0]})
    sql = "SELECT a, round(0.5 * a, 2) AS half, round(a * 3, 1) AS tenth, round(a) AS whole FROM t ORDER BY a"
    want = DUCKDB.run(sql, {}, {"t": t})
    assert want.column("half").to_pylist()[-1] == 260.96
    assert spark.run(sql, {}, {"t": t}).equals(want)
    # a division of decimals (0.5 is one on both engines) is one of doubles on both
    sql = "SELECT round(sum((a + 0.5) / (a + 1)), 9) AS e, sum((a + 0.5) / (a + 1)) AS f FROM t"
    assert spark.run(sql, {}, {"t": t}).equals(DUCKDB.run(sql, {}, {"t": t}))
