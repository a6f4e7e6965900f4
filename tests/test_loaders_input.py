"""The contract loader on the files analysts really have: null tokens, separators, decimal commas,
encodings, ids cut by spreadsheets, Parquet types, keys repeated across sources, registries that
link nothing. Each field case of ../shared/cases is run as it is, and its family on hand-made files."""
import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contract.errors import DatasetError
from loaders.dataset import load_dataset

from .conftest import CASES, claim, write_dataset, write_table

PROVIDERS = [{"provider_id": "010000024", "kind": "physician", "postcode": "01000"},     # places: see
             {"provider_id": "690000001", "kind": "pharmacy", "postcode": "69001"}]    # test_loaders' PROVIDERS
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")


def problems(folder):
    with pytest.raises(DatasetError) as e:
        load_dataset(folder)
    return [str(p) for p in e.value.problems]


# --- null tokens ---------------------------------------------------------------------------------

@needs_cases
def test_case_na_cells_never_become_a_provider_or_an_act_code():
    with pytest.raises(DatasetError) as e:
        load_dataset(CASES / "na-cells" / "dataset")
    found = e.value.problems
    assert not any("prescriber_id" in str(p) or p.value == "NA" for p in found)   # NA is no prescriber
    # 2,919 lines with the same problem are one problem: a count and the first lines, not 2,919 lines
    assert [str(p) for p in found] == [
        "claims.csv, column service_code: missing value (the file has 'NA' in this column, read as missing): this "
        "column is required (to scan such an extract, leave these lines out of it) — on 2,919 lines: 2, 3, 4, 5, 6 "
        "and 2,914 more"]


def test_usual_null_tokens_are_missing_values_counted_in_the_report(tmp_path):
    tokens = ["NA", "N/A", "#N/A", "NULL", "null", "None", "NaN", "-", "  "]
    folder = write_dataset(
        tmp_path / "ds",
        claims=[claim(f"C{i}", "P1", "010000024", "G", "2025-01-05", prescriber=t, centre=t)
                for i, t in enumerate(tokens)] + [claim("C99", "P1", "010000024", "G", "2025-01-05",
                                                        prescriber="690000001")],
        providers=PROVIDERS)
    d = load_dataset(folder)
    assert d["claims"]["prescriber_id"].to_pylist() == [None] * len(tokens) + ["690000001"]
    assert set(d["claims"]["centre_id"].to_pylist()) == {None}
    notes = {w["column"]: w for w in d.report.warnings}
    assert notes["prescriber_id"]["severity"] == "info" and notes["prescriber_id"]["rows"] == len(tokens)
    assert notes["prescriber_id"]["tokens"] == {**{t: 1 for t in tokens[:-1]}, "(blank)": 1}
    assert notes["prescriber_id"]["message"].startswith("claims.csv: 9 prescriber_id cell(s) read as missing values ("
                                                        "'NA' × 1: line 2; 'N/A' × 1: line 3; ")
    assert notes["prescriber_id"]["message"].endswith("; blank × 1: line 10)")


def test_null_tokens_of_sas_spss_and_spreadsheets_in_id_columns_are_no_entities(tmp_path):
    # '.' (SAS, SPSS, Stata), 'n/a', '#NULL!' (a spreadsheet's error cell), 'NONE' (an upper-cased
    # export) in a prescriber, centre or legal entity column: missing values, each counted with its
    # first lines — never a prescriber '.', a centre 'NONE' or a company 'n/a'
    tokens = [".", "n/a", "#NULL!", "NONE", "."]
    folder = write_dataset(
        tmp_path / "ds",
        claims=[claim(f"C{i}", "P1", "010000024", "G", "2025-01-05", prescriber=t, centre=t)
                for i, t in enumerate(tokens)] + [claim("C9", "P1", "010000024", "G", "2025-01-05",
                                                       prescriber="690000001", centre="NA.")],
        providers=[{**p, "legal_entity_id": t} for p, t in zip(PROVIDERS, ("#NULL!", "SIREN1"))])
    d = load_dataset(folder)
    assert d["claims"]["prescriber_id"].to_pylist() == [None] * len(tokens) + ["690000001"]
    assert d["claims"]["centre_id"].to_pylist() == [None] * len(tokens) + ["NA."]      # a look-alike is an id
    assert d["providers"]["legal_entity_id"].to_pylist() == [None, "SIREN1"]
    notes = {(w["table"], w["column"]): w for w in d.report.warnings if w["severity"] == "info"}
    assert notes["claims", "prescriber_id"]["tokens"] == {".": 2, "n/a": 1, "#NULL!": 1, "NONE": 1}
    assert notes["claims", "prescriber_id"]["message"] == (
        "claims.csv: 5 prescriber_id cell(s) read as missing values ('.' × 2: lines 2, 6; 'n/a' × 1: line 3; "
        "'#NULL!' × 1: line 4; 'NONE' × 1: line 5)")
    assert notes["providers", "legal_entity_id"]["message"] == (
        "providers.csv: 1 legal_entity_id cell(s) read as missing values ('#NULL!' × 1: line 2)")


def test_a_null_token_padded_with_spaces_is_a_missing_value_counted_as_written(tmp_path):
    # a fixed-width export pads 'NA' to the column's width: spaces around a token mean no more than
    # a cell of spaces only; the note quotes the cell as the file writes it. A look-alike stays a value.
    cells = [" NA ", "NA", "NA  ", "\t.", " n/a", "NA .", " Na "]
    folder = write_dataset(
        tmp_path / "ds",
        claims=[claim(f"C{i}", "P1", "010000024", "G", "2025-01-05", prescriber=t, centre=t)
                for i, t in enumerate(cells)],
        providers=PROVIDERS)
    d = load_dataset(folder)
    assert d["claims"]["prescriber_id"].to_pylist() == [None] * 5 + ["NA .", " Na "]
    notes = {w["column"]: w for w in d.report.warnings if w["severity"] == "info"}
    assert notes["centre_id"]["tokens"] == {" NA ": 1, "NA": 1, "NA  ": 1, "\t.": 1, " n/a": 1}
    assert notes["centre_id"]["message"] == (
        "claims.csv: 5 centre_id cell(s) read as missing values (' NA ' × 1: line 2; 'NA' × 1: line 3; "
        "'NA  ' × 1: line 4; '\\t.' × 1: line 5; ' n/a' × 1: line 6)")
    # a required column left empty this way is refused naming the cell as written
    folder = write_dataset(tmp_path / "ds2", providers=PROVIDERS, claims=[claim("C1", "P1", " NA ", "G", "2025-01-05")])
    assert problems(folder) == ["claims.csv, line 2, column provider_id: missing value (the file has ' NA ' in this "
                                "column, read as missing): this column is required (to scan such an extract, leave "
                                "these lines out of it)"]


@pytest.mark.parametrize("token", [".", "n/a", "#NULL!", "NONE", "none", "<NA>"])
def test_a_null_token_as_a_billing_provider_is_refused_naming_it(tmp_path, token):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS,
                           claims=[claim("C1", "P1", token, "G", "2025-01-05")])
    assert problems(folder) == [f"claims.csv, line 2, column provider_id: missing value (the file has {token!r} in "
                                "this column, read as missing): this column is required (to scan such an extract, "
                                "leave these lines out of it)"]


def test_a_null_token_in_a_required_column_is_named_in_the_error(tmp_path):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS,
                           claims=[claim("C1", "P1", "NULL", "G", "2025-01-05")])
    assert problems(folder) == ["claims.csv, line 2, column provider_id: missing value (the file has 'NULL' in this "
                                "column, read as missing): this column is required (to scan such an extract, leave these "
                                "lines out of it)"]


# --- separators, decimal commas, encodings, spreadsheets ------------------------------------------

@pytest.mark.parametrize("sep, named", [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_another_separator_is_named_in_the_error(tmp_path, sep, named):
    folder = write_dataset(tmp_path / "ds", claims=[claim("C1", "P1", "010000024", "G", "2025-01-05")])
    (folder / "providers.csv").write_text(f"provider_id{sep}kind\n010000024{sep}physician\n")
    assert problems(folder) == [f"providers.csv, line 1: the header has a single column: this file seems to use {named} "
                                f"as its separator, and this reader expects ',' (export it comma-separated, or convert "
                                f"it with a mapping: delimiter = \"{sep}\")"]


def test_a_utf16_file_is_named_as_such(tmp_path):
    folder = write_dataset(tmp_path / "ds", claims=[claim("C1", "P1", "010000024", "G", "2025-01-05")])
    (folder / "providers.csv").write_bytes("provider_id,kind\n010000024,physician\n".encode("utf-16"))
    assert problems(folder) == ["providers.csv, line 1: the file is UTF-16 (a spreadsheet's 'Unicode text'): save it "
                                "as CSV UTF-8"]


def test_bytes_not_utf_8_in_a_column_fraudnet_does_not_read_are_counted_not_refused_nor_shown(tmp_path):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, claims=[claim("C1", "P1", "010000024", "G", "2025-01-05")])
    (folder / "claims.csv").write_bytes(
        b"claim_id,patient_id,provider_id,service_code,service_date,amount,note\n"
        b"C1,P1,010000024,G,2025-01-05,10,r\xe9sum\xe9 secret\n"
        b"C2,P1,010000024,G,2025-01-05,10,\xe9t\xe9 secret\n"
        b"C3,P1,010000024,G,2025-01-05,10,plain\n")
    d = load_dataset(folder)
    assert d["claims"]["claim_id"].to_pylist() == ["C1", "C2", "C3"]
    (note,) = [w for w in d.report.warnings if "does not read" in w["message"]]
    assert (note["severity"], note["columns"], note["message"]) == (
        "info", {"note": 2}, "claims.csv: 2 cell(s) of column(s) fraudnet does not read hold bytes that are not UTF-8 "
        "(note × 2): ignored, as those columns are")
    # a line with such bytes in a contract column too is refused naming that column, never the other's value
    (folder / "claims.csv").write_bytes(
        b"claim_id,patient_id,provider_id,service_code,service_date,amount,note\n"
        b"C1,P1,010000024,G,2025-01-05,10,plain\n"
        b"C2,P1,010000024,G\xe9,2025-01-05,10,\xe9t\xe9 secret\n")
    found = problems(folder)
    assert [p.split(": is not valid")[0] for p in found] == ["claims.csv, line 3, column service_code, value 'G\ufffd'"]
    assert not any("secret" in p for p in found)


def test_a_parquet_binary_column_fraudnet_does_not_read_may_hold_bytes_not_utf_8(tmp_path):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, claims=[claim("C1", "P1", "010000024", "G", "2025-01-05")])
    (folder / "claims.csv").unlink()
    pq.write_table(pa.table({"claim_id": ["C1", "C2"], "patient_id": ["P1", "P1"], "provider_id": ["010000024"] * 2,
                             "service_code": ["G", "G"], "service_date": ["2025-01-05"] * 2, "amount": [10.0, 12.0],
                             "blob": pa.array([b"\xff\xfe secret", b"ok"], pa.binary())}), folder / "claims.parquet")
    d = load_dataset(folder)
    assert d["claims"].num_rows == 2
    assert [w["columns"] for w in d.report.warnings if "does not read" in w["message"]] == [{"blob": 1}]
    # the look-alike: such bytes in a contract column are a problem naming its row
    pq.write_table(pa.table({"claim_id": ["C1", "C2"], "patient_id": ["P1", "P1"], "provider_id": ["010000024"] * 2,
                             "service_code": pa.array([b"G", b"\xff"], pa.binary()), "service_date": ["2025-01-05"] * 2,
                             "amount": [10.0, 12.0]}), folder / "claims.parquet")
    assert problems(folder) == ["claims.parquet, row 2, column service_code: is not UTF-8 text (a binary column): store "
                                "text as UTF-8 strings"]


def test_an_id_in_scientific_notation_is_an_error(tmp_path):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS + [{"provider_id": "1.00E+10", "kind": "nurse"}],
                           claims=[claim("C1", "P1", "010000024", "G", "2025-01-05")])
    assert problems(folder) == ["providers.csv, line 4, column provider_id, value '1.00E+10': is a number rewritten "
                                "by a spreadsheet in scientific notation: the identifier's digits are lost (format the "
                                "column as text before exporting)"]


def test_fixed_length_ids_missing_a_leading_zero_are_reported(tmp_path):
    centres = [{"centre_id": f"0{i}0000024", "kind": "hospital", "postcode": f"0{i}000"} for i in range(1, 10)]
    centres += [{"centre_id": "750000011", "kind": "clinic", "postcode": "75011"},
                {"centre_id": "10000032", "kind": "clinic", "postcode": "1090"}]          # both lost their 0
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, centres=centres,
                           claims=[claim("C1", "P1", "010000024", "G", "2025-01-05", centre="010000024")])
    d = load_dataset(folder)
    assert [(w["column"], w["rows"], w["examples"]) for w in d.report.warnings] == [
        ("centre_id", 1, ["10000032"]), ("postcode", 1, ["1090"])]
    assert d.report.warnings[0]["message"] == (
        "centres.csv: 1 centre_id value(s) have 8 digits (e.g. '10000032') where the others have 9, as a FINESS or "
        "SIREN number has: a spreadsheet may have dropped a leading zero (format the column as text before exporting)")


def test_ids_of_one_short_length_throughout_are_not_suspect(tmp_path):
    # Belgian postcodes have 4 digits; a column of mixed lengths has no fixed format
    centres = [{"centre_id": f"C{i}", "kind": "hospital", "postcode": f"{1000 + i}"} for i in range(20)]
    centres += [{"centre_id": f"{10 ** (i + 3)}", "kind": "clinic", "postcode": f"{2000 + i}"} for i in range(6)]
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, centres=centres,
                           claims=[claim("C1", "P1", "010000024", "G", "2025-01-05")])
    assert load_dataset(folder).report.warnings == []


def test_a_reference_missing_its_leading_zero_says_so(tmp_path):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS,
                           centres=[{"centre_id": "010000032", "kind": "clinic"}],
                           claims=[claim("C1", "P1", "010000024", "G", "2025-01-05", centre="10000032")])
    (w,) = load_dataset(folder).report.warnings
    assert w["message"].endswith("kept as entities of unknown kind; 1 of them match an id there once leading zeros "
                                 "are added or removed (a spreadsheet's doing?)")


def test_an_id_not_found_because_of_its_spaces_says_where_they_are(tmp_path):
    """Spaces are part of an id ('D2 ' is not 'D2'): a reference not found says where the value's
    spaces are and names the id found once the spaces around either are taken away."""
    providers = PROVIDERS + [{"provider_id": "D2", "kind": "nurse"}, {"provider_id": "D4 ", "kind": "nurse"}]
    folder = write_dataset(tmp_path / "ds", providers=providers, claims=[
        claim("C1", "P1", "D2 ", "G", "2025-01-05"), claim("C2", "P1", " D2", "G", "2025-01-05"),
        claim("C3", "P1", "D\u00a02", "G", "2025-01-05"), claim("C4", "P1", "D4", "G", "2025-01-05"),
        claim("C5", "P1", "D 9", "G", "2025-01-05"), claim("C6", "P1", "D9", "G", "2025-01-05")])
    said = "provider_id not found in providers.csv"
    assert problems(folder) == [
        f"claims.csv, line 2, column provider_id, value 'D2 ': {said}; the value has spaces (at its end), which are "
        "part of an id: 'D2' is there, without them (trim the extract's cells)",
        f"claims.csv, line 3, column provider_id, value ' D2': {said}; the value has spaces (at its start), which are "
        "part of an id: 'D2' is there, without them (trim the extract's cells)",
        f"claims.csv, line 4, column provider_id, value 'D\\xa02': {said}; the value has spaces (inside), which are "
        "part of an id",
        f"claims.csv, line 5, column provider_id, value 'D4': {said}; 'D4 ' is there, with spaces around it, which are "
        "part of an id (trim the extract's cells)",
        f"claims.csv, line 6, column provider_id, value 'D 9': {said}; the value has spaces (inside), which are part "
        "of an id",
        f"claims.csv, line 7, column provider_id, value 'D9': {said}"]       # the look-alike: no word of spaces
    # a prescriber (a warning: kept as an entity of unknown kind) counts them
    folder = write_dataset(tmp_path / "ds2", providers=providers, claims=[
        claim("C1", "P1", "D2", "G", "2025-01-05", prescriber="D2 "), claim("C2", "P1", "D2", "G", "2025-01-05",
                                                                          prescriber="X Y"),
        claim("C3", "P1", "D2", "G", "2025-01-05", prescriber="X9")])
    warned = [w["message"] for w in load_dataset(folder).report.warnings if w["column"] == "prescriber_id"]
    assert warned == ["3 row(s) of claims.csv name 3 prescriber_id value(s) absent from providers.csv; kept as "
                      "entities of unknown kind; 2 of them have spaces, which are part of an id; 1 of them are found "
                      "there once the spaces around ids are taken away (trim the extract's cells)"]


# --- Parquet -------------------------------------------------------------------------------------

def test_parquet_timestamps_at_midnight_are_dates_and_integer_ids_are_warned_about(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    pq.write_table(pa.table({
        "claim_id": ["C1", "C2"], "patient_id": ["P1", "P2"], "provider_id": pa.array([10000024, 10000024]),
        "service_code": ["G", "G"], "service_date": pa.array([dt.datetime(2025, 1, 5), dt.datetime(2025, 1, 6)]),
        "amount": pa.array([26.5, 30.0])}), folder / "claims.parquet")
    pq.write_table(pa.table({"provider_id": pa.array([10000024], pa.int64()), "kind": ["physician"]}),
                   folder / "providers.parquet")
    d = load_dataset(folder)
    assert d["claims"]["service_date"].to_pylist() == [dt.date(2025, 1, 5), dt.date(2025, 1, 6)]
    assert d["claims"]["provider_id"].to_pylist() == ["10000024", "10000024"]
    assert [(w["table"], w["column"], w["severity"]) for w in d.report.warnings] == [
        ("claims", "provider_id", "warning"), ("providers", "provider_id", "warning")]
    assert d.report.warnings[0]["message"] == (
        "claims.parquet stores provider_id as integer numbers: identifiers are text, and a number loses leading zeros "
        "(010000024 becomes 10000024); store the column as strings")


def test_parquet_timestamps_with_a_time_of_day_are_refused(tmp_path):
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS)
    pq.write_table(pa.table({
        "claim_id": ["C1"], "patient_id": ["P1"], "provider_id": ["010000024"], "service_code": ["G"],
        "service_date": pa.array([dt.datetime(2025, 1, 5, 14, 30)]), "amount": [26.5]}), folder / "claims.parquet")
    assert problems(folder) == ["claims.parquet, row 1, column service_date, value '2025-01-05 14:30:00': has a time "
                                "of day: expected a date (YYYY-MM-DD)"]
    # one value with a time of day among midnights: that row alone (all 100 were reported, the real
    # one hidden among 50 midnights), the others read as their dates
    times = [dt.datetime(2025, 1, 1)] * 99 + [dt.datetime(2025, 1, 2, 14, 5)]
    pq.write_table(pa.table({
        "claim_id": [f"C{i}" for i in range(100)], "patient_id": ["P1"] * 100, "provider_id": ["010000024"] * 100,
        "service_code": ["G"] * 100, "service_date": pa.array(times), "amount": [26.5] * 100}), folder / "claims.parquet")
    assert problems(folder) == ["claims.parquet, row 100, column service_date, value '2025-01-02 14:05:00': has a "
                                "time of day: expected a date (YYYY-MM-DD)"]


# --- keys repeated across sources ----------------------------------------------------------------

@needs_cases
def test_case_claim_ids_restarting_in_each_monthly_extract_are_an_error_naming_both_files():
    jan, feb = CASES / "claim-ids-restart-per-extract" / "2025-01", CASES / "claim-ids-restart-per-extract" / "2025-02"
    with pytest.raises(DatasetError) as e:
        load_dataset([jan, feb])
    assert [str(p) for p in e.value.problems] == [
        f"{feb / 'claims.csv'}, line {n}, column claim_id, value 'L00000{n - 1}': claim_id repeated from "
        f"{jan / 'claims.csv'}, line {n}, with different {cols}: one key must name one claim across sources (claim ids "
        f"that restart in each extract: make them unique per extract, e.g. with a mapping prefix)"
        for n, cols in ((2, "patient_id, provider_id, service_code, service_date, amount"),
                        (3, "patient_id, provider_id, service_code, service_date, amount"),
                        (4, "patient_id, provider_id, service_code, service_date, amount"))]


def test_the_same_claims_in_two_extracts_are_kept_once_and_counted(tmp_path):
    rows = [claim("C1", "P1", "010000024", "G", "2025-01-05"), claim("C2", "P2", "010000024", "G", "2025-01-06")]
    a = write_dataset(tmp_path / "a", claims=rows, providers=PROVIDERS)
    b = write_dataset(tmp_path / "b", claims=rows[1:] + [claim("C3", "P3", "010000024", "G", "2025-01-07")],
                      providers=PROVIDERS)
    d = load_dataset([a, b])
    assert d["claims"]["claim_id"].to_pylist() == ["C1", "C2", "C3"]
    assert [(w["table"], w["rows"], w["severity"]) for w in d.report.warnings] == [
        ("claims", 1, "info"), ("providers", 2, "info")]


def test_one_claim_id_with_another_amount_in_another_source_is_an_error(tmp_path):
    a = write_dataset(tmp_path / "a", providers=PROVIDERS, claims=[claim("C1", "P1", "010000024", "G", "2025-01-05", 26.5)])
    b = write_dataset(tmp_path / "b", providers=PROVIDERS, claims=[claim("C1", "P1", "010000024", "G", "2025-01-05", 30)])
    assert problems([a, b]) == [
        f"{b / 'claims.csv'}, line 2, column claim_id, value 'C1': claim_id repeated from {a / 'claims.csv'}, line 2, "
        f"with different amount: one key must name one claim across sources (claim ids that restart in each extract: "
        f"make them unique per extract, e.g. with a mapping prefix)"]


def test_a_provider_of_another_kind_in_another_source_is_an_error_but_other_yields(tmp_path):
    claims = [claim("C1", "P1", "010000024", "G", "2025-01-05", prescriber="20000001")]
    a = write_dataset(tmp_path / "a", claims=claims, providers=PROVIDERS + [{"provider_id": "20000001", "kind": "other"}])
    b = write_dataset(tmp_path / "b", providers=[{"provider_id": "20000001", "kind": "dentist", "specialty": "odf"},
                                                 {"provider_id": "690000001", "kind": "pharmacy", "name": "X"}])
    d = load_dataset([a, b])
    kinds = {p["provider_id"]: (p["kind"], p["specialty"]) for p in d["providers"].to_pylist()}
    assert kinds["20000001"] == ("dentist", "odf")
    write_table(b, "providers", [{"provider_id": "690000001", "kind": "nurse"}])
    assert problems([a, b]) == [
        f"{b / 'providers.csv'}, line 2, column provider_id, value '690000001': provider_id repeated from "
        f"{a / 'providers.csv'}, line 3, with different kind: one key must name one provider across sources"]


def test_descriptive_differences_across_sources_are_counted_and_the_first_source_wins(tmp_path):
    a = write_dataset(tmp_path / "a", claims=[claim("C1", "P1", "010000024", "G", "2025-01-05")],
                      providers=[{**PROVIDERS[0], "postcode": "01000"}, {**PROVIDERS[1], "postcode": "69001"}])
    b = write_dataset(tmp_path / "b", providers=[{**PROVIDERS[0], "postcode": "01090"}])
    d = load_dataset([a, b])
    assert d["providers"].to_pylist()[0]["postcode"] == "01000"
    warning = next(w for w in d.report.warnings if w["severity"] == "warning")
    assert warning["examples"] == ["010000024"] and warning["message"].startswith(
        "1 providers described differently by two sources (postcode): the first source")


# --- how much a registry links -------------------------------------------------------------------

def test_a_registry_that_links_nothing_is_a_critical_warning(tmp_path):
    claims = write_dataset(tmp_path / "claims", providers=[{"provider_id": "691234567", "kind": "nurse"}],
                           claims=[claim("C1", "P1", "691234567", "AMI1", "2025-01-05")])
    registry = write_dataset(tmp_path / "registry", providers=[{"provider_id": "0691234567", "kind": "nurse"}])
    d = load_dataset([claims, registry])
    (link,) = d.report.links
    assert (link["providers"], link["prescribers"], link["centres"], link["severity"]) == (
        {"found": 0, "of": 1, "all": 1}, {"found": 0, "of": 0, "all": 0}, {"found": 0, "of": 0, "all": 0}, "critical")
    (warning,) = [w for w in d.report.warnings if w["severity"] == "critical"]
    assert warning["message"] == (
        f"registry {registry} links none of the claims' entities (0 of 1 claim providers of its kinds, 0 of 0 "
        f"prescribers, 0 of 0 centres): the graph falls apart into claims on one side and the registry on the other. "
        f"Check that both write identifiers the same way (provider ids have 9 characters in the claims and 10 in the "
        f"registry: a type digit, a check digit or leading zeros?).")


def test_a_registry_of_pharmacies_is_judged_on_the_pharmacies_of_the_claims(tmp_path):
    physicians = [{"provider_id": f"1{i:08d}", "kind": "physician"} for i in range(40)]
    claims = write_dataset(
        tmp_path / "claims", providers=physicians + [{"provider_id": "690000001", "kind": "pharmacy"}],
        claims=[claim(f"C{i}", "P1", p["provider_id"], "G", "2025-01-05") for i, p in enumerate(physicians)]
        + [claim("D1", "P1", "690000001", "X", "2025-01-05", prescriber="100000001", centre="750000001")])
    registry = write_dataset(tmp_path / "registry", providers=[{"provider_id": "690000001", "kind": "pharmacy"},
                                                               {"provider_id": "690000002", "kind": "pharmacy"}],
                             centres=[{"centre_id": "750000001", "kind": "hospital"}])
    d = load_dataset([claims, registry])
    (link,) = d.report.links
    assert (link["providers"], link["prescribers"], link["centres"], link["share"], link["severity"]) == (
        {"found": 1, "of": 1, "all": 41}, {"found": 0, "of": 0, "all": 1}, {"found": 1, "of": 1, "all": 1}, 1.0, "info")
    assert not [w for w in d.report.warnings if w["severity"] == "critical"]


def test_a_registry_linking_almost_nothing_is_critical(tmp_path):
    nurses = [{"provider_id": f"6{i:08d}", "kind": "nurse"} for i in range(30)]
    claims = write_dataset(tmp_path / "claims", providers=nurses,
                           claims=[claim(f"C{i}", "P1", p["provider_id"], "AMI1", "2025-01-05")
                                   for i, p in enumerate(nurses)])
    registry = write_dataset(tmp_path / "registry", providers=[nurses[0]] + [
        {"provider_id": f"0{p['provider_id']}", "kind": "nurse"} for p in nurses[1:]])
    (link,) = load_dataset([claims, registry]).report.links
    assert (link["providers"]["found"], link["providers"]["of"], link["severity"]) == (1, 30, "critical")
    assert link["message"].startswith(f"registry {registry} links almost none of the claims' entities")


def test_categories_apply_to_finess_only(tmp_path):
    from click.testing import CliRunner

    from cli.main import main
    (tmp_path / "cat.csv").write_text("code,kind\n620,pharmacy\n")
    folder = write_dataset(tmp_path / "ds", providers=PROVIDERS, claims=[claim("C1", "P1", "010000024", "G", "2025-01-05")])
    out = CliRunner().invoke(main, ["convert", "parquet", str(folder), str(tmp_path / "out"), "--categories",
                                    str(tmp_path / "cat.csv")])
    assert out.exit_code == 2 and "applies to `convert finess` only, not parquet" in out.output
    assert not (tmp_path / "out").exists()


# --- files no table is read from -----------------------------------------------------------------

def test_files_no_table_is_read_from_are_counted_and_named_never_skipped_silently(tmp_path):
    good = [claim("C1", "P1", "010000024", "G", "2025-01-05")]
    folder = write_dataset(tmp_path / "ds", claims=good, providers=PROVIDERS)
    (folder / "claims_2024.csv").write_bytes((folder / "claims.csv").read_bytes())     # a year meant to be read too
    (folder / "notes.txt").write_text("mine")
    (folder / ".hidden").write_text("x")                      # hidden files and folders are not data
    (folder / "old").mkdir()
    (folder / "conversion_report.json").write_text("{}")      # a converter's report, beside its tables
    d = load_dataset(folder)
    unread = [w for w in d.report.warnings if "not read" in w["message"]]
    assert len(unread) == 1 and unread[0]["severity"] == "warning" and unread[0]["files"] == ["claims_2024.csv", "notes.txt"]
    assert unread[0]["message"].startswith("ds: 2 file(s) not read, no table's name: claims_2024.csv, notes.txt (a "
                                           "table is read from TABLE.csv, TABLE.csv.gz or TABLE.parquet")
    clean = write_dataset(tmp_path / "clean", claims=good, providers=PROVIDERS)
    assert not [w for w in load_dataset(clean).report.warnings if "not read" in w["message"]]


def test_a_table_file_named_in_another_case_is_named_in_the_missing_tables_problem(tmp_path):
    folder = write_dataset(tmp_path / "ds", claims=[claim("C1", "P1", "010000024", "G", "2025-01-05")],
                           providers=PROVIDERS)
    (folder / "claims.csv").rename(folder / "Claims.CSV")
    assert problems(folder) == ["claims.csv: required table is missing from " + str(folder) + " (looked for claims.csv, "
                                "claims.csv.gz, claims.parquet; the folder holds Claims.CSV: names are exact, lower case)"]


def test_blank_postcodes_are_counted_per_file_and_column_with_no_value(tmp_path):
    """Some providers and patients with no postcode (an empty or blank cell): an unknown place the
    distance tests leave out, so the load report says how many, naming the file and the column —
    never a patient's id. A column empty throughout is a source without places: nothing to say."""
    providers = [{"provider_id": f"D{i}", "kind": "physician", "postcode": "" if i < 2 else (" " if i == 2 else "69001")}
                 for i in range(6)]
    patients = [{"patient_id": f"SECRET{i}", "postcode": "" if i % 4 == 0 else "69002"} for i in range(8)]
    folder = write_dataset(tmp_path / "ds", providers=providers, patients=patients,
                           claims=[claim("C1", "SECRET1", "D3", "G", "2025-01-05")])
    d = load_dataset(folder)
    found = [w for w in d.report.warnings if w.get("column") == "postcode" and w["severity"] == "warning"]
    assert [(w["table"], w["rows"], w["severity"]) for w in found] == [("providers", 3, "warning"),
                                                                         ("patients", 2, "warning")]
    assert found[0]["message"] == (
        "providers.csv: 3 of 6 provider(s) have no postcode (column postcode): where they practise is unknown; "
        "pharmacy_collusion leaves their flows out of its tests of where patients live, are prescribed and fill")
    assert found[1]["message"].startswith("patients.csv: 2 of 8 patient(s) have no postcode (column postcode): their "
                                          "homes are unknown; pharmacy_collusion and dense_block leave them out")
    assert not any("SECRET" in w["message"] for w in d.report.warnings)
    none = write_dataset(tmp_path / "none", providers=[dict(p, postcode="") for p in providers],
                         claims=[claim("C1", "SECRET1", "D3", "G", "2025-01-05")])
    assert not [w for w in load_dataset(none).report.warnings if w.get("column") == "postcode" and w["severity"] == "warning"]
