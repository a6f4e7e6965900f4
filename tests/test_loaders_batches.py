"""The claims read batch by batch (`load_dataset(..., claims_to=…)`, issue #19): the same problems,
warnings and typed rows as the whole-file read, whatever the batch size; never the whole file."""
from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import loaders.dataset as dataset
from contract.errors import DatasetError
from loaders.dataset import load_dataset

from .conftest import claim, examples, write_dataset
from .test_loaders_fast import claims_rows, ids, kinds, write_csv

SIZES = (256, 1_000, 4_096, 1 << 20)      # bytes a batch: a few claims, tens of them, all of them


def outcome(folders, claims_to=None, max_problems=20):
    try:
        d = load_dataset(folders, max_problems=max_problems, claims_to=claims_to)
    except DatasetError as e:
        return ("problems", [str(p) for p in e.problems], e.total)
    return ("loaded", dict(d.tables), d.report.to_dict())


@pytest.fixture
def spied(monkeypatch):
    """Which tables were read whole (`_load_file`), and how many claims batches were typed."""
    seen = {"whole": [], "batches": 0}
    load_file, typed = dataset._load_file, dataset._typed

    def whole(con, spec, *args):
        seen["whole"].append(spec.name)
        return load_file(con, spec, *args)

    def typing(con, spec, *args):
        seen["batches"] += spec.name == "claims"
        return typed(con, spec, *args)

    monkeypatch.setattr(dataset, "_load_file", whole)
    monkeypatch.setattr(dataset, "_typed", typing)
    return seen


def same_in_batches(folders, tmp: Path, monkeypatch, spied=None, sizes=SIZES, max_problems=20):
    """Load `folders` whole and then batch by batch at each size: the same outcome each time."""
    whole = outcome(folders, max_problems=max_problems)
    for size in sizes:
        monkeypatch.setattr(dataset, "CLAIMS_BATCH_BYTES", size)
        if spied is not None:
            spied.update(whole=[], batches=0)
        to = tmp / f"claims-{size}.parquet"
        batched = outcome(folders, to, max_problems)
        assert batched[0] == whole[0], (size, batched, whole)
        if whole[0] == "problems":
            assert batched[1:] == whole[1:], size
        else:
            assert batched[2] == whole[2], size
            for name, table in whole[1].items():
                assert batched[1][name].schema == table.schema, (size, name)
                assert batched[1][name].equals(table), (size, name)
            claims = whole[1]["claims"]
            assert pq.read_table(to, columns=claims.column_names).cast(claims.schema).equals(claims)
        if spied is not None:
            assert "claims" not in spied["whole"], size         # never read whole
    return whole


def claims_with_problems(n: int = 400) -> list[dict]:
    """`n` claims with, here and there (some on batch borders at any of `SIZES`), every kind of
    problem a claim's cells can have, and cells over two lines moving the lines after them."""
    rows = [claim(f"C{i:05d}", f"P{i % 37}", f"D{i % 3}", "G", f"2025-01-{1 + i % 28:02d}", amount=f"{i % 50}.50",
                  centre=f"{100000000 + i % 7}") for i in range(n)]
    for i in range(10, n, 23):
        rows[i]["claim_id"] = f"C{i:05d}\nsecond line"          # valid: an id may hold a line break
    for i in range(11, n, 41):
        rows[i]["service_date"] = "05/01/2025"
    for i in range(12, n, 53):
        rows[i]["amount"] = "-3"
    for i in range(13, n, 29):
        rows[i]["provider_id"] = "NA"                              # the same missing value: one problem, a count
    for i in range(14, n, 61):
        rows[i]["claim_id"] = rows[i - 7]["claim_id"]              # a duplicate key
    for i in range(15, n, 67):
        rows[i]["provider_id"] = "D9"                              # not in providers
    for i in range(16, n, 71):
        rows[i]["service_date"] = "2205-01-01"                     # after today
    for i in range(17, n, 83):
        rows[i]["quantity"] = "1.5"
    return rows


PROVIDERS = [{"provider_id": f"D{i}", "kind": "nurse"} for i in range(3)]


def test_problems_on_batch_borders_are_those_of_the_whole_file(tmp_path, monkeypatch, spied):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, claims=claims_with_problems())
    for cap in (3, 20, 500):          # the first problems listed, whatever room the report leaves
        found = same_in_batches(folder, tmp_path, monkeypatch, spied, max_problems=cap)
        assert found[0] == "problems"
    assert spied["batches"] == 1      # the last size holds the file in one batch; the others in many


def test_the_batches_are_many_and_their_lines_those_of_the_file(tmp_path, monkeypatch, spied):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, claims=claims_with_problems())
    monkeypatch.setattr(dataset, "CLAIMS_BATCH_BYTES", 1_000)
    problems = outcome(folder, tmp_path / "c.parquet", max_problems=500)[1]
    assert spied["batches"] > 10 and "claims" not in spied["whole"]
    # claims 10, 33, 56, 79… hold a line break: claim 11 is on line 2 + 11 + 1, claim 52 on 2 + 52 + 2…
    assert "claims.csv, column service_date, value '05/01/2025': is not a date (expected YYYY-MM-DD; this looks " \
           "like DD/MM/YYYY or MM/DD/YYYY: convert the file with a mapping that names the format) — on 10 lines: 14, " \
           "56, 99, 142, 185 and 5 more" in problems
    assert any(p.startswith("claims.csv, column provider_id: missing value (the file has 'NA' in this column, read "
                            "as missing): this column is required") for p in problems)


def test_a_clean_file_loads_the_same_rows_warnings_and_lines(tmp_path, monkeypatch, spied):
    rows = [claim(f"C{i}", f"P{i % 37}", f"D{i % 3}", "G", f"2025-01-{1 + i % 28:02d}", amount=f"{i % 50}.25",
                  prescriber="NA" if i % 9 == 0 else "", quantity="" if i % 5 else "2",
                  centre=f"{100000000 + i % 7}" if i % 11 else f"{10000000 + i % 3}") for i in range(300)]
    for i in range(5, 300, 17):
        rows[i]["claim_id"] = f"C{i}\r\nacross lines"
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, claims=rows)
    loaded = same_in_batches(folder, tmp_path, monkeypatch, spied)
    assert loaded[0] == "loaded"
    warned = " ".join(w["message"] for w in loaded[2]["warnings"])
    assert "prescriber_id cell(s) read as missing values" in warned and "have 8 digits" in warned


def test_several_sources_merge_and_conflict_from_the_files(tmp_path, monkeypatch, spied):
    a = write_dataset(tmp_path / "a", providers=PROVIDERS,
                      claims=[claim(f"C{i}", "P1", "D1", "G", "2025-01-05") for i in range(60)])
    b = write_dataset(tmp_path / "b", providers=[{"provider_id": "D1", "kind": "other"}],
                      claims=[claim(f"C{i}", "P1", "D1", "G", "2025-01-05") for i in range(50, 120)])
    registry = write_dataset(tmp_path / "r", providers=[{"provider_id": "D2", "kind": "nurse"}])
    merged = same_in_batches([a, b, registry], tmp_path, monkeypatch, spied)
    assert merged[0] == "loaded" and merged[1]["claims"].num_rows == 120 and merged[2]["links"]
    assert not list(tmp_path.glob("claims-*.parquet.*"))      # the sources' parts are gone once merged
    (b / "claims.csv").write_text((b / "claims.csv").read_text().replace("2025-01-05", "2025-01-06"))
    conflicts = same_in_batches([a, b], tmp_path, monkeypatch, spied)
    assert conflicts[0] == "problems" and conflicts[2] == 10


def test_a_file_that_is_not_well_formed_csv_is_read_whole_with_the_same_problems(tmp_path, monkeypatch, spied):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS,
                           claims=[claim(f"C{i}", "P1", "D1", "G", "2025-01-05") for i in range(200)])
    text = (folder / "claims.csv").read_text().splitlines()
    text[150] += ",one too many"
    (folder / "claims.csv").write_text("\n".join(text) + "\n")
    whole = outcome(folder)
    monkeypatch.setattr(dataset, "CLAIMS_BATCH_BYTES", 1_000)
    assert outcome(folder, tmp_path / "c.parquet") == whole and whole[0] == "problems"
    assert "claims" in spied["whole"]


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=claims_rows, providers=st.lists(st.tuples(ids, kinds), min_size=1, max_size=4),
       size=st.sampled_from([128, 300, 1 << 20]))
def test_random_cells_give_the_same_in_batches(rows, providers, size):
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as monkeypatch:
        folder = Path(tmp)
        write_csv(folder / "claims.csv", ["claim_id", "patient_id", "provider_id", "prescriber_id", "service_code",
                                          "service_date", "amount", "quantity"],
                  [[c, pat, prov, pre, "G", day, amount, qty] for c, pat, prov, pre, day, amount, qty in rows])
        write_csv(folder / "providers.csv", ["provider_id", "kind", "postcode"],
                  [[p, k, "01000"] for p, k in providers] + [["D1", "physician", "1000"]])
        same_in_batches(folder, folder, monkeypatch, sizes=(size,))


def test_field_cases_load_the_same_in_batches(tmp_path, monkeypatch):
    cases = Path(__file__).resolve().parents[2] / "shared" / "cases"
    folders = [cases / "na-cells" / "dataset", [cases / "claim-ids-restart-per-extract" / "2025-01",
                                                 cases / "claim-ids-restart-per-extract" / "2025-02"],
               [cases / "annuaire-idnps-prefix" / "claims"]]
    if not cases.is_dir():
        pytest.skip("../shared/cases is not beside this repository")
    for folder in folders:
        same_in_batches(folder, tmp_path, monkeypatch, sizes=(200, 1 << 20))


def test_the_claims_file_holds_their_lines_and_the_table_only_the_contract(tmp_path):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, claims=[claim("C1", "P1", "D1", "G", "2025-01-05")])
    d = load_dataset(folder, claims_to=tmp_path / "c.parquet")
    assert d["claims"].column_names == [c.name for c in dataset.TABLES["claims"].columns]
    assert pq.read_table(tmp_path / "c.parquet")[dataset.LINE].to_pylist() == [2]
    assert not list(tmp_path.glob("c.parquet.*"))      # no part left beside it
    assert isinstance(d["claims"], pa.Table)


def test_empty_lines_move_the_lines_of_the_records_after_them_in_validate_and_scan(tmp_path, monkeypatch):
    """pyarrow skips empty lines: a reviewer's file of a claim, two empty lines and a claim with
    a bad date was told `line 3` where the claim is on line 5, by `validate` and by a scan. The
    lines count them, on both paths (a scan's reads such a file whole); empty lines at the end
    move nothing and keep the batches."""
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS,
                           claims=[claim("K1", "P1", "D0", "G", "2025-01-02"), claim("K2", "P1", "D0", "G", "2025-01-32")])
    path = folder / "claims.csv"
    head, k1, k2 = path.read_text().splitlines()
    for body, line in ((f"{head}\n{k1}\n\n\n{k2}\n", 5), (f"{head}\r\n{k1}\r\n\r\n{k2}\r\n", 4),
                       (f"{head}\n{k1}\n{k2}\n\n\n", 3)):
        path.write_bytes(body.encode())
        for to in (None, tmp_path / "c.parquet"):
            kind, problems, _ = outcome(folder, to)
            assert kind == "problems" and problems == [
                f"claims.csv, line {line}, column service_date, value '2025-01-32': is not a date (expected "
                "YYYY-MM-DD)"], (body, to, problems)
    (tmp_path / "trailing.csv").write_text(f"{head}\n{k1}\n{k2}\n\n\n")
    (tmp_path / "inside.csv").write_text(f"{head}\n{k1}\n\n{k2}\n")
    assert not dataset._has_empty_line(tmp_path / "trailing.csv")     # at the end only: read batch by batch
    assert dataset._has_empty_line(tmp_path / "inside.csv")


# --- Parquet claims, row group by row group -----------------------------------------------------

def parquet_claims(rows: list[dict], path: Path, row_group_size: int):
    """`rows` (as `claim` makes them) as a Parquet file of row groups of `row_group_size` rows,
    typed as `fraudnet convert parquet` writes them where the cell is a valid value (a date, an
    amount ≥ 0, a whole quantity), the cell's text where it is not (a whole column is then text)."""
    columns = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        try:
            if name == "service_date":
                columns[name] = pa.array([dt.date.fromisoformat(v) for v in values], pa.date32())
            elif name == "amount":
                columns[name] = pa.array([float(v) for v in values], pa.float64())
            elif name == "quantity":
                columns[name] = pa.array([int(v) for v in values], pa.int32())
            else:
                columns[name] = pa.array([v if v != "" else None for v in values], pa.string())
        except ValueError:
            columns[name] = pa.array([str(v) if v != "" else None for v in values], pa.string())
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def same_by_row_group(folder, tmp: Path, monkeypatch, spied, sizes=(7, 64, 1_000), max_problems=20):
    """Load `folder` whole and then row group by row group, `sizes` rows a batch at most: the same
    outcome each time, and the claims never read whole."""
    whole = outcome(folder, max_problems=max_problems)
    for size in sizes:
        monkeypatch.setattr(dataset, "CLAIMS_BATCH_ROWS", size)
        spied.update(whole=[], batches=0)
        to = tmp / f"claims-rows-{size}.parquet"
        batched = outcome(folder, to, max_problems)
        assert batched[0] == whole[0] and "claims" not in spied["whole"], (size, batched, whole)
        if whole[0] == "problems":
            assert batched[1:] == whole[1:], size
        else:
            assert batched[2] == whole[2], size
            for name, table in whole[1].items():
                assert batched[1][name].schema == table.schema and batched[1][name].equals(table), (size, name)
    return whole


def test_a_parquet_claims_file_is_read_by_row_group_with_the_whole_files_problems(tmp_path, monkeypatch, spied):
    rows = [claim(f"C{i:04d}", f"P{i % 37}", f"D{i % 3}", "G", f"2025-01-{1 + i % 28:02d}", amount=f"{i % 50}.5",
                  centre=f"{100000000 + i % 7}", quantity=str(1 + i % 4)) for i in range(600)]
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS)
    parquet_claims(rows, folder / "claims.parquet", 100)
    clean = same_by_row_group(folder, tmp_path, monkeypatch, spied)
    assert clean[0] == "loaded" and clean[1]["claims"].num_rows == 600
    # in the last row group: a negative amount, a repeated claim id, a provider absent from providers
    rows[571]["amount"], rows[583]["claim_id"], rows[590]["provider_id"] = "-2.5", rows[20]["claim_id"], "D9"
    parquet_claims(rows, folder / "claims.parquet", 100)
    found = same_by_row_group(folder, tmp_path, monkeypatch, spied)
    assert found == ("problems", [
        "claims.parquet, row 572, column amount, value '-2.5': is negative: amounts are ≥ 0 (a cancellation line? net "
        "it with the line it corrects)",
        "claims.parquet, row 584, column claim_id, value 'C0020': duplicate claim_id (first on row 21)",
        "claims.parquet, row 591, column provider_id, value 'D9': provider_id not found in providers.csv"], 3)
    assert spied["batches"] == 1            # at 1,000 rows a batch, one; at 7 and 64, many


def test_parquet_ids_stored_as_numbers_and_timestamps_warn_as_the_whole_file(tmp_path, monkeypatch, spied):
    n = 300
    claims = pa.table({"claim_id": pa.array(range(n), pa.int64()), "patient_id": [f"P{i % 5}" for i in range(n)],
                       "provider_id": ["D1"] * n, "service_code": ["G"] * n,
                       "service_date": pa.array([dt.datetime(2025, 1, 1 + i % 28, 12 if i == 250 else 0)
                                                 for i in range(n)], pa.timestamp("us")),
                       "amount": pa.array([float(i % 9) for i in range(n)], pa.float32()),
                       "centre_id": pa.array([dt.datetime(2025, 1, 1)] * n, pa.timestamp("us"))})
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS)
    pq.write_table(claims, folder / "claims.parquet", row_group_size=64)
    found = same_by_row_group(folder, tmp_path, monkeypatch, spied)
    assert found[0] == "problems" and found[1] == [
        "claims.parquet, row 251, column service_date, value '2025-01-27 12:00:00': has a time of day: expected a "
        "date (YYYY-MM-DD)"]
    claims = claims.set_column(4, "service_date", pa.array([dt.date(2025, 1, 1)] * n, pa.date32()))
    pq.write_table(claims, folder / "claims.parquet", row_group_size=64)
    loaded = same_by_row_group(folder, tmp_path, monkeypatch, spied)
    assert loaded[0] == "loaded"
    assert [w["message"] for w in loaded[2]["warnings"] if w["column"] == "claim_id"] == [
        "claims.parquet stores claim_id as integer numbers: identifiers are text, and a number loses leading zeros "
        "(010000024 becomes 10000024); store the column as strings"]


def test_a_dataset_loads_the_same_from_csv_and_from_its_parquet_conversion(tmp_path, monkeypatch, spied):
    """`fraudnet convert parquet` of a generated region, loaded as a scan loads it (claims row group
    by row group) and as the CSV is loaded (batch by batch): the same tables and report."""
    from click.testing import CliRunner

    from cli.main import main
    from loaders.synthetic import generate
    generate(tmp_path / "csv", 5000, 5)
    result = CliRunner().invoke(main, ["convert", "parquet", str(tmp_path / "csv"), str(tmp_path / "pq")])
    assert result.exit_code == 0, result.output
    monkeypatch.setattr(dataset, "CLAIMS_BATCH_BYTES", 1 << 20)
    monkeypatch.setattr(dataset, "CLAIMS_BATCH_ROWS", 20_000)
    spied.update(whole=[], batches=0)        # the conversion read the CSV files whole, as `validate` does
    from_csv = load_dataset(tmp_path / "csv", claims_to=tmp_path / "a.parquet")
    from_parquet = load_dataset(tmp_path / "pq", claims_to=tmp_path / "b.parquet")
    assert "claims" not in spied["whole"] and spied["batches"] > 10
    for name, table in from_csv.tables.items():
        assert from_parquet[name].equals(table), name
    assert from_csv["claims"].num_rows > 100_000
    as_csv = json.loads(json.dumps(from_parquet.report.to_dict()).replace(".parquet", ".csv"))
    assert as_csv == {**from_csv.report.to_dict(), "source": as_csv["source"]}


# --- the checks across the claims' rows, under the load's memory limit ---------------------------

def test_the_key_and_the_merge_are_checked_in_duckdb_under_the_loads_memory_limit(tmp_path, monkeypatch):
    """A scan's load gives its DuckDB connection a memory limit and a spill folder (a scan's own
    `duckdb_conf`, else `LOAD_MEMORY_LIMIT` and a folder beside `claims_to`, removed after): the
    key's uniqueness and the merge of several sources run there, with the problems and rows of the
    whole-file read (`validate`), a repeated key told by file, line, column and value."""
    configs = []
    connect = dataset.duckdb.connect
    monkeypatch.setattr(dataset.duckdb, "connect", lambda *a, config=None, **k: configs.append(config) or
                        connect(*a, **({"config": config} if config else {}), **k))
    a = write_dataset(tmp_path / "a", providers=PROVIDERS,
                      claims=[claim(f"C{i}", f"P{i % 7}", "D1", "G", "2025-01-05") for i in range(3_000)])
    b = write_dataset(tmp_path / "b", claims=[claim(f"C{i}", f"P{i % 7}", "D1", "G", "2025-01-05")
                                              for i in range(2_000, 4_000)])
    monkeypatch.setattr(dataset, "CLAIMS_BATCH_BYTES", 16 << 10)
    spill = tmp_path / "spill"
    whole = outcome([a, b])
    merged = load_dataset([a, b], claims_to=tmp_path / "c.parquet",
                          duckdb_conf={"memory_limit": "64MB", "temp_directory": str(spill)})
    assert whole[0] == "loaded" and merged["claims"].equals(whole[1]["claims"]) and merged["claims"].num_rows == 4_000
    assert merged.report.to_dict() == whole[2]
    assert configs[-1] == {"memory_limit": "64MB", "temp_directory": str(spill)}
    rows = (a / "claims.csv").read_text().splitlines()
    rows[2_900] = rows[2_900].replace("C2899,", "C17,")          # a key repeated in a late batch
    (a / "claims.csv").write_text("\n".join(rows) + "\n")
    expected = ("problems", ["a/claims.csv, line 2901, column claim_id, value 'C17': duplicate claim_id (first on "
                             "line 19)"], 1)
    whole = outcome([a])
    assert (whole[0], [p.replace(str(tmp_path) + "/", "") for p in whole[1]], whole[2]) == \
        ("problems", ["claims.csv, line 2901, column claim_id, value 'C17': duplicate claim_id (first on line 19)"], 1)
    found = outcome([a, b], tmp_path / "d.parquet")
    assert (found[0], [p.replace(str(tmp_path) + "/", "") for p in found[1]], found[2]) == expected
    assert configs[-1]["memory_limit"] == dataset.LOAD_MEMORY_LIMIT
    assert configs[-1]["temp_directory"] == f"{tmp_path / 'd.parquet'}.spill"
    assert not Path(configs[-1]["temp_directory"]).exists()
