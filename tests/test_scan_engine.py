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


def test_no_statement_of_a_scan_receives_the_claims_as_arrow(tmp_path, monkeypatch):
    """The load stage writes the typed claims to Parquet in the run's work folder; every statement
    of the scan (the window, the detectors, the campaigns, the evidence, the run's figures) reads
    them there as a table of the engine, never as Arrow handed over from Python; the work folder
    is gone with the scan."""
    from contract.tables import TABLES
    from runs.store import Store
    from tests.test_campaigns import COURSES, TYPO, physiotherapy_folder
    claims_columns = [c.name for c in TABLES["claims"].columns]
    seen = []
    run = engine.DuckDBEngine.run

    def spy(self, sql, params, tables, keep=False):
        seen.extend(type(t).__name__ for t in tables.values() if t.column_names == claims_columns)
        return run(self, sql, params, tables, keep)

    monkeypatch.setattr(engine.DuckDBEngine, "run", spy)
    store = Store(tmp_path / "store")
    record = pipeline.scan(physiotherapy_folder(tmp_path), store,
                           RunSettings(campaigns=(COURSES, TYPO), window_days=3650))
    assert record["status"] == "succeeded" and record["counts"]["alerts.indicator_outlier"] >= 1
    assert len(seen) > 30 and set(seen) == {"Kept"}
    assert not (store.runs_dir / record["run_id"] / "work").exists()
