"""The loader's checks without SQL (`loaders.dataset`, "Checks without SQL") against the SQL checks
they stand in for: on the same files, the loader with them and the loader checking everything in
SQL must give the same typed tables, the same load report, and the same problems in the same
order — on random CSV cells of every contract type (the look-alikes of valid values included:
spaces, signs, exponents, null tokens, impossible days, ids in scientific notation) and on random
typed Parquet columns."""
import csv
import datetime as dt
import math
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings, strategies as st

import loaders.dataset as dataset
from contract.errors import DatasetError
from loaders.dataset import load_dataset

from .conftest import claim, examples, write_dataset


@contextmanager
def sql_only():
    dataset.FAST_CHECKS = False
    try:
        yield
    finally:
        dataset.FAST_CHECKS = True


def outcome(folders):
    """What a load gives: its tables and report, or its problems (and their total)."""
    try:
        d = load_dataset(folders, max_problems=20)
    except DatasetError as e:
        return ("problems", [str(p) for p in e.problems], e.total)
    return ("loaded", {n: t for n, t in d.tables.items()}, d.report.to_dict())


def same_outcome(folders):
    fast = outcome(folders)
    with sql_only():
        slow = outcome(folders)
    assert fast[0] == slow[0], (fast, slow)
    if fast[0] == "problems":
        assert fast[1:] == slow[1:]
    else:
        assert fast[2] == slow[2]
        for name, table in slow[1].items():
            assert fast[1][name].schema == table.schema, name
            assert fast[1][name].equals(table), (name, fast[1][name], table)
            # bit for bit: -0.0 and 0.0 are equal, but a scan's sums could tell them apart
            for f in table.schema:
                if pa.types.is_floating(f.type):
                    a, b = fast[1][name][f.name].to_pylist(), table[f.name].to_pylist()
                    assert [math.copysign(1, x) if x is not None else None for x in a] == \
                           [math.copysign(1, x) if x is not None else None for x in b], name
    return fast


def test_the_space_test_knows_every_character_pyarrow_reads_as_a_space():
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    spaces = pc.utf8_is_space(pa.array([chr(c) for c in points])).to_pylist()
    firsts = {chr(c).encode()[0] for c, space in zip(points, spaces) if space}
    assert firsts and all(dataset._SPACE_FIRST[b] for b in firsts)


# --- CSV ------------------------------------------------------------------------------------------

TOKENS = ["NA", "N/A", "#N/A", "NULL", "null", "None", "NaN", "nan", "-"]
SPACES = [" ", "  ", "\t", "\u00a0", "\u3000", " x", "x ", " NA", "NULL ", "None\u00a0", "nan\u3000", "#N/A\t"]
ids = st.one_of(st.sampled_from(["D1", "D2", "010000024", "P1", "P2", "G", "AMI1"]),
                st.sampled_from(TOKENS + SPACES + ["1.00E+10", "1E+5", "a+b", "+", "Na", "NAN", "-1", "é"]),
                st.text(alphabet="AZaz09+-. \u00a0", min_size=0, max_size=6))
days = st.one_of(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(str),
                 st.sampled_from(["2025-02-30", "2025-13-01", "0000-01-01", " 2025-01-05", "2025-01-05 ", "2025-1-5",
                                  "05/01/2025", "2025-01-05 10:00", "2025-01-05T00:00:00", "20250105", "NA", "",
                                  "１２３４-01-01", "2025-01-0x"]),
                 st.text(alphabet="0123456789-", min_size=8, max_size=11))
amounts = st.one_of(st.floats(0, 1e6, allow_nan=False).map(lambda f: f"{f:.2f}"),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.decimals(0, 10 ** 12, places=6).map(str),
                    st.sampled_from(["0", "-0", "-3", "1e3", "1E-2", "inf", "nan", "NaN", "1,5", " 5", "5 ", "5.", ".5",
                                     ".", "1..2", "00012.50", "1_000", "0x10", "+5", "1" + "0" * 400, "", "-"]),
                    st.text(alphabet="0123456789.-+e ", min_size=1, max_size=8))
quantities = st.one_of(st.integers(-2, 2_000_000_000).map(str),
                       st.sampled_from(["05", "000000001", "0000000001", "+5", " 5", "5 ", "1.0", "1e3", "0x1", "",
                                        "NA", "٣"]),
                       st.text(alphabet="0123456789", min_size=1, max_size=11))
years = st.one_of(st.integers(1870, 2110).map(str), st.sampled_from(["01950", " 1950", "19x0", "+1950", "195", ""]))
bools = st.sampled_from(["true", "false", "TRUE", "False", "1", "0", "yes", "no", "t", "F", "y", "N", "maybe", " true",
                         "", "NA", "\u0130"])
kinds = st.sampled_from(["physician", "nurse", "pharmacy", "other", "Pharmacy", " nurse", "chemist", "NA", ""])
sexes = st.sampled_from(["F", "M", "U", "f", "", "X"])


def write_csv(path: Path, header: list[str], rows: list[list[str]]):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


claims_rows = st.lists(st.tuples(st.sampled_from(["C1", "C2", "C3", "C4", "C5", "C6", "C1 "]), ids, ids, ids,
                                 days, amounts, quantities), min_size=1, max_size=8)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=claims_rows,
       providers=st.lists(st.tuples(ids, kinds), min_size=1, max_size=4),
       patients=st.lists(st.tuples(ids, years, sexes), max_size=4),
       services=st.lists(st.tuples(ids, bools), max_size=3))
def test_csv_cells_of_every_type_give_what_the_sql_checks_give(rows, providers, patients, services):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_csv(folder / "claims.csv", ["claim_id", "patient_id", "provider_id", "prescriber_id", "service_code",
                                          "service_date", "amount", "quantity"],
                  [[c, pat, prov, pre, "G", day, amount, qty] for c, pat, prov, pre, day, amount, qty in rows])
        write_csv(folder / "providers.csv", ["provider_id", "kind", "postcode"],
                  [[p, k, "01000"] for p, k in providers] + [["D1", "physician", "1000"], ["D2", "nurse", "01090"]])
        if patients:
            write_csv(folder / "patients.csv", ["patient_id", "birth_year", "sex"], [list(p) for p in patients])
        if services:
            write_csv(folder / "services.csv", ["service_code", "kind", "watch"], [[s, "act", w] for s, w in services])
        same_outcome(folder)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(good=st.lists(st.tuples(st.dates(dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
                               st.decimals(0, 10 ** 5, places=2), st.integers(1, 20)), min_size=1, max_size=30))
def test_valid_claims_load_the_same(good):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp), providers=[{"provider_id": "D1", "kind": "nurse"}],
                               claims=[claim(f"C{i}", f"P{i % 3}", "D1", "AMI1", str(day), str(amount), quantity=q)
                                       for i, (day, amount, q) in enumerate(good)])
        assert same_outcome(folder)[0] == "loaded"


def test_a_clean_generated_region_is_cleared_without_sql(region, monkeypatch):
    """What makes a clean dataset fast: no column, key or reference of a generated region is read
    again in SQL, and its tables are those the SQL checks give."""
    swept, keys, references = [], [], []
    check_columns, check_key, all_found = dataset._check_columns, dataset._check_key, dataset._all_found

    def columns_spy(con, spec, *args, cleared=frozenset()):
        swept.extend(f"{spec.name}.{c.name}" for c in spec.columns if c.name not in cleared)
        return check_columns(con, spec, *args, cleared=cleared)

    monkeypatch.setattr(dataset, "_check_columns", columns_spy)
    monkeypatch.setattr(dataset, "_check_key", lambda con, spec, *a: keys.append(spec.name) or check_key(con, spec, *a))
    monkeypatch.setattr(dataset, "_all_found", lambda *a: references.append(all_found(*a)) or references[-1])
    fast = load_dataset(region["data"])
    assert (swept, keys) == ([], []) and references and all(references)
    with sql_only():
        slow = load_dataset(region["data"])
    assert fast.report.to_dict() == slow.report.to_dict()
    assert all(fast[name].equals(slow[name]) for name in slow.tables)


def test_a_quoted_cell_over_two_lines_keeps_the_line_numbers(tmp_path):
    folder = write_dataset(tmp_path / "ds", providers=[{"provider_id": "D1", "kind": "nurse", "name": "two\nlines"},
                                                       {"provider_id": "D2", "kind": "chemist"}],
                           claims=[claim("C1", "P1", "D1", "G", "2025-01-05")])
    assert same_outcome(folder) == ("problems", [
        "providers.csv, line 4, column kind, value 'chemist': is not one of: physician, dentist, nurse, physiotherapist, "
        "midwife, pharmacy, laboratory, other"], 1)


def test_several_sources_merge_the_same(tmp_path):
    a = write_dataset(tmp_path / "a", providers=[{"provider_id": "D1", "kind": "nurse"}],
                      claims=[claim("C1", "P1", "D1", "G", "2025-01-05"), claim("C2", "P1", "D1", "G", "2025-01-06")])
    b = write_dataset(tmp_path / "b", providers=[{"provider_id": "D1", "kind": "other", "postcode": "01000"},
                                                 {"provider_id": "D2", "kind": "nurse"}],
                      claims=[claim("C2", "P1", "D1", "G", "2025-01-06"), claim("C3", "P2", "D2", "G", "2025-01-07")])
    assert same_outcome([a, b])[0] == "loaded"
    (tmp_path / "b" / "claims.csv").write_text((tmp_path / "b" / "claims.csv").read_text().replace("2025-01-06", "2025-01-08"))
    assert same_outcome([a, b])[0] == "problems"


# --- Parquet --------------------------------------------------------------------------------------

parquet_days = st.one_of(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)), st.none())
parquet_times = st.one_of(st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)),
                          st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(
                              lambda d: dt.datetime(d.year, d.month, d.day)), st.none())
parquet_amounts = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1e20, 2.0 ** 63]),
                            st.none())
parquet_ints = st.one_of(st.integers(-5, 3_000_000_000), st.none())


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 6), data=st.data())
def test_typed_parquet_columns_give_what_their_text_gives(n, data):
    dates = data.draw(st.one_of(st.lists(parquet_days, min_size=n, max_size=n).map(lambda v: pa.array(v, pa.date32())),
                                st.lists(parquet_times, min_size=n, max_size=n).map(lambda v: pa.array(v, pa.timestamp("us"))),
                                st.lists(st.dates(), min_size=n, max_size=n).map(lambda v: pa.array([str(d) for d in v]))))
    amounts = data.draw(st.lists(parquet_amounts, min_size=n, max_size=n).map(lambda v: pa.array(v, pa.float64())))
    quantities = data.draw(st.one_of(
        st.lists(parquet_ints, min_size=n, max_size=n).map(lambda v: pa.array(v, pa.int64())),
        st.lists(st.integers(-5, 2 ** 31 - 1), min_size=n, max_size=n).map(lambda v: pa.array(v, pa.int32()))))
    years = data.draw(st.lists(st.one_of(st.integers(1800, 2200), st.none()), min_size=n, max_size=n))
    watch = data.draw(st.lists(st.one_of(st.booleans(), st.none()), min_size=1, max_size=3))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pq.write_table(pa.table({"claim_id": [f"C{i}" for i in range(n)], "patient_id": [f"P{i}" for i in range(n)],
                                 "provider_id": ["D1"] * n, "service_code": ["G"] * n, "service_date": dates,
                                 "amount": amounts, "quantity": quantities}), folder / "claims.parquet")
        pq.write_table(pa.table({"provider_id": ["D1"], "kind": ["nurse"]}), folder / "providers.parquet")
        pq.write_table(pa.table({"patient_id": [f"P{i}" for i in range(n)], "birth_year": pa.array(years, pa.int16())}),
                       folder / "patients.parquet")
        pq.write_table(pa.table({"service_code": [f"S{i}" for i in range(len(watch))], "watch": pa.array(watch)}),
                       folder / "services.parquet")
        same_outcome(folder)


def test_parquet_columns_of_the_contract_types_are_kept_typed(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    pq.write_table(pa.table({"claim_id": ["C1", "C2"], "patient_id": ["P1", "P2"], "provider_id": ["D1", "D1"],
                             "service_code": ["G", "G"],
                             "service_date": pa.array([dt.date(2025, 1, 5), dt.date(2025, 1, 6)]),
                             "amount": [26.5, 0.1], "quantity": pa.array([1, None], pa.int32())}),
                   folder / "claims.parquet")
    pq.write_table(pa.table({"provider_id": ["D1"], "kind": ["nurse"]}), folder / "providers.parquet")
    raw = dataset.read_raw(folder / "claims.parquet", dataset._Collector(10),
                           typed={c.name: c for c in dataset.TABLES["claims"].columns})
    assert raw.typed == {"service_date", "amount", "quantity"}
    assert same_outcome(folder)[1]["claims"]["quantity"].to_pylist() == [1, 1]
