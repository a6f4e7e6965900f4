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

A scan selects its engine once (`with use(open_engine("spark", master))`, done by
`runs.pipeline.execute` from the run's settings); the graph code does not know which one runs.
`capture()` records every statement with its parameters, input tables and result (the `spark`
test tier replays them on both engines). The engine is held in a context variable, not passed
through every detector: a scan runs in one thread of its own process (`runs.worker`).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator, Protocol

import duckdb
import pyarrow as pa

ENGINES = ("duckdb", "spark")


class ComputeError(RuntimeError):
    """A query failed; the SQL is attached so the failing step can be read."""


class Engine(Protocol):
    """Runs one statement of DuckDB-dialect SQL over named Arrow tables and returns an Arrow
    table with DuckDB's column names, order and types."""
    name: str

    def run(self, sql: str, params: dict, tables: dict[str, pa.Table]) -> pa.Table: ...

    def close(self) -> None: ...


class DuckDBEngine:
    """DuckDB in memory. `shared=False` (the default engine): a fresh connection per statement,
    no state. `shared=True` (a scan's engine): one connection, opened at the first statement and
    closed by `close()`, configured by `conf` (DuckDB's settings as its configuration page names
    them, e.g. `threads`, `memory_limit`, `temp_directory`: where intermediates larger than the
    memory limit spill). Each statement's input tables are registered under their names before
    it and unregistered after it, so no statement sees another's tables. Not for concurrent use:
    a scan runs its statements one after the other in one thread (`runs.worker`).
    Source: DuckDB's Python API (`DuckDBPyConnection.register`, `unregister`) and configuration
    pages (https://duckdb.org/docs/configuration/overview)."""
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

    def run(self, sql: str, params: dict, tables: dict[str, pa.Table]) -> pa.Table:
        try:
            con = self._connect()
        except duckdb.Error as e:
            raise ComputeError(f"DuckDB refused its settings {sorted(self.conf)}: {e}") from e
        try:
            for name, table in tables.items():
                con.register(name, table)
            return con.sql(sql, params=params or None).to_arrow_table()
        except duckdb.Error as e:
            raise ComputeError(f"{e}\n--- while running ---\n{sql}") from e
        finally:
            if self.shared:
                for name in tables:
                    con.unregister(name)
            else:
                con.close()

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
    tables: dict[str, pa.Table]
    result: pa.Table = field(repr=False)


_current: ContextVar[Engine] = ContextVar("fraudnet_engine", default=DUCKDB)
_captures: ContextVar[tuple[list, ...]] = ContextVar("fraudnet_captures", default=())


def query(sql: str, params: dict | None = None, **tables: pa.Table) -> pa.Table:
    """Run `sql` (DuckDB dialect, `$name` parameters from `params`) over the Arrow `tables`,
    each visible under its keyword's name, on the current engine. Returns an Arrow table.
    Raises `ComputeError` (the SQL attached) when the statement fails."""
    out = _current.get().run(sql, dict(params or {}), tables)
    for sink in _captures.get():
        sink.append(Statement(sql, dict(params or {}), dict(tables), out))
    return out


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
