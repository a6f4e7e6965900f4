"""The claims read batch by batch (`load_dataset(..., claims_to=…)`, issue #19): the same problems,
warnings and typed rows as the whole-file read, whatever the batch size; never the whole file."""
from __future__ import annotations

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
