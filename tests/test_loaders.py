import gzip
from datetime import date
import shutil

import pyarrow as pa
import pyarrow.csv  # noqa: F401  (pa.csv)
import pyarrow.parquet as pq
import pytest

from contract.tables import TABLES

from loaders.dataset import load_dataset
from contract.errors import DatasetError

from .conftest import claim, write_dataset, write_table

# with their places: without any provider postcode beside a pharmacy the load report warns that
# where care happens is unknown (`test_no_provider_place_at_all_is_warned_about_once`)
PROVIDERS = [{"provider_id": "010000024", "kind": "physician", "specialty": "general_practice", "postcode": "01000"},
             {"provider_id": "690000001", "kind": "pharmacy", "postcode": "69001"}]


def good(tmp_path):
    return write_dataset(
        tmp_path / "ds",
        claims=[claim("C1", "P1", "010000024", "G", "2025-01-05", 26.5),
                claim("C2", "P1", "690000001", "3400930000073", "2025-01-06", 48, prescriber="010000024",
                      quantity=2)],
        providers=PROVIDERS)


def problems(folder):
    with pytest.raises(DatasetError) as e:
        load_dataset(folder)
    return [str(p) for p in e.value.problems]


def test_every_table_loads_typed_with_leading_zeros_kept(tmp_path):
    ds = write_dataset(
        tmp_path / "ds",
        claims=[claim("C1", "P1", "010000024", "G", "2025-01-05", 26.5, centre="H1")],
        providers=[{**PROVIDERS[0], "legal_entity_id": "E1"}, PROVIDERS[1]],
        centres=[{"centre_id": "H1", "kind": "hospital", "legal_entity_id": "E1", "opened_on": "2001-02-03"}],
        legal_entities=[{"legal_entity_id": "E1", "kind": "public", "created_on": "1990-01-01"}],
        affiliations=[{"provider_id": "010000024", "centre_id": "H1", "role": "fulltime_hospital",
                       "start_date": "2015-01-01"}],
        officers=[{"person_id": "X1", "legal_entity_id": "E1", "role": "director"}],
        identifiers=[{"entity_type": "centre", "entity_id": "H1", "kind": "phone", "value": "0102030405"}],
        patients=[{"patient_id": "P1", "birth_year": "1950", "sex": "F", "postcode": "01000"}],
        services=[{"service_code": "G", "kind": "act", "label": "GP", "watch": "false"}])
    d = load_dataset(ds)
    assert set(d.report.tables) == {"claims", "providers", "centres", "legal_entities", "affiliations",
                                    "officers", "identifiers", "patients", "services"}
    assert d["providers"]["provider_id"].to_pylist() == ["010000024", "690000001"]
    assert d["claims"].schema.field("service_date").type == pa.date32()
    assert d["claims"]["quantity"].to_pylist() == [1]
    assert d["patients"]["postcode"].to_pylist() == ["01000"]
    assert d["services"]["watch"].to_pylist() == [False]
    assert d["identifiers"]["value"].to_pylist() == ["0102030405"]
    assert d.report.warnings == []


def test_missing_optional_tables_are_empty_and_optional_columns_may_be_left_out(tmp_path):
    folder = tmp_path / "ds"
    write_table(folder, "claims", [claim("C1", "P1", "010000024", "G", "2025-01-05")],
                header=["claim_id", "patient_id", "provider_id", "service_code", "service_date", "amount"])
    write_table(folder, "providers", PROVIDERS, header=["provider_id", "kind"])
    d = load_dataset(folder)
    assert d["centres"].num_rows == 0 and not d.given("centres")
    assert d["claims"]["quantity"].to_pylist() == [1]
    assert d["claims"]["prescriber_id"].to_pylist() == [None]


def test_gzip_and_parquet_inputs(tmp_path):
    folder = good(tmp_path)
    with open(folder / "claims.csv", "rb") as src, gzip.open(folder / "claims.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    (folder / "claims.csv").unlink()
    pq.write_table(pa.table({"provider_id": ["010000024", "690000001"], "kind": ["physician", "pharmacy"]}),
                   folder / "providers.parquet")
    (folder / "providers.csv").unlink()
    d = load_dataset(folder)
    assert d.report.tables["claims"] == {"file": "claims.csv.gz", "rows": 2}
    assert d.report.tables["providers"] == {"file": "providers.parquet", "rows": 2}
    assert d["claims"]["amount"].to_pylist() == [26.5, 48.0]


def test_parquet_problems_name_the_row(tmp_path):
    folder = good(tmp_path)
    pq.write_table(pa.table({"provider_id": ["010000024", "690000001"], "kind": ["physician", "chemist"]}),
                   folder / "providers.parquet")
    (folder / "providers.csv").unlink()
    assert problems(folder) == ["providers.parquet, row 2, column kind, value 'chemist': is not one of: "
                                "physician, dentist, nurse, physiotherapist, midwife, pharmacy, laboratory, other"]


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_a_service_date_after_today_or_before_1900_is_a_problem(tmp_path, form):
    """A fresh user's claim dated 2099-01-01 (or 0001-01-01) passed validation; a scan with a
    window then kept that one claim. Each is a problem naming its line; today's date and a date of
    1900 pass. Parquet's typed dates are checked too (cleared by their min and max when fine)."""
    from datetime import datetime, timezone
    today = datetime.now(timezone.utc).date()
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, claims=[
        claim("C1", "P1", "010000024", "G", "2025-01-05", 26.5), claim("C2", "P1", "010000024", "G", "2099-01-01", 26.5),
        claim("C3", "P1", "010000024", "G", str(today), 26.5), claim("C4", "P1", "010000024", "G", "0001-01-01", 26.5),
        claim("C5", "P1", "010000024", "G", "1900-01-01", 26.5)])
    unit = "line"
    if form == "parquet":
        t = pa.csv.read_csv(folder / "claims.csv", convert_options=pa.csv.ConvertOptions(
            column_types={"service_date": pa.date32(), **{c: pa.string() for c in ("claim_id", "provider_id",
                                                                                  "patient_id", "service_code")}}))
        pq.write_table(t, folder / "claims.parquet")
        (folder / "claims.csv").unlink()
        unit = "row"
        n = 1
    else:
        n = 2
    assert problems(folder) == [
        f"claims.{form}, {unit} {n + 1}, column service_date, value '2099-01-01': is after today ({today}): a service "
        "cannot be billed before it is delivered",
        f"claims.{form}, {unit} {n + 3}, column service_date, value '0001-01-01': is before 1900-01-01: not a "
        "service's date (a missing date filled in by an export?)"]
    write_dataset(folder, claims=[claim("C3", "P1", "010000024", "G", str(today), 26.5)])
    (folder / "claims.parquet").unlink(missing_ok=True)
    assert load_dataset(folder)["claims"].num_rows == 1


def test_missing_required_table(tmp_path):
    folder = good(tmp_path)
    (folder / "providers.csv").unlink()
    assert problems(folder) == [f"providers.csv: required table is missing from {folder} "
                                "(looked for providers.csv, providers.csv.gz, providers.parquet)"]


def test_missing_column(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "providers", PROVIDERS, header=["provider_id", "specialty"])
    assert problems(folder) == ["providers.csv, line 1, column kind: missing required column "
                                "(the header has: provider_id, specialty)"]


def test_bad_date(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "010000024", "G", "05/01/2025")])
    assert problems(folder) == ["claims.csv, line 2, column service_date, value '05/01/2025': "
                                "is not a date (expected YYYY-MM-DD; this looks like DD/MM/YYYY or MM/DD/YYYY: "
                                "convert the file with a mapping that names the format)"]


def test_impossible_date(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "010000024", "G", "2025-02-30")])
    assert problems(folder) == ["claims.csv, line 2, column service_date, value '2025-02-30': "
                                "is not a date (expected YYYY-MM-DD)"]


def test_negative_amount_and_bad_quantity(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "010000024", "G", "2025-01-05", -3),
                                   claim("C2", "P1", "010000024", "G", "2025-01-05", "12,5", quantity=0)])
    assert problems(folder) == [         # in line order (a fresh user found them listed column by column)
        "claims.csv, line 2, column amount, value '-3': is negative: amounts are ≥ 0 (a cancellation line? net it "
        "with the line it corrects)",
        "claims.csv, line 3, column amount, value '12,5': is not a number: it has a decimal comma (amounts use "
        "'.', as in 12.50; convert the file with a mapping: decimal = \",\")",
        "claims.csv, line 3, column quantity, value '0': is not a whole number ≥ 1"]


@pytest.mark.parametrize("batches", [False, True], ids=["whole", "batches"])
def test_an_amount_beyond_ten_to_the_twelve_euros_and_a_quantity_beyond_nine_digits_are_refused(tmp_path, batches):
    """`1e308` validated and scanned, and a provider's total showed `euros inf` (a fresh user's
    find): an amount above 10¹² € (the case decisions' bound) is refused, with its line; a
    quantity of 20 digits is said to be too large. The bounds themselves, a large real amount and
    a 9-digit quantity, load."""
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "010000024", "G", "2025-01-05", "1e308"),
                                   claim("C2", "P1", "010000024", "G", "2025-01-05", "99999999999999999999999.99"),
                                   claim("C3", "P1", "010000024", "G", "2025-01-05", "1000000000000.01"),
                                   claim("C4", "P1", "010000024", "G", "2025-01-05", "12.5", quantity="99999999999999999999"),
                                   claim("C5", "P1", "010000024", "G", "2025-01-05", "12.5", quantity="1000000000"),
                                   claim("C6", "P1", "010000024", "G", "2025-01-05", "1000000000000", quantity=999999999),
                                   claim("C7", "P1", "010000024", "G", "2025-01-05", "2345678.90")])
    too_much = "is more than 1,000,000,000,000 euros (10¹²): not a claim's amount"
    too_many = "is too large: a quantity is a whole number from 1 to 999,999,999"
    expected = [f"claims.csv, line 2, column amount, value '1e308': {too_much}",
                f"claims.csv, line 3, column amount, value '99999999999999999999999.99': {too_much}",
                f"claims.csv, line 4, column amount, value '1000000000000.01': {too_much}",
                f"claims.csv, line 5, column quantity, value '99999999999999999999': {too_many}",
                f"claims.csv, line 6, column quantity, value '1000000000': {too_many}"]
    with pytest.raises(DatasetError) as e:
        load_dataset(folder, claims_to=tmp_path / "claims.parquet" if batches else None)
    assert [str(p) for p in e.value.problems] == expected
    write_table(folder, "claims", [claim("C6", "P1", "010000024", "G", "2025-01-05", "1000000000000", quantity=999999999),
                                   claim("C7", "P1", "010000024", "G", "2025-01-05", "2345678.90")])
    claims = load_dataset(folder).tables["claims"]
    assert claims["amount"].to_pylist() == [1e12, 2345678.9] and claims["quantity"].to_pylist() == [999999999, 1]


def test_a_parquet_amount_beyond_ten_to_the_twelve_euros_is_refused(tmp_path):
    folder = good(tmp_path)
    (folder / "claims.csv").unlink()
    pq.write_table(pa.table({"claim_id": ["C1", "C2"], "patient_id": ["P1", "P1"],
                             "provider_id": ["010000024", "010000024"], "service_code": ["G", "G"],
                             "service_date": ["2025-01-05", "2025-01-05"], "amount": [26.5, 1e308]}),
                   folder / "claims.parquet")
    assert problems(folder) == ["claims.parquet, row 2, column amount, value '1e+308': is more than "
                                "1,000,000,000,000 euros (10¹²): not a claim's amount"]


def test_a_parquet_quantity_stored_as_floating_point_is_quoted_by_its_digits(tmp_path):
    """A double has no text of its own: a whole one is quoted by its digits, as the number it is
    (12345678901.0 is too large, not "not a whole number" quoting '1.2345678901e+10'), even beside
    values that are not whole; those are quoted as they are."""
    folder = good(tmp_path)
    (folder / "claims.csv").unlink()
    n = 4
    pq.write_table(pa.table({"claim_id": [f"C{i}" for i in range(n)], "patient_id": ["P1"] * n,
                             "provider_id": ["010000024"] * n, "service_code": ["G"] * n,
                             "service_date": ["2025-01-05"] * n, "amount": [26.5] * n,
                             "quantity": pa.array([2.0, 12345678901.0, 999999999.5, 1e9], pa.float64())}),
                   folder / "claims.parquet")
    too_many = "is too large: a quantity is a whole number from 1 to 999,999,999"
    assert problems(folder) == [f"claims.parquet, row 2, column quantity, value '12345678901': {too_many}",
                                "claims.parquet, row 3, column quantity, value '999999999.5': is not a whole number ≥ 1",
                                f"claims.parquet, row 4, column quantity, value '1000000000': {too_many}"]


def test_duplicate_id(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "providers", PROVIDERS + [{"provider_id": "010000024", "kind": "nurse"}])
    assert problems(folder) == ["providers.csv, line 4, column provider_id, value '010000024': "
                                "duplicate provider_id (first on line 2)"]


def test_unknown_reference_is_an_error_for_the_billing_provider(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "10000024", "G", "2025-01-05")])
    assert problems(folder) == ["claims.csv, line 2, column provider_id, value '10000024': "
                                "provider_id not found in providers.csv; '010000024' is there: a spreadsheet may have "
                                "dropped or added leading zeros"]


def test_unknown_prescriber_is_a_counted_warning_and_the_row_is_kept(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "690000001", "X", "2025-01-05", prescriber="999"),
                                   claim("C2", "P2", "690000001", "X", "2025-01-05", prescriber="999")])
    d = load_dataset(folder)
    assert d["claims"].num_rows == 2
    assert d.report.warnings == [{
        "table": "claims", "column": "prescriber_id", "target": "providers", "rows": 2, "values": 1,
        "examples": ["999"], "severity": "warning",
        "message": "2 row(s) of claims.csv name 1 prescriber_id value(s) absent from providers.csv; "
                   "kept as entities of unknown kind"}]


def test_wrong_enum(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "providers", [PROVIDERS[0], {"provider_id": "690000001", "kind": "Pharmacy"}])
    assert problems(folder) == ["providers.csv, line 3, column kind, value 'Pharmacy': is not one of: "
                                "physician, dentist, nurse, physiotherapist, midwife, pharmacy, laboratory, other"]


def test_empty_file(tmp_path):
    folder = good(tmp_path)
    (folder / "providers.csv").write_bytes(b"")
    assert problems(folder) == ["providers.csv: the file is empty: expected a header row naming the columns"]


def test_header_only_claims(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [])
    assert problems(folder) == ["claims.csv: has a header but no rows: claims cannot be empty"]


@pytest.mark.parametrize("cell, said", [
    (b"G\xe9", "column service_code, value 'G\ufffd': is not valid UTF-8 (byte 0xE9)"),
    (b"G\xc3\x28", "column service_code, value 'G\ufffd(': is not valid UTF-8 (byte 0xC3)"),
    (b"G\xff\xfe", "column service_code, value 'G\ufffd\ufffd': is not valid UTF-8 (bytes 0xFF 0xFE)"),
])
def test_claims_whose_only_row_is_not_utf8_are_told_so_not_called_empty(tmp_path, cell, said):
    folder = good(tmp_path)
    (folder / "claims.csv").write_bytes(b"claim_id,patient_id,provider_id,service_code,service_date,amount\n"
                                        b"C1,P1,010000024," + cell + b",2025-01-05,26.50\n")
    found = problems(folder)
    assert len(found) == 1 and found[0].startswith(f"claims.csv, line 2, {said}: "), found


def test_a_patient_id_not_utf8_is_told_without_its_bytes(tmp_path):
    folder = good(tmp_path)
    (folder / "claims.csv").write_bytes(b"claim_id,patient_id,provider_id,service_code,service_date,amount\n"
                                        b"C1,P\xe9Q,010000024,G,2025-01-05,26.50\n")
    found = problems(folder)
    assert len(found) == 1 and found[0].startswith(
        "claims.csv, line 2, column patient_id: is not valid UTF-8 (its bytes not shown: a patient column): "), found


def test_wrong_encoding(tmp_path):
    folder = good(tmp_path)
    (folder / "providers.csv").write_bytes(
        "provider_id,kind,name\n010000024,physician,Cl\xe9ment\n690000001,pharmacy,\n".encode("latin-1"))
    assert problems(folder) == ["providers.csv, line 2, column name, value 'Cl\ufffdment': is not valid UTF-8 (byte "
                                "0xE9): it "
                                "looks like Latin-1 or Windows-1252 (a spreadsheet's or SAS's default, é written as one "
                                "byte): save the file as UTF-8, or name its encoding when converting (a mapping's "
                                "encoding = \"cp1252\", convert snds --encoding cp1252)"]


def test_a_line_not_in_the_file_s_encoding_hides_none_of_its_other_problems(tmp_path):
    """Every problem at once: the lines that are not UTF-8 are reported (each counted, the value
    shown with the bad byte replaced — never a patient's), and the file's other lines are
    checked on: a bad date, a negative amount, an unknown provider on other lines are reported
    in the same report."""
    folder = good(tmp_path)
    rows = ["claim_id,patient_id,provider_id,service_code,service_date,amount,quantity"]
    rows += [f"C{i},P{i},010000024,G,2025-01-05,26.50,1" for i in range(1, 40)]
    rows[5] = "C5,P5,010000024,G\xe9,2025-01-05,26.50,1"           # line 6: one Latin-1 byte in an act code
    rows[12] = "C12,P\xe912,010000024,G,2025-01-05,26.50,1"         # line 13: one in a patient id, never shown
    rows[16] = "C16,P16,010000024,G,2025-02-30,26.50,1"              # line 17: no such day
    rows[20] = "C20,P20,010000024,G,2025-01-05,-3.00,1"              # line 21: a negative amount
    rows[30] = "C30,P30,99999999999,G,2025-01-05,26.50,1"            # line 31: an unknown provider
    (folder / "claims.csv").write_bytes("\n".join(rows).encode("latin-1") + b"\n")
    found = problems(folder)
    assert [p.split(":")[0] for p in found if "is not valid UTF-8" in p] == [
        "claims.csv, line 6, column service_code, value 'G\ufffd'", "claims.csv, line 13, column patient_id"]
    assert any(p.startswith("claims.csv, line 17, column service_date, value '2025-02-30'") for p in found), found
    assert any(p.startswith("claims.csv, line 21, column amount, value '-3.00'") for p in found), found
    assert any(p.startswith("claims.csv, line 31, column provider_id, value '99999999999'") for p in found), found
    assert not [p for p in found if "P\ufffd12" in p or "P\xe912" in p]


def test_wrong_number_of_fields(tmp_path):
    folder = good(tmp_path)
    (folder / "providers.csv").write_text("provider_id,kind\n010000024,physician\n690000001,pharmacy,extra\n")
    assert problems(folder) == ["providers.csv, line 3: expected 2 fields (as the header), found 3 (a ',' too many: "
                                "one inside a value must be quoted)"]


def test_a_line_with_the_wrong_number_of_fields_hides_none_of_the_file_s_other_problems(tmp_path):
    folder = good(tmp_path)
    (folder / "claims.csv").write_text(
        "claim_id,patient_id,provider_id,service_code,service_date,amount\n"
        "C1,P1,010000024,G,2025-01-05,26.5\n"
        "C2,P1,010000024,G,2025-01-06,26,50\n"                # a decimal comma, unquoted: one field too many
        "C3,P1,010000024,G,2025-13-07,26.5\n"                 # a bad date
        '"C4\nbis",P1,010000024,G,2025-01-08,abc\n'           # a bad amount, after a cell spanning two lines
        "C5,P1,010000024,G\n"                                  # cut short
        "\n"
        "C6,P1,999,G,2025-01-09,26.5\n"                        # an unknown provider
        "C7,P1,010000024,G,2025-01-09,1,2,3\n")
    assert problems(folder) == [
        "claims.csv, line 3: expected 6 fields (as the header), found 7 (a ',' too many: one inside a value must be "
        "quoted)",
        "claims.csv, line 4, column service_date, value '2025-13-07': is not a date (expected YYYY-MM-DD)",
        "claims.csv, line 5, column amount, value 'abc': is not a number",
        "claims.csv, line 7: expected 6 fields (as the header), found 4 (a ',' too few, or the line cut short)",
        "claims.csv, line 9, column provider_id, value '999': provider_id not found in providers.csv",
        "claims.csv, line 10: expected 6 fields (as the header), found 8 (a ',' too many: one inside a value must be "
        "quoted)"]


def test_every_line_with_the_wrong_number_of_fields_is_counted(tmp_path):
    folder = good(tmp_path)
    (folder / "providers.csv").write_text("provider_id,kind\n" + "".join(f"X{i},nurse,x\n" for i in range(30)) +
                                          "010000024,physician\n690000001,pharmacy\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(folder, max_problems=5)
    assert e.value.total == 30 and len(e.value.problems) == 5
    assert str(e.value.problems[4]).startswith("providers.csv, line 6: expected 2 fields")


def test_patient_identifiers_are_never_printed(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P-SECRET", "010000024", "G", "2025-01-05"),
                                   claim("C1", "P-SECRET", "010000024", "G", "2025-01-05")])
    write_table(folder, "patients", [{"patient_id": "P-SECRET"}, {"patient_id": "P-SECRET"}])
    with pytest.raises(DatasetError) as e:
        load_dataset(folder)
    assert "P-SECRET" not in str(e.value)
    assert "patients.csv, line 3, column patient_id: duplicate patient_id (first on line 2)" in str(e.value)


def test_all_problems_at_once_up_to_a_cap_with_the_rest_counted(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim(f"C{i}", "P1", "010000024", "G", f"2025-13-{i:02d}") for i in range(80)])
    with pytest.raises(DatasetError) as e:
        load_dataset(folder, max_problems=10)
    assert len(e.value.problems) == 10
    assert e.value.total == 80
    assert str(e.value).endswith("  ... and 70 more")


def test_a_table_given_twice_is_refused(tmp_path):
    folder = good(tmp_path)
    pq.write_table(pa.table({"provider_id": ["1"], "kind": ["nurse"]}), folder / "providers.parquet")
    assert problems(folder) == ["providers.parquet: providers is given twice (providers.csv, providers.parquet): keep one"]


def test_line_numbers_count_line_breaks_inside_quoted_cells(tmp_path):
    folder = good(tmp_path)
    (folder / "providers.csv").write_text(
        'provider_id,kind,name\n010000024,physician,"two\nlines"\n690000001,chemist,x\n')
    assert problems(folder)[0].startswith("providers.csv, line 4, column kind, value 'chemist'")


def test_a_missing_reference_is_reported_once_per_value(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "777", "G", "2025-01-05"),
                                   claim("C2", "P2", "010000024", "G", "2025-01-05"),
                                   claim("C3", "P3", "777", "G", "2025-01-06")])
    assert problems(folder) == ["claims.csv, line 2, column provider_id, value '777': "
                                "provider_id not found in providers.csv (2 lines, the first here)"]


def test_several_sources_merge_one_row_per_key_and_check_references_across_them(tmp_path):
    registry = tmp_path / "registry"
    write_table(registry, "providers", [{"provider_id": "690000001", "kind": "pharmacy", "postcode": "69001"},
                                        {"provider_id": "010000024", "kind": "physician", "postcode": "01000"}])
    write_table(registry, "centres", [{"centre_id": "H1", "kind": "hospital"}])
    claims = write_dataset(
        tmp_path / "claims",
        claims=[claim("C1", "P1", "690000001", "X", "2025-01-05", prescriber="010000024", centre="H1")],
        providers=[{"provider_id": "690000001", "kind": "pharmacy", "name": "Pharmacie du Parc"},  # same key, more
                   {"provider_id": "777", "kind": "nurse"}])
    d = load_dataset([registry, claims])
    assert sorted(d["providers"]["provider_id"].to_pylist()) == ["010000024", "690000001", "777"]
    kept = next(p for p in d["providers"].to_pylist() if p["provider_id"] == "690000001")
    assert (kept["postcode"], kept["name"]) == ("69001", "Pharmacie du Parc")   # each source fills the other's gaps
    assert [(w["severity"], w["message"]) for w in d.report.warnings] == [
        ("info", "1 providers row(s) repeat a provider_id of an earlier source (1 key(s)): merged into one row each")]
    assert d.report.tables["claims"] == {"file": str(claims / "claims.csv"), "rows": 1}
    write_table(claims, "claims", [claim("C1", "P1", "999", "X", "2025-01-05")])
    with pytest.raises(DatasetError) as e:
        load_dataset([registry, claims])
    assert [str(p) for p in e.value.problems] == [
        f"{claims / 'claims.csv'}, line 2, column provider_id, value '999': provider_id not found in "
        f"{registry / 'providers.csv'} + {claims / 'providers.csv'}"]


def test_a_file_with_a_bad_date_still_has_its_references_checked_so_every_problem_shows_at_once(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "010000024", "G", "2025-13-01"),
                                   claim("C2", "P1", "99999", "G", "2025-01-05")])
    assert problems(folder) == [
        "claims.csv, line 2, column service_date, value '2025-13-01': is not a date (expected YYYY-MM-DD)",
        "claims.csv, line 3, column provider_id, value '99999': provider_id not found in providers.csv"]


def test_a_reference_target_with_problems_elsewhere_still_answers_and_a_bad_id_is_not_judged_twice(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "providers", [{"provider_id": "010000024", "kind": "physician"},
                                      {"provider_id": "690000001", "kind": "wizard"}])
    write_table(folder, "claims", [claim("C1", "P1", "010000024", "G", "2025-01-05"),
                                   claim("C2", "P1", "1E+09", "G", "2025-01-05"),
                                   claim("C3", "P1", "77777", "G", "2025-01-05"),
                                   claim("C4", "P1", "690000001", "G", "2025-01-05")])
    assert problems(folder) == [
        "claims.csv, line 3, column provider_id, value '1E+09': is a number rewritten by a spreadsheet in scientific "
        "notation: the identifier's digits are lost (format the column as text before exporting)",
        # the scientific-notation cell is one problem, not also an unknown provider; 010000024 and
        # 690000001 (a provider whose kind is wrong) are found
        "claims.csv, line 4, column provider_id, value '77777': provider_id not found in providers.csv",
        "providers.csv, line 3, column kind, value 'wizard': is not one of: " + ", ".join(TABLES["providers"].column(
            "kind").values)]


def test_a_missing_required_value_says_once_how_to_scan_such_an_extract(tmp_path):
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "010000024", "NA", "2025-01-05"),
                                   claim("C2", "P1", "010000024", "NA", "2025-01-06")])
    found = problems(folder)
    assert found[0] == ("claims.csv, line 2, column service_code: missing value (the file has 'NA' in this column, "
                        "read as missing): this column is required (to scan such an extract, leave these lines out "
                        "of it)")
    assert found[1] == ("claims.csv, line 3, column service_code: missing value (the file has 'NA' in this column, "
                        "read as missing): this column is required")


def test_a_link_repeated_exactly_is_kept_once_and_counted(tmp_path):
    """A reviewer appended affiliations.csv to itself (or scanned two overlapping extracts): every
    hospital double-billing alert doubled its euros and a false one appeared. A link said twice is
    one link: kept once, at its first line, the repeats counted in a warning; links that differ in
    a column (another role, another period) are all kept."""
    hospital = {"provider_id": "010000024", "centre_id": "H1", "role": "fulltime_hospital", "start_date": "2015-01-01"}
    other = {**hospital, "role": "parttime_hospital", "start_date": "2012-01-01", "end_date": "2014-12-31"}
    tables = dict(
        claims=[claim("C1", "P1", "010000024", "G", "2025-01-05", 26.5, centre="H1")],
        providers=[{**PROVIDERS[0], "legal_entity_id": "E1"}, PROVIDERS[1]],
        centres=[{"centre_id": "H1", "kind": "hospital", "legal_entity_id": "E1"}],
        legal_entities=[{"legal_entity_id": "E1", "kind": "public"}],
        officers=[{"person_id": "X1", "legal_entity_id": "E1", "role": "director"}] * 2)
    d = load_dataset(write_dataset(tmp_path / "one", affiliations=[hospital, other, hospital, hospital], **tables))
    assert d["affiliations"].select(["role", "start_date"]).to_pylist() == [
        {"role": "fulltime_hospital", "start_date": date(2015, 1, 1)},
        {"role": "parttime_hospital", "start_date": date(2012, 1, 1)}]
    assert d["officers"].num_rows == 1
    assert [(w["table"], w["rows"]) for w in d.report.warnings] == [("affiliations", 2), ("officers", 1)]
    assert d.report.warnings[0]["message"].startswith("2 affiliations row(s) repeat an earlier row exactly")
    # two overlapping extracts: each link once
    write_dataset(tmp_path / "two", affiliations=[hospital], **{k: v for k, v in tables.items() if k != "claims"},
                  claims=[claim("C2", "P1", "010000024", "G", "2025-02-05", 26.5, centre="H1")])
    both = load_dataset([tmp_path / "one", tmp_path / "two"])
    assert both["affiliations"].num_rows == 2 and both["claims"].num_rows == 2


@pytest.mark.parametrize("batches", [False, True], ids=["whole", "batches"])
def test_an_amount_with_an_underscore_or_a_minus_zero_is_refused(tmp_path, batches):
    """`1_000` was loaded as €1,000 (DuckDB's cast, like Python's float(), reads `_` between
    digits) and `-0` as an amount of 0: a digit separator no claim file writes, and a sign on a
    zero, are each refused with the file, line, column and value; `0`, `0.00` and `1e3` load."""
    folder = good(tmp_path)
    write_table(folder, "claims", [claim("C1", "P1", "010000024", "G", "2025-01-05", "1_000"),
                                   claim("C2", "P1", "010000024", "G", "2025-01-05", "-0"),
                                   claim("C3", "P1", "010000024", "G", "2025-01-05", "-0.00"),
                                   claim("C4", "P1", "010000024", "G", "2025-01-05", "1_0.5"),
                                   claim("C5", "P1", "010000024", "G", "2025-01-05", "0.00"),
                                   claim("C8", "P1", "010000024", "G", "2025-01-05", "\t-0")])   # a tab first
    underscore = ("is not a number: it holds '_' (amounts are written with digits and one '.', without "
                  "separators, as in 1000.50)")
    zero = "is a zero with a minus sign: amounts are ≥ 0, written without a sign"
    expected = [f"claims.csv, line 2, column amount, value '1_000': {underscore}",
                f"claims.csv, line 3, column amount, value '-0': {zero}",
                f"claims.csv, line 4, column amount, value '-0.00': {zero}",
                f"claims.csv, line 5, column amount, value '1_0.5': {underscore}",
                f"claims.csv, line 7, column amount, value '\\t-0': {zero}"]
    with pytest.raises(DatasetError) as e:
        load_dataset(folder, claims_to=tmp_path / "claims.parquet" if batches else None)
    assert [str(p) for p in e.value.problems] == expected
    write_table(folder, "claims", [claim("C5", "P1", "010000024", "G", "2025-01-05", "0.00"),
                                   claim("C6", "P1", "010000024", "G", "2025-01-05", "0"),
                                   claim("C7", "P1", "010000024", "G", "2025-01-05", "1e3")])
    assert load_dataset(folder).tables["claims"]["amount"].to_pylist() == [0.0, 0.0, 1000.0]


def test_a_parquet_amount_of_minus_zero_or_text_with_an_underscore_is_refused(tmp_path):
    folder = good(tmp_path)
    (folder / "claims.csv").unlink()
    base = {"claim_id": ["C1", "C2"], "patient_id": ["P1", "P1"], "provider_id": ["010000024", "010000024"],
            "service_code": ["G", "G"], "service_date": ["2025-01-05", "2025-01-05"]}
    pq.write_table(pa.table({**base, "amount": [26.5, -0.0]}), folder / "claims.parquet")
    assert problems(folder) == ["claims.parquet, row 2, column amount, value '-0': is a zero with a minus sign: "
                                "amounts are ≥ 0, written without a sign"]
    pq.write_table(pa.table({**base, "amount": ["26.5", "1_000"]}), folder / "claims.parquet")
    assert problems(folder) == ["claims.parquet, row 2, column amount, value '1_000': is not a number: it holds '_' "
                                "(amounts are written with digits and one '.', without separators, as in 1000.50)"]


def test_no_provider_place_at_all_is_warned_about_once(tmp_path):
    """Claims with a pharmacy and no provider postcode anywhere (an SNDS conversion, an export
    without a registry): pharmacy_collusion and dense_block cannot judge where care happens — one
    warning says so and names what gives places; a registry with places scanned beside them, or a
    dataset with no pharmacy and no patient home (nothing judged on places), gives none."""
    bare = [{"provider_id": "690000001", "kind": "pharmacy"}, {"provider_id": "010000024", "kind": "physician"}]
    folder = write_dataset(tmp_path / "claims", providers=bare,
                           claims=[claim("C1", "P1", "690000001", "X", "2025-01-05", prescriber="010000024")])
    [w] = load_dataset(folder).report.warnings
    assert (w["table"], w["column"], w["rows"], w["severity"]) == ("providers", "postcode", 2, "warning")
    assert w["message"] == (
        "no provider has a postcode (2 provider(s), column postcode): where care happens is unknown, so "
        "pharmacy_collusion judges no traveller and no pharmacy near a practice, and dense_block takes no provider's "
        "postcode for a local area; a registry with places (FINESS, the Annuaire Santé) scanned beside the claims "
        "gives them")
    registry = tmp_path / "registry"
    write_table(registry, "providers", [{**p, "postcode": "69001"} for p in bare])
    assert [w["column"] for w in load_dataset([registry, folder]).report.warnings] == ["provider_id"]  # merged: info
    nurses = write_dataset(tmp_path / "nurses", providers=[{"provider_id": "N1", "kind": "nurse"}],
                           claims=[claim("C1", "P1", "N1", "X", "2025-01-05")])
    assert load_dataset(nurses).report.warnings == []
