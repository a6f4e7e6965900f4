"""The engine interface (DuckDB side), the DuckDB → Spark translation, and the lint that refuses
statements that do not port. Runs without Spark (the `spark` tier is tests/test_spark.py)."""
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from engine import DUCKDB, ComputeError, Kept, capture, current, open_engine, query, use
from engine.statements import statements
from engine.translate import problems, to_spark

REPO = Path(__file__).resolve().parent.parent
# Where claims-scale SQL lives: the work (graph/), the run (runs/) and the cases (cases/).
SOURCES = sorted([*REPO.glob("graph/*.py"), *REPO.glob("runs/*.py"), *REPO.glob("cases/*.py")])


def test_query_runs_on_duckdb_by_default_and_captures_what_it_ran():
    t = pa.table({"x": [3, 1, 2]})
    assert current() is DUCKDB
    with capture() as seen:
        out = query("SELECT x FROM t WHERE x >= $m ORDER BY x", {"m": 2}, t=t)
    assert out.to_pylist() == [{"x": 2}, {"x": 3}]
    assert [(s.sql, s.params, list(s.tables)) for s in seen] == [
        ("SELECT x FROM t WHERE x >= $m ORDER BY x", {"m": 2}, ["t"])]
    assert seen[0].result.equals(out)


def test_use_selects_the_engine_for_the_block_only():
    class Recorder:
        name = "recorder"
        calls = []

        def run(self, sql, params, tables):
            self.calls.append(sql)
            return pa.table({"n": [7]})

        def close(self):
            pass

    r = Recorder()
    with use(r):
        assert query("SELECT 1 AS n").to_pylist() == [{"n": 7}]
    assert query("SELECT 1 AS n").to_pylist() == [{"n": 1}]
    assert r.calls == ["SELECT 1 AS n"]


def test_a_failing_statement_carries_its_sql():
    with pytest.raises(ComputeError, match="SELECT nope FROM t"):
        query("SELECT nope FROM t", t=pa.table({"x": [1]}))


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown engine 'oracle'"):
        open_engine("oracle")


def test_the_spark_engine_without_its_extra_says_what_to_install(monkeypatch):
    """The Spark engine's translator (sqlglot) and pyspark come with the extra `spark`: without
    them, a clear ComputeError naming it, not an ImportError from inside the engine."""
    import sys
    monkeypatch.delitem(sys.modules, "engine.spark", raising=False)
    monkeypatch.setitem(sys.modules, "sqlglot", None)          # as on an install without the extra
    with pytest.raises(ComputeError, match=r"needs the extra spark: pip install 'fraudnet\[spark\]'"):
        open_engine("spark")


def test_a_scan_on_spark_without_its_extra_is_refused_before_any_work(monkeypatch, tmp_path):
    import importlib.util

    from click.testing import CliRunner

    from cli.main import main
    from engine import missing
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    assert missing("duckdb") is None
    assert missing("spark") == ("the Spark engine needs the extra spark (pyspark missing): pip install "
                                "'fraudnet[spark]' (and Java 17 or later)")
    (tmp_path / "data").mkdir()
    out = CliRunner().invoke(main, ["scan", str(tmp_path / "data"), "--store", str(tmp_path / "store"),
                                    "--engine", "spark"])
    assert out.exit_code == 2 and "needs the extra spark (pyspark missing)" in out.output, out.output
    assert not (tmp_path / "store" / "runs").exists() or not list((tmp_path / "store" / "runs").iterdir())


def test_round_to_decimals_rounds_the_scaled_value_on_spark_as_duckdb_does():
    # Spark's round(x, 2) rounds the shortest decimal printing x half up (260.965 → 260.97, where
    # 0.5 × 521.93 is 260.96499…); DuckDB rounds x · 100 (26096.4999…) to 26096: the scaled form on Spark
    assert to_spark("SELECT round(sum(a) * 0.5, 2) AS r, round(b) AS n, round(c, 0) AS z FROM t") == \
        "SELECT ROUND((SUM(a) * 0.5) * 100, 0) / 100 AS r, ROUND(b) AS n, ROUND(c, 0) AS z FROM t"
    assert to_spark("SELECT format('{:.2f}', round(x, 2)) AS f FROM t") == \
        "SELECT FORMAT_STRING('%.2f', ROUND((x) * 100, 0) / 100) AS f FROM t"
    assert duckdb.sql("SELECT round(0.5 * 521.93::DOUBLE, 2) AS r, round(0.5 * 521.93::DOUBLE * 100, 0) / 100 AS s") \
        .fetchall() == [(260.96, 260.96)]


def test_a_division_divides_doubles_on_spark_as_duckdb_does():
    # Spark keeps (n + 0.5) / (n + 1) decimal (6 digits when the precision runs out); DuckDB divides doubles
    assert to_spark("SELECT (n + 0.5) / (n + 1) AS p FROM t") == \
        "SELECT CAST((n + 0.5) AS DOUBLE) / CAST((n + 1) AS DOUBLE) AS p FROM t"
    assert duckdb.sql("SELECT typeof(1.5 / 2) AS a, typeof(1.5::DECIMAL(10, 2) / 3::DECIMAL(10, 2)) AS b").fetchall() \
        == [("DOUBLE", "DOUBLE")]


def test_an_ordered_list_keeps_its_order_on_spark():
    listed = ("TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(d AS k0, c AS v)), (l, r) -> CASE "
              "WHEN l.k0 IS NULL AND NOT r.k0 IS NULL THEN 1 WHEN NOT l.k0 IS NULL AND r.k0 IS NULL THEN -1 "
              "WHEN l.k0 < r.k0 THEN 1 WHEN l.k0 > r.k0 THEN -1 ELSE 0 END), s -> s.v)")
    # over no rows DuckDB's list() is NULL, Spark's collect_list empty: an empty list becomes NULL
    sql = to_spark("SELECT list(c ORDER BY d DESC) AS l, list(DISTINCT p ORDER BY p) AS u FROM t")
    assert sql == (f"SELECT CASE WHEN SIZE({listed}) > 0 THEN {listed} END AS l, "
                   "CASE WHEN SIZE(ARRAY_SORT(COLLECT_SET(p))) > 0 THEN ARRAY_SORT(COLLECT_SET(p)) END AS u FROM t")
    # sqlglot alone drops the order: the rewrite is what keeps it
    import sqlglot
    assert sqlglot.transpile("SELECT list(c ORDER BY d) FROM t", read="duckdb", write="spark") == [
        "SELECT COLLECT_LIST(c) FROM t"]


def test_a_filtered_ordered_list_keeps_its_filter_on_the_aggregate():
    sql = to_spark("SELECT list(DISTINCT p ORDER BY p) FILTER (WHERE p IS NOT NULL) AS u FROM t")
    listed = "ARRAY_SORT(COLLECT_SET(p) FILTER(WHERE NOT p IS NULL))"
    assert sql == f"SELECT CASE WHEN SIZE({listed}) > 0 THEN {listed} END AS u FROM t"


def test_a_full_match_and_a_slice_of_an_ordered_list_are_translated():
    # RE2's full match as an anchored RLIKE (\z: Java's $ also matches before a final line break)
    assert to_spark(r"SELECT regexp_full_match(trim(x), '[0-9]+(\.0*)?') AS m FROM t") == \
        r"SELECT TRIM(x) RLIKE '^(?:[0-9]+(\\.0*)?)\\z' AS m FROM t"
    # a slice of an ordered list keeps the order (the list inside the slice is rewritten too)
    sql = to_spark("SELECT list(c ORDER BY d)[1:20] AS a, list_slice(list(c ORDER BY d), 2, 3) AS b FROM t")
    assert sql.startswith("SELECT SLICE(CASE WHEN SIZE(TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(d AS k0, c AS v))")
    assert sql.count("COLLECT_LIST") == 4 and "END, 1, (20) - (1) + 1) AS a" in sql and "END, 2, (3) - (2) + 1) AS b" in sql


def test_fmt_patterns_and_list_slices_are_translated():
    assert to_spark("SELECT format('€{:,.2f} ({}%)', x, y) AS f FROM t") == \
        "SELECT FORMAT_STRING('€%,.2f (%s%%)', x, y) AS f FROM t"
    assert to_spark("SELECT list_slice(l, 2, 4) AS s FROM t") == "SELECT SLICE(l, 2, (4) - (2) + 1) AS s FROM t"


def test_a_discrete_quantile_becomes_percentile_disc_within_group():
    assert to_spark("SELECT quantile_disc(a, $q) AS x FROM t") == \
        "SELECT PERCENTILE_DISC(:q) WITHIN GROUP (ORDER BY a NULLS LAST) AS x FROM t"


def test_a_computed_interval_of_days_becomes_make_dt_interval():
    assert to_spark("SELECT d + INTERVAL (q * $n) DAY AS e FROM t") == "SELECT d + MAKE_DT_INTERVAL((q * :n)) AS e FROM t"
    assert to_spark("SELECT d + INTERVAL 3 DAY FROM t") == "SELECT d + INTERVAL '3' DAY FROM t"


def test_not_in_a_subquery_becomes_an_anti_join_not_a_broadcast():
    sql = to_spark("SELECT * FROM b WHERE (b.p, b.a) NOT IN (SELECT (p, a) FROM l) AND b.x NOT IN (SELECT x FROM m)")
    assert sql == ("SELECT * FROM b WHERE NOT EXISTS(SELECT 1 FROM (SELECT p AS __nin_k0, a AS __nin_k1 FROM l) AS __nin "
                   "WHERE __nin.__nin_k0 = b.p AND __nin.__nin_k1 = b.a) AND NOT EXISTS(SELECT 1 FROM "
                   "(SELECT x AS __nin_k0 FROM m) AS __nin WHERE __nin.__nin_k0 = b.x)")


def test_the_rewrites_keep_duckdbs_answers():
    """The rewritten forms mean the same thing: checked on DuckDB itself (Spark's side is the
    `spark` tier)."""
    t = pa.table({"x": ["b", "a", "c", "a"], "d": [date(2024, 1, i) for i in (3, 1, 2, 4)], "q": [1, 2, None, 3]})
    sql = "SELECT x FROM t WHERE x NOT IN (SELECT x FROM t WHERE d > DATE '2024-01-02') ORDER BY x"
    rewritten = to_spark(sql).replace("NOT EXISTS(", "NOT EXISTS (")
    assert query(sql, t=t).to_pylist() == query(rewritten, t=t).to_pylist() == [{"x": "c"}]


def test_the_lint_refuses_what_does_not_port():
    assert problems("SELECT hash(x) AS h FROM t") == ["HASH(x): differs between engines or is missing on Spark"]
    assert problems("SELECT random() AS r FROM t")
    assert problems("SELECT * FROM t USING SAMPLE 10%")
    assert problems("SELECT list(DISTINCT x ORDER BY y) AS l FROM t") == [
        "ARRAY_AGG(DISTINCT x ORDER BY y): list(DISTINCT x ORDER BY …) is rewritten only when ordered by x itself"]
    assert problems("SELECT format('{:>10}', x) AS s FROM t") == ["format pattern '{:>10}' is not translated"]
    assert problems("SELECT quantile_cont(x, 0.5 ORDER BY x) AS q FROM t")
    assert problems("SELECT FROM WHERE")
    assert problems("SELECT len(l) AS n FROM t") == [
        "len(): Spark's length() takes strings only: write array_length() for a list, length() for a string"]
    assert problems("SELECT list(x ORDER BY d) AS l, count(*) AS n FROM t WHERE x NOT IN (SELECT y FROM u)") == []
    assert problems("SELECT regexp_full_match(x, p) AS m FROM t") == [
        "regexp_full_match() with a pattern that is not a literal"]
    assert problems("SELECT l[2:] AS s FROM t") == ["a list slice needs both of its ends to be translated"]
    # what the SNDS conversion used before it was portable
    assert problems("SELECT CAST(x AS HUGEINT) AS h FROM t") == [
        "HUGEINT: Spark has no 128-bit integer (write DECIMAL(38, 0))"]
    assert "accept different texts" in problems("SELECT try_strptime(x, ['%Y-%m-%d', '%d/%m/%Y']) AS d FROM t")[0]
    assert "DISTINCT ON without ORDER BY keeps any row" in problems("SELECT DISTINCT ON (a) * FROM t")[0]
    assert problems("SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b") == []
    assert problems("SELECT row_number() OVER (w ORDER BY b) AS r FROM t WINDOW w AS (PARTITION BY a)") == [
        "ROW_NUMBER() OVER (w ORDER BY b): a window extending a named window does not parse on Spark (write the "
        "window out)"]
    assert problems("SELECT sum(x) OVER w AS r FROM t WINDOW w AS (PARTITION BY a)") == []
    assert problems("SELECT regexp_replace(x, 'a', 'b') AS m FROM t") == [
        "REGEXP_REPLACE(x, 'a', 'b'): DuckDB replaces the first match, Spark every match: anchor the pattern (^ or $) "
        "or pass 'g'"]
    assert problems("SELECT regexp_replace(x, 'a$', '') AS m, regexp_replace(x, 'a', 'b', 'g') AS n FROM t") == []


def test_every_statement_is_readable_from_the_source():
    found = statements(SOURCES, REPO)
    assert len(found) >= 40          # the detectors, the graph, the network, the risk, the run
    assert {f.file.split("/")[0] for f in found} == {"graph", "runs"}   # cases/ reads no claims
    assert [f"{f.file}:{f.line}" for f in found if f.sql is None] == []


def test_every_statement_ports_to_spark():
    """The lint: each statement of graph/ and runs/ parses as DuckDB SQL and translates to Spark
    SQL with none of the constructs that do not port."""
    bad = {f"{f.file}:{f.line}": problems(f.sql) for f in statements(SOURCES, REPO)}
    assert {where: p for where, p in bad.items() if p} == {}


def test_every_snds_statement_ports_to_spark():
    """The lint on the SNDS conversion (`loaders/snds.py`), whose SQL is built by functions (the
    key normalisers), so read by running it: the example extract's conversion runs every one of
    its statements (each call site once, the detail tables' three times), and each ports."""
    from loaders.snds import DETAILS, read_snds
    held = statements([REPO / "loaders" / "snds.py"], REPO)
    with capture() as seen:
        read_snds(REPO / "loaders" / "examples" / "snds")
    ran = {s.sql for s in seen}
    assert len(ran) == len(held) + len(DETAILS) - 1 == 22
    assert {f.sql for f in held if f.sql is not None} <= ran
    bad = {sql.strip()[:200]: problems(sql) for sql in ran}
    assert {sql: p for sql, p in bad.items() if p} == {}


def test_a_statement_drawn_from_a_registry_stands_for_each_of_its_sql(tmp_path):
    (tmp_path / "m.py").write_text(
        "from dataclasses import dataclass\n"
        "@dataclass\nclass Stat:\n    name: str\n    sql: str\n"
        "_A = 'SELECT 1 AS a'\n"
        "SQL = {'a': _A, 'b': 'SELECT 2 AS b'}\n"
        "STATS: dict = {'x': Stat('x', 'SELECT 3 AS x'), 'y': Stat('y', sql=_A)}\n"
        "def f(query):\n"
        "    for k, sql in SQL.items():\n        query(sql)\n"
        "    stat = STATS['x']\n    query(stat.sql)\n"
        "    query(unknown)\n")
    assert [(f.line, f.sql) for f in statements([tmp_path / "m.py"], tmp_path)] == [
        (11, "SELECT 1 AS a"), (11, "SELECT 2 AS b"), (13, "SELECT 3 AS x"), (13, "SELECT 1 AS a"), (14, None)]


def test_no_sql_runs_outside_the_engine_in_a_scan():
    """graph/, runs/ and cases/ reach DuckDB only through `engine`: runs/results.py and
    runs/store.py write and read the run's results file (storage, not computation), and
    runs/pipeline.py imports it only to word its storage errors."""
    direct = [p.relative_to(REPO).as_posix() for p in SOURCES if "duckdb.connect(" in p.read_text()
              or ".sql(" in p.read_text()]
    assert direct == ["runs/results.py", "runs/store.py"]
    imported = [p.relative_to(REPO).as_posix() for p in SOURCES if "import duckdb" in p.read_text()]
    assert imported == ["runs/pipeline.py", "runs/results.py", "runs/store.py"]


def test_a_scan_engine_keeps_one_connection_and_no_statement_sees_another_ones_tables():
    engine = open_engine("duckdb", duckdb_conf={"threads": "1"})
    assert engine is not DUCKDB and engine.shared
    t = pa.table({"x": [1, 2]})
    with use(engine):
        assert query("SELECT current_setting('threads') AS n").to_pylist() == [{"n": 1}]
        query("SELECT count(*) AS n FROM t", t=t)
        first = engine._con
        assert query("SELECT sum(x) AS s FROM u", u=t).to_pylist() == [{"s": 3}]
        assert engine._con is first                  # the same connection, statement after statement
        with pytest.raises(ComputeError, match="FROM t"):
            query("SELECT * FROM t")                 # the previous statement's table is gone
    engine.close()
    assert engine._con is None
    assert query("SELECT current_setting('threads') > 0 AS ok").to_pylist() == [{"ok": True}]   # default: fresh


def test_a_setting_duckdb_refuses_is_a_compute_error():
    engine = open_engine("duckdb", duckdb_conf={"no_such_setting": "1"})
    with use(engine), pytest.raises(ComputeError, match="no_such_setting"):
        query("SELECT 1 AS n")


def _temporary_tables(engine) -> int:
    return engine._con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()[0][0]


def test_a_kept_result_stays_in_the_scan_engine_and_later_statements_read_it():
    engine = open_engine("duckdb", duckdb_conf={"threads": "1"})
    t = pa.table({"x": [3, 1, 2, 3], "y": ["a", "b", "c", "d"]})
    sql = "SELECT x, count(*) AS n, min(y) AS y FROM t GROUP BY x ORDER BY x"
    plain = query(sql, t=t)                           # the default engine
    with use(engine):
        kept = query(sql, keep=True, t=t)
        assert isinstance(kept, Kept) and kept.num_rows == 3 and kept.schema.equals(plain.schema)
        assert _temporary_tables(engine) == 1
        assert kept.to_arrow().equals(plain)          # in order, with query()'s types
        with capture() as seen:
            again = query("SELECT sum(x * n) AS s FROM k WHERE y <> $no", {"no": "b"}, k=kept)
        assert again.to_pylist() == [{"s": 8}]
        assert seen[0].tables["k"].equals(plain)      # recorded as Arrow: replayable on another engine
        with pytest.raises(ComputeError, match="FROM k"):
            query("SELECT * FROM k")                  # seen under its name by its statement only
        assert DUCKDB.run("SELECT count(*) AS n FROM k", {}, {"k": kept}).to_pylist() == [{"n": 3}]  # another engine: Arrow
        del kept, seen
        assert _temporary_tables(engine) == 0         # dropped with its last reference
    engine.close()


def test_the_default_engine_keeps_nothing():
    out = query("SELECT 1 AS n", keep=True)
    assert isinstance(out, pa.Table) and out.to_pylist() == [{"n": 1}]


def test_a_parquet_file_is_a_view_of_the_scan_engine_and_arrow_on_the_default(tmp_path):
    """`parquet()`: the load stage's claims, read by each statement from the file (nothing copied
    into the engine's memory); the default engine reads the file as Arrow."""
    import pyarrow.parquet as pq

    from engine import parquet
    t = pa.table({"x": pa.array([3, 1, 2], pa.int32()), "d": pa.array([date(2024, 1, 2)] * 3, pa.date32()),
                  "s": ["a", None, "c"]})
    pq.write_table(t, tmp_path / "t.parquet")
    plain = parquet(tmp_path / "t.parquet")
    assert isinstance(plain, pa.Table) and plain.equals(t)
    engine = open_engine("duckdb", duckdb_conf={"threads": "1"})
    with use(engine):
        kept = parquet(tmp_path / "t.parquet")
        assert isinstance(kept, Kept) and kept.num_rows == 3 and kept.schema.equals(t.schema)
        assert query("SELECT sum(x) AS n, count(s) AS s FROM c WHERE d = $d", {"d": date(2024, 1, 2)},
                     c=kept).to_pylist() == [{"n": 6, "s": 2}]
        assert kept.to_arrow().equals(t)
        views = "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name LIKE 'kept_%'"
        assert _temporary_tables(engine) == 0 and engine._con.execute(views).fetchall() == [(1,)]
        del kept
        assert engine._con.execute(views).fetchall() == [(0,)]      # dropped with its last reference
        with pytest.raises(ComputeError, match="cannot read the Parquet file"):
            parquet(tmp_path / "absent.parquet")
    engine.close()
