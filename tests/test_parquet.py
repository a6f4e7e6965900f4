"""Parquet, the loader's fast path: `fraudnet convert parquet DATA OUT` and a scan of its output."""
import shutil

import pytest

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from cli.main import main
from contract.tables import TABLES
from loaders import EXAMPLES
from loaders.dataset import load_dataset
from publish.export import export
from runs.campaigns import read_campaigns
from runs.pipeline import scan
from runs.settings import RunSettings
from runs.store import Store

from .conftest import REPO, claim, write_dataset, write_table


@pytest.mark.slow
def test_a_region_in_parquet_scans_to_the_same_results_as_in_csv(region, tmp_path):
    out = CliRunner().invoke(main, ["convert", "parquet", str(region["data"]), str(tmp_path / "pq")])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in (tmp_path / "pq").iterdir()) == sorted(
        [f"{n}.parquet" for n in load_dataset(region["data"]).report.tables] + ["conversion_report.json"])
    claims = pq.read_schema(tmp_path / "pq" / "claims.parquet")
    assert claims == TABLES["claims"].schema.with_metadata(claims.metadata)
    (tmp_path / "store").mkdir()      # the CSV scan's key, hence the same opaque ids for patient alerts
    shutil.copy(region["store"].root / "secret.key", tmp_path / "store" / "secret.key")
    # the region's scan judged the example campaigns (tests/conftest.py): so does this one
    run = scan(tmp_path / "pq", Store(tmp_path / "store"), RunSettings(campaigns=read_campaigns(REPO / "campaigns")))
    assert run["status"] == "succeeded"
    assert run["counts"] == region["run"]["counts"]
    csv_files = export(region["store"], tmp_path / "from-csv")
    parquet_files = export(Store(tmp_path / "store"), tmp_path / "from-parquet")
    assert [p.name for p in csv_files] == [p.name for p in parquet_files]
    for a, b in zip(csv_files, parquet_files):
        assert a.read_bytes() == b.read_bytes(), a.name      # alerts, scores, ranks, risk, communities


def test_convert_parquet_writes_nothing_from_a_dataset_with_problems(tmp_path):
    data = write_dataset(tmp_path / "ds", providers=[{"provider_id": "D1", "kind": "doctor"}],
                         claims=[claim("C1", "P1", "D1", "G", "2025-01-32")])
    out = CliRunner().invoke(main, ["convert", "parquet", str(data), str(tmp_path / "pq")])
    assert out.exit_code == 2
    assert "claims.csv, line 2, column service_date, value '2025-01-32': is not a date" in out.output
    assert "providers.csv, line 2, column kind, value 'doctor'" in out.output
    assert not (tmp_path / "pq").exists()


def test_convert_parquet_refuses_a_folder_that_holds_the_tables_in_csv(tmp_path):
    data = write_dataset(tmp_path / "ds", claims=[claim("C1", "P1", "D1", "G", "2025-01-05")])
    write_table(data, "providers", [{"provider_id": "D1", "kind": "nurse", "colour": "blue"}],
                header=["provider_id", "kind", "colour"])
    out = CliRunner().invoke(main, ["convert", "parquet", str(data), str(data)])
    assert out.exit_code == 2 and f"{data} is not empty (it holds claims.csv and 1 other file(s))" in out.output
    assert not list(data.glob("*.parquet"))
    out = CliRunner().invoke(main, ["convert", "parquet", str(data), str(tmp_path / "pq")])
    assert out.exit_code == 0, out.output
    assert "providers.csv: 1 rows → providers.parquet; left out (not contract columns): colour" in out.output
    providers = pq.read_table(tmp_path / "pq" / "providers.parquet")
    assert "colour" not in providers.column_names and providers["kind"].to_pylist() == ["nurse"]
    assert pq.read_table(tmp_path / "pq" / "claims.parquet")["service_date"].type == pa.date32()


@pytest.mark.parametrize("source_format, sources", [
    ("snds", [EXAMPLES / "snds"]), ("annuaire", [EXAMPLES / "annuaire"]),
    ("mapped", [EXAMPLES / "mappings" / "us-claims.toml", EXAMPLES / "mappings" / "us-claims.csv"]),
    ("parquet", None)])
def test_every_convert_refuses_an_out_that_is_not_empty_and_writes_nothing(tmp_path, source_format, sources):
    """One rule for every `convert`: old tables left in OUT would be validated or scanned with the new."""
    if sources is None:
        sources = [write_dataset(tmp_path / "ds", claims=[claim("C1", "P1", "D1", "G", "2025-01-05")])]
        write_table(sources[0], "providers", [{"provider_id": "D1", "kind": "nurse"}])
    out = tmp_path / "out"
    out.mkdir()
    (out / "affiliations.csv").write_text("provider_id,centre_id\nD9,X9\n")
    done = CliRunner().invoke(main, ["convert", source_format, *map(str, sources), str(out)])
    assert done.exit_code == 2, done.output
    assert done.output == (f"error: {out} is not empty (it holds affiliations.csv): files left there would be read "
                           "with the new tables; convert into a new or empty folder\n")
    assert [p.name for p in out.iterdir()] == ["affiliations.csv"]
    (out / "affiliations.csv").unlink()                            # an empty folder is welcome
    done = CliRunner().invoke(main, ["convert", source_format, *map(str, sources), str(out)])
    assert done.exit_code == 0, done.output


@pytest.mark.parametrize("column,said", [
    ("service_code", "claims.parquet, row 3, column service_code: is not UTF-8 text (a binary column): store text as "
                     "UTF-8 strings"),
    ("patient_id", "claims.parquet, row 3, column patient_id: is not UTF-8 text (a binary column; bytes not shown)")])
def test_a_binary_column_holding_bytes_that_are_not_utf8_is_a_problem_naming_its_row_not_a_crash(tmp_path, column, said):
    from contract.errors import DatasetError
    folder = write_dataset(tmp_path / "ds", providers=[{"provider_id": "D1", "kind": "physician"}])
    rows = [claim(f"C{i}", f"P{i}", "D1", "G", "2025-01-05") for i in range(4)]
    columns = {c.name: [str(r[c.name]) for r in rows] for c in TABLES["claims"].columns}
    values = [v.encode() for v in columns[column]]
    values[2] = b"\xff\xfe" + values[2]
    columns[column] = pa.array(values, pa.binary())
    pq.write_table(pa.table(columns), folder / "claims.parquet", row_group_size=2)
    for claims_to in (None, tmp_path / "claims.parquet"):     # read whole, and as a scan reads it, by row group
        with pytest.raises(DatasetError) as e:
            load_dataset(folder, claims_to=claims_to)
        assert [str(p) for p in e.value.problems] == [said]
