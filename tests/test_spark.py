"""The `spark` tier: every statement of a scan run on DuckDB and on Spark (local master) and
compared row for row; a scan with `--engine spark` publishes what the default one publishes.

`make test` installs pyspark (the extra `spark`) and needs Java 17 or later on the PATH.
"""
import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest

from engine import capture, open_engine
from engine.statements import statements
from engine.translate import parse
from runs.pipeline import scan
from runs.settings import RunSettings
from runs.store import Store

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parent.parent
FRAUDNET = Path(sys.executable).parent / "fraudnet"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small generated region scanned twice on DuckDB (the second scan has a previous run,
    so the change report's statements run too), every statement captured."""
    from loaders.synthetic import generate
    root = tmp_path_factory.mktemp("spark")
    generate(root / "data", patients=5000, seed=11)
    store = Store(root / "store")
    with capture() as seen:
        first = scan(root / "data", store)
        second = scan(root / "data", store, RunSettings(checks={"enabled": False}))
    assert first["status"] == second["status"] == "succeeded"
    return {"root": root, "statements": seen, "store": store}


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
    held = {f.sql for f in statements(sorted([*REPO.glob("graph/*.py"), *REPO.glob("runs/*.py")]), REPO)}
    ran = {s.sql for s in small["statements"]}
    assert held - ran == set()


def test_every_statement_gives_the_same_rows_on_spark(small):
    """Each distinct statement once, with its inputs from its last call (the second scan's: the
    change report then has a previous run to compare with)."""
    last = {s.sql: s for s in small["statements"]}
    spark = open_engine("spark")
    try:
        differ = []
        for i, s in enumerate(last.values()):
            got = spark.run(s.sql, s.params, s.tables)
            assert got.schema.equals(s.result.schema), (i, s.sql)
            want_rows, got_rows = s.result.to_pylist(), got.to_pylist()
            if not _ordered(s.sql):
                want_rows, got_rows = sorted(want_rows, key=repr), sorted(got_rows, key=repr)
            if not _same(want_rows, got_rows):
                differ.append((i, s.sql.strip()[:200]))
        assert differ == []
        assert len(last) >= 40
    finally:
        spark.close()


def _rows(folder: Path) -> dict[str, list[dict]]:
    out = {}
    for f in sorted(folder.glob("*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            out[f.name] = list(csv.DictReader(fh))
    return out


def test_a_scan_on_spark_publishes_what_a_scan_on_duckdb_publishes(small, tmp_path):
    """Both scans go into one store (one secret for opaque alert ids, stable community ids):
    the Spark run is the second, so its change report must also show nothing new or gone."""
    data, store = small["root"] / "data", tmp_path / "store"
    for engine in ("duckdb", "spark"):
        done = subprocess.run([str(FRAUDNET), "scan", str(data), "--store", str(store),
                               "--export", str(tmp_path / engine), "--engine", engine],
                              capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
    duck, spark = _rows(tmp_path / "duckdb"), _rows(tmp_path / "spark")
    assert set(duck) >= {"alerts.csv", "communities.csv", "entity_risk.csv"} and set(duck) == set(spark)
    for name in duck:
        assert spark[name] == duck[name], name
    assert len(duck["alerts.csv"]) > 10
    record = Store(store).get_run(Store(store).current())
    assert (record["settings"]["engine"], record["settings"]["spark_master"]) == ("spark", "local[*]")
    assert record["changes"] == "0 new, 0 escalated, 0 resolved alert(s); 0 new, 0 dissolved communities"
