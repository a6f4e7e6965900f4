"""Column-wise computation over Arrow tables with an in-memory DuckDB: no files, no state.

Graph code calls `query(sql, params, name=table, ...)`; each call opens a fresh in-memory
connection, so functions built on it stay pure functions of their input tables.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa


class ComputeError(RuntimeError):
    """A query failed; the SQL is attached so the failing step can be read."""


def query(sql: str, params: dict | None = None, **tables: pa.Table) -> pa.Table:
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        return con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as e:
        raise ComputeError(f"{e}\n--- while running ---\n{sql}") from e
    finally:
        con.close()

