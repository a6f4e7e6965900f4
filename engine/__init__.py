"""Where claims-scale SQL runs: one `query()` over Arrow tables, on the engine of the scan.

Graph and run code call `query(sql, params, name=table, ...)` with SQL written once, in DuckDB's
dialect, with `$name` parameters; it runs on the **current engine**:

- `DuckDBEngine`: outside a scan (the default engine, `DUCKDB`), a fresh in-memory DuckDB
  connection per call; a scan's (`open_engine("duckdb", ...)`) holds one in-memory connection for
  the whole scan (opening one costs milliseconds, and a scan runs about a hundred statements),
  with the input tables registered for the statement only, so functions built on it stay pure
  functions of their input tables either way;
- `SparkEngine` (`engine.spark`, the optional extra `spark`): the same statement translated to
  Spark SQL (`engine.translate`) and run by a Spark session (local master by default).

A statement whose result only feeds further statements (claims-scale intermediates: patient-days,
carers, the provider–patient pairs…) is run with `query(..., keep=True)`: a scan's engine keeps
its result as a table of its own (`Kept`: a DuckDB temporary table, spilling to the scan's
temporary folder past DuckDB's memory limit; on Spark, a Parquet folder read as a view) that
later statements take like an Arrow table, and only `Kept.to_arrow()` brings it into Python. The
stateless default engine keeps nothing: there `keep=True` returns Arrow, so graph functions stay
pure functions of their input tables either way. A Parquet file becomes such a table with
`parquet(path)`: a scan's claims, written by the load stage, are read by every statement from
there (a DuckDB view over the file; on Spark, a DataFrame over it), never held in Python.

A scan selects its engine once (`with use(open_engine("spark", master))`, done by
`runs.pipeline.execute` from the run's settings); the graph code does not know which one runs.
`capture()` records every statement with its parameters, input tables and result (the `spark`
test tier replays them on both engines). The engine is held in a context variable, not passed
through every detector: a scan runs in one thread of its own process (`runs.worker`).
"""
from __future__ import annotations

import itertools
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol, Union

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

ENGINES = ("duckdb", "spark")


class ComputeError(RuntimeError):
    """A query failed; the SQL is attached so the failing step can be read."""


class Kept:
    """A statement's result held by the engine that ran it (`query(..., keep=True)`): `schema`
    (DuckDB's Arrow types, as `query()` would have returned them), `num_rows`; passed to
    `query()` like an Arrow table (on the engine that holds it; on another, as `to_arrow()`).
    Dropped from the engine when the last reference to it goes."""
    _names = itertools.count(1)

    def __init__(self, engine: "Engine", name: str, schema: pa.Schema, num_rows: int, drop=None):
        self.engine, self.name, self.schema, self.num_rows = engine, name, schema, num_rows
        if drop is not None:
            weakref.finalize(self, drop)

    @property
    def column_names(self) -> list[str]:
        return self.schema.names

    def to_arrow(self) -> pa.Table:
        """The whole table in Python, as Arrow."""
        return self.engine.fetch(self)

    def __repr__(self) -> str:
        return f"Kept({self.name}: {self.num_rows:,} rows on {self.engine.name})"


Table = Union[pa.Table, Kept]


def arrow(table: Table) -> pa.Table:
    """`table` as Arrow (a `Kept` fetched from its engine)."""
    return table.to_arrow() if isinstance(table, Kept) else table


class Engine(Protocol):
    """Runs one statement of DuckDB-dialect SQL over named tables (Arrow, or `Kept` by this
    engine) and returns an Arrow table with DuckDB's column names, order and types — or, with
    `keep`, a `Kept` when the engine can hold tables."""
    name: str

    def run(self, sql: str, params: dict, tables: dict[str, Table], keep: bool = False) -> Table: ...

    def fetch(self, kept: Kept) -> pa.Table: ...

    def attach(self, path: str, columns: list[str] | None = None) -> Table: ...

    def close(self) -> None: ...


class DuckDBEngine:
    """DuckDB in memory. `shared=False` (the default engine): a fresh connection per statement,
    no state. `shared=True` (a scan's engine): one connection, opened at the first statement and
    closed by `close()`, configured by `conf` (DuckDB's settings as its configuration page names
    them, e.g. `threads`, `memory_limit`, `temp_directory`: where intermediates larger than the
    memory limit spill). Each statement's input tables are registered under their names before
    it and unregistered after it, so no statement sees another's tables; a `Kept` input is its
    temporary table, seen under the statement's name through a temporary view for the
    statement only. `keep=True` on the shared connection stores the result as a temporary table
    (`CREATE TEMPORARY TABLE … AS`), dropped when its `Kept` is freed. Not for concurrent use:
    a scan runs its statements one after the other in one thread (`runs.worker`).
    Source: DuckDB's Python API (`DuckDBPyConnection.register`, `unregister`), its
    `CREATE TABLE` and `CREATE VIEW` statements, and configuration pages
    (https://duckdb.org/docs/configuration/overview)."""
    name = "duckdb"

    def __init__(self, shared: bool = False, conf: dict[str, str] | None = None):
        self.shared = shared
        self.conf = dict(conf or {})
        self._con: duckdb.DuckDBPyConnection | None = None

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if not self.shared:
            return duckdb.connect(config=self.conf)
        if self._con is None:
            self._con = duckdb.connect(config=self.conf)
        return self._con

    def run(self, sql: str, params: dict, tables: dict[str, Table], keep: bool = False) -> Table:
        try:
            con = self._connect()
        except duckdb.Error as e:
            raise ComputeError(f"DuckDB refused its settings {sorted(self.conf)}: {e}") from e
        views = []
        try:
            for name, table in tables.items():
                if isinstance(table, Kept) and table.engine is self and self.shared:
                    con.execute(f'CREATE OR REPLACE TEMPORARY VIEW "{name}" AS SELECT * FROM "{table.name}"').fetchall()
                    views.append(name)
                else:
                    con.register(name, arrow(table))
            if not (keep and self.shared):
                return con.sql(sql, params=params or None).to_arrow_table()
            kept = f"kept_{next(Kept._names)}"
            con.execute(f'CREATE TEMPORARY TABLE "{kept}" AS {sql}', params or None).fetchall()
            schema = con.sql(f'SELECT * FROM "{kept}" LIMIT 0').to_arrow_table().schema
            rows = con.execute(f'SELECT count(*) FROM "{kept}"').fetchall()[0][0]
            return Kept(self, kept, schema, rows, drop=lambda: self._drop(kept))
        except duckdb.Error as e:
            raise ComputeError(f"{e}\n--- while running ---\n{sql}") from e
        finally:
            if self.shared:
                for name in tables:
                    if name in views:
                        con.execute(f'DROP VIEW IF EXISTS "{name}"').fetchall()
                    else:
                        con.unregister(name)
            else:
                con.close()

    def fetch(self, kept: Kept) -> pa.Table:
        return self._connect().sql(f'SELECT * FROM "{kept.name}"').to_arrow_table()

    def attach(self, path: str, columns: list[str] | None = None) -> Table:
        """The Parquet file at `path` (its `columns`, all by default) as a table: on the shared
        connection a `Kept` that is a temporary view over the file (each statement reads the
        columns it names from the file; nothing is held in memory between statements), else the
        file read as Arrow (pyarrow)."""
        if not self.shared:
            return pq.read_table(path, columns=columns)
        con = self._connect()
        name = f"kept_{next(Kept._names)}"
        literal = "'" + str(Path(path).resolve()).replace("'", "''") + "'"   # a view's text takes no parameter
        try:
            wanted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns) if columns else "*"
            con.execute(f'CREATE TEMPORARY VIEW "{name}" AS SELECT {wanted} FROM read_parquet({literal})').fetchall()
            schema = con.sql(f'SELECT * FROM "{name}" LIMIT 0').to_arrow_table().schema
            rows = con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]     # from the file's footer
        except duckdb.Error as e:
            raise ComputeError(f"DuckDB cannot read the Parquet file {path}: {e}") from e
        return Kept(self, name, schema, rows, drop=lambda: self._drop(name, "VIEW"))

    def _drop(self, name: str, kind: str = "TABLE") -> None:
        if self._con is not None:
            self._con.execute(f'DROP {kind} IF EXISTS "{name}"').fetchall()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


DUCKDB = DuckDBEngine()


@dataclass
class Statement:
    """One call of `query()`, as `capture()` records it."""
    sql: str
    params: dict
    tables: dict[str, pa.Table]      # a `Kept` input or result recorded as Arrow
    result: pa.Table = field(repr=False)


_current: ContextVar[Engine] = ContextVar("fraudnet_engine", default=DUCKDB)
_captures: ContextVar[tuple[list, ...]] = ContextVar("fraudnet_captures", default=())


def query(sql: str, params: dict | None = None, *, keep: bool = False, **tables: Table) -> Table:
    """Run `sql` (DuckDB dialect, `$name` parameters from `params`) over the `tables` (Arrow, or
    `Kept`), each visible under its keyword's name, on the current engine. Returns an Arrow
    table; with `keep`, a `Kept` held by the engine when it can hold tables (a scan's), else
    Arrow. Raises `ComputeError` (the SQL attached) when the statement fails."""
    out = _current.get().run(sql, dict(params or {}), tables, keep) if keep else \
        _current.get().run(sql, dict(params or {}), tables)
    for sink in _captures.get():
        sink.append(Statement(sql, dict(params or {}), {n: arrow(t) for n, t in tables.items()}, arrow(out)))
    return out


def parquet(path: str | Path, columns: list[str] | None = None) -> Table:
    """The Parquet file at `path` (its `columns` in that order, all by default: the load stage's
    file also holds each claim's line) as a table of the current engine: on a scan's engine a
    `Kept` read from the file by each statement (DuckDB's `read_parquet`, Spark's `read.parquet`;
    the file must outlive the `Kept`), on the stateless default engine the file read as Arrow.
    Raises `ComputeError` when the engine cannot read it."""
    return _current.get().attach(str(path), columns)


def current() -> Engine:
    """The engine `query()` runs on now."""
    return _current.get()


@contextmanager
def use(engine: Engine) -> Iterator[Engine]:
    """Run every `query()` inside the block on `engine`."""
    token = _current.set(engine)
    try:
        yield engine
    finally:
        _current.reset(token)


@contextmanager
def capture() -> Iterator[list[Statement]]:
    """Record every `query()` inside the block, in call order."""
    sink: list[Statement] = []
    token = _captures.set(_captures.get() + (sink,))
    try:
        yield sink
    finally:
        _captures.reset(token)


def missing(name: str) -> str | None:
    """Why the engine `name` cannot run on this install (None: it can), said before any work:
    the Spark engine needs the optional extra `spark` (pyspark, and sqlglot, its translator)."""
    if name != "spark":
        return None
    import importlib.util
    absent = [m for m in ("pyspark", "sqlglot") if importlib.util.find_spec(m) is None]
    return (f"the Spark engine needs the extra spark ({', '.join(absent)} missing): pip install 'fraudnet[spark]' "
            "(and Java 17 or later)") if absent else None


def open_engine(name: str = "duckdb", spark_master: str | None = None,
                spark_conf: dict[str, str] | None = None, duckdb_conf: dict[str, str] | None = None) -> Engine:
    """The engine called `name` (one of `ENGINES`), for one scan: DuckDB's holds one connection
    with the DuckDB settings `duckdb_conf` (e.g. `memory_limit`, `temp_directory`) until its
    `close()`; Spark's session on `spark_master` (`local[*]` by default) with the Spark settings
    `spark_conf` (e.g. `spark.driver.memory`). Raises `ValueError` for another name,
    `ComputeError` when pyspark is not installed (or DuckDB refuses a setting)."""
    if name == "duckdb":
        return DuckDBEngine(shared=True, conf=duckdb_conf)
    if name == "spark":
        try:
            from .spark import SparkEngine       # sqlglot, its translator, comes with the extra too
        except ImportError:
            raise ComputeError("the Spark engine needs the extra spark: pip install 'fraudnet[spark]' "
                               "(and Java 17 or later)") from None
        return SparkEngine(spark_master or "local[*]", spark_conf)
    raise ValueError(f"unknown engine {name!r}: one of {', '.join(ENGINES)}")
