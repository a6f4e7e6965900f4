"""The speed work of issue #18 changes where the scan's SQL runs, never what it finds: the region
scanned on the engine of a scan (one DuckDB connection for the whole scan) and on DuckDB's
stateless default (a fresh connection per statement, the engine before #18) gives the same results,
table by table, row by row."""
import shutil

import pyarrow as pa
import pytest

import engine
from runs import pipeline, results
from runs.settings import RunSettings
from runs.store import Store, open_results


def _tables(store: Store, run_id: str) -> dict[str, pa.Table]:
    con = open_results(store.results_path(run_id))
    try:
        return {name: results.table(con, name) for name in results.RESULTS}
    finally:
        con.close()


@pytest.mark.slow          # a second scan of the region (about 30 s): in `make test`, not the everyday tier
def test_a_scan_on_one_connection_finds_what_a_connection_per_statement_finds(region, tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    store.root.mkdir()
    shutil.copy(region["store"].root / "secret.key", store.root / "secret.key")   # the same opaque alert ids
    opened = []
    monkeypatch.setattr(pipeline, "open_engine", lambda *a, **k: opened.append(a) or engine.DUCKDB)
    reference = pipeline.scan(region["data"], store, RunSettings.model_validate(region["run"]["settings"]))
    assert opened and reference["status"] == "succeeded"
    mine = _tables(region["store"], region["run"]["run_id"])     # scanned on the scan's engine (conftest)
    theirs = _tables(store, reference["run_id"])
    assert mine["alerts"].num_rows > 50 and mine["communities"].num_rows > 50 and mine["evidence"].num_rows > 1000
    for name in results.RESULTS:
        assert mine[name].equals(theirs[name]), name
