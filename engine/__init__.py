"""Where claims-scale SQL runs: one `query()` over Arrow tables, on the engine of the scan.

Graph and run code call `query(sql, params, name=table, ...)` with SQL written once, in DuckDB's
dialect, with `$name` parameters; it runs on the **current engine**:

- `DuckDBEngine` (the default): a fresh in-memory DuckDB connection per call, so functions built
  on it stay pure functions of their input tables;
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
    """An in-memory DuckDB connection per statement: no files, no state."""
    name = "duckdb"

    def run(self, sql: str, params: dict, tables: dict[str, pa.Table]) -> pa.Table:
        con = duckdb.connect()
        try:
            for name, table in tables.items():
                con.register(name, table)
            return con.sql(sql, params=params or None).to_arrow_table()
        except duckdb.Error as e:
            raise ComputeError(f"{e}\n--- while running ---\n{sql}") from e
        finally:
            con.close()

    def close(self) -> None:
        pass


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


def open_engine(name: str = "duckdb", spark_master: str | None = None,
                spark_conf: dict[str, str] | None = None) -> Engine:
    """The engine called `name` (one of `ENGINES`); Spark's session on `spark_master`
    (`local[*]` by default) with the Spark settings `spark_conf` (e.g. `spark.driver.memory`).
    Raises `ValueError` for another name, `ComputeError` when pyspark is not installed."""
    if name == "duckdb":
        return DUCKDB
    if name == "spark":
        from .spark import SparkEngine
        return SparkEngine(spark_master or "local[*]", spark_conf)
    raise ValueError(f"unknown engine {name!r}: one of {', '.join(ENGINES)}")
