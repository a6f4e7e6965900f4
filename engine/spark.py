"""The Spark engine: each statement translated (`engine.translate`) and run by a Spark session.

Input Arrow tables are written once each to Parquet in the engine's scratch folder (the claims
table of a scan is shared by most statements: it is written once) and read by Spark as
temporary views — only the tables the statement names; `createDataFrame(pa.Table)` was measured
at 20 s for 135k claims on this machine, Parquet at under a second. The result comes back as
Arrow (`DataFrame.toArrow()`), and is given DuckDB's column names, order
and types: the schema DuckDB gives the same statement over the same tables emptied (a
zero-row run, milliseconds), so callers cannot tell the engines apart. A result kept
(`query(..., keep=True)`) is written by Spark to Parquet in the scratch folder and read back as
the DataFrame later statements see under their names (a `Kept`): it never passes through Python.

pyspark is the optional extra `spark` (`pip install 'fraudnet[spark]'`); it needs Java 17 or
later. Sources: the PySpark API reference (SparkSession.sql's `args` for named parameters,
DataFrame.toArrow), Spark's configuration page (https://spark.apache.org/docs/latest/configuration.html).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from . import DUCKDB, ComputeError, Kept, Table, arrow
from .translate import Unportable, parse, to_spark


class SparkEngine:
    """A Spark session on `master` (`local[*]`: every core of this machine; `spark://host:7077`,
    `yarn`, `k8s://…`: a cluster). `conf`: more Spark settings (e.g. `spark.driver.memory`),
    applied when the session is created. Raises `ComputeError` if pyspark is missing."""
    name = "spark"

    def __init__(self, master: str = "local[*]", conf: dict[str, str] | None = None):
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ComputeError("the Spark engine needs pyspark: pip install 'fraudnet[spark]' "
                               "(and Java 17 or later)") from None
        builder = SparkSession.builder.master(master).appName("fraudnet")
        local = master.startswith("local")
        settings = {
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            # a handful of shuffle partitions on one machine, Spark's default (200) on a cluster; a
            # local driver on the loopback (else large results are fetched through the host's
            # address, which timed out for 120 s a fetch on this machine)
            **({"spark.sql.shuffle.partitions": str(2 * (os.cpu_count() or 1)),
                "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"} if local else {}),
            **(conf or {}),
        }
        for key, value in settings.items():
            builder = builder.config(key, value)
        self.master = master
        self.scratch = tempfile.mkdtemp(prefix="fraudnet-spark-")
        self._frames: dict[int, tuple[pa.Table, object]] = {}   # id(table) → (table, its Spark DataFrame)
        # a session already running in this process (a notebook's, a test tier's) is used, and left
        # running on close: its SQL settings are applied to it, its JVM settings stay its own
        self._owned = SparkSession.getActiveSession() is None
        self.session = builder.getOrCreate()
        self.session.sparkContext.setLogLevel("ERROR")

    def run(self, sql: str, params: dict, tables: dict[str, Table], keep: bool = False) -> Table:
        try:
            text = to_spark(sql)
        except Unportable as e:
            raise ComputeError(f"{e}\n--- while translating ---\n{sql}") from e
        named = {t.name for t in parse(sql).find_all(exp.Table)}
        spark = self.session
        schema = DUCKDB.run(sql, params, {n: t.schema.empty_table() for n, t in tables.items()}).schema
        try:
            for name, table in tables.items():
                if name in named:
                    frame = table.frame if isinstance(table, Kept) and table.engine is self else self._frame(arrow(table))
                    frame.createOrReplaceTempView(name)
            result = spark.sql(text, args=params or None)
            if keep:      # DuckDB's column names, as later statements name them
                same = sorted(result.columns) == sorted(schema.names) and len(set(schema.names)) == len(schema)
                result = result.select(*schema.names) if same else result.toDF(*schema.names)
                path = os.path.join(self.scratch, uuid.uuid4().hex)
                result.write.parquet(path)
                kept = Kept(self, path, schema, 0, drop=lambda: shutil.rmtree(path, ignore_errors=True))
                kept.frame = spark.read.parquet(path)
                kept.num_rows = kept.frame.count()
                return kept
            out = result.toArrow()
        except Exception as e:          # py4j and pyspark raise many types; re-raised with the SQL
            raise ComputeError(f"{type(e).__name__}: {e}\n--- while running on Spark ---\n{text}") from e
        finally:
            for name in tables:
                spark.catalog.dropTempView(name)
        return _as_duckdb(out, schema)

    def fetch(self, kept: Kept) -> pa.Table:
        return _as_duckdb(kept.frame.toArrow(), kept.schema)

    def attach(self, path: str, columns: list[str] | None = None) -> Kept:
        """The Parquet file (or folder) at `path` (its `columns`, all by default) as a `Kept` read
        by Spark from there (on a cluster, `path` must be on storage every executor reads); its
        schema is DuckDB's for the same file, as `query()` would type it."""
        schema = DUCKDB.run("SELECT * FROM read_parquet($p) LIMIT 0", {"p": str(path)}, {}).schema
        if columns:
            schema = pa.schema([schema.field(c) for c in columns])
        try:
            frame = self.session.read.parquet(str(path))
            if columns:
                frame = frame.select(*columns)
            kept = Kept(self, str(path), schema, frame.count())
        except Exception as e:          # py4j and pyspark raise many types
            raise ComputeError(f"Spark cannot read the Parquet file {path}: {type(e).__name__}: {e}") from e
        kept.frame = frame
        return kept

    def _frame(self, table: pa.Table):
        """`table` as a Spark DataFrame over a Parquet folder in the scratch folder, written and
        read once per table object (a scan passes the same claims table to most statements)."""
        if id(table) not in self._frames:
            path = os.path.join(self.scratch, uuid.uuid4().hex)
            os.mkdir(path)
            pq.write_table(_spark_ready(table), os.path.join(path, "part-0.parquet"))
            self._frames[id(table)] = (table, self.session.read.parquet(path))   # the table is held: its id stays unique
        return self._frames[id(table)][1]

    def close(self) -> None:
        """Drop the scratch folder; stop the session if this engine started it."""
        if self._owned:
            self.session.stop()
        self._frames.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _spark_ready(table: pa.Table) -> pa.Table:
    """Arrow types Spark does not take, as ones it does (null-typed columns as strings,
    large strings as strings)."""
    cols = []
    for f, col in zip(table.schema, table.columns):
        if pa.types.is_null(f.type) or pa.types.is_large_string(f.type):
            col = col.cast(pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _as_duckdb(out: pa.Table, schema: pa.Schema) -> pa.Table:
    """`out` with `schema`'s names, order and types (by name when the names match as a set,
    else by position)."""
    if len(out.column_names) != len(schema):
        raise ComputeError(f"Spark returned {len(out.column_names)} columns, DuckDB {len(schema)}")
    if sorted(out.column_names) == sorted(schema.names) and len(set(schema.names)) == len(schema):
        out = out.select(schema.names)
    else:
        out = out.rename_columns(schema.names)
    # a column DuckDB types as NULL (a bare `NULL AS note`) comes back from Spark as strings
    # (or void), all null: given DuckDB's null type
    out = pa.table([pa.nulls(out.num_rows, pa.null()) if pa.types.is_null(f.type) and col.null_count == len(col)
                    else col for f, col in zip(schema, out.columns)], names=schema.names)
    try:
        return out.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ComputeError(f"Spark's result does not cast to DuckDB's types: {e}") from e
