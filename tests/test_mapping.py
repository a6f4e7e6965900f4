"""Declarative mappings: the two shipped examples convert into datasets that validate, every
mapping fault is reported at once, values that cannot be converted name their line, and a
per-extract prefix keeps claim ids that restart each month apart."""
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cli.main import main
from contract.errors import DatasetError
from loaders import EXAMPLES
from loaders.dataset import load_dataset
from loaders.mapping import MappingError, convert_mapped, load_mapping, report_lines

from .conftest import CASES, REPO, read_csv

MAPPINGS = EXAMPLES / "mappings"


def test_the_us_claims_example_reads_na_as_missing_and_us_dates(tmp_path):
    out = CliRunner().invoke(main, ["convert", "mapped", str(MAPPINGS / "us-claims.toml"),
                                    str(MAPPINGS / "us-claims.csv"), str(tmp_path / "us")])
    assert out.exit_code == 0, out.output
    assert "    AttendingPhysician: 2 cells read as missing ('NA' × 2)" in out.output
    d = load_dataset(tmp_path / "us")
    claims = d["claims"].to_pylist()
    assert len(claims) == 12 and str(claims[0]["service_date"]) == "2009-03-12"
    assert "NA" not in {c["prescriber_id"] for c in claims} | {c["service_code"] for c in claims}
    assert [c["service_code"] for c in claims[:3]] == ["71947", "2724", "9904"]   # procedure, else diagnosis
    kinds = {p["provider_id"]: p["kind"] for p in d["providers"].to_pylist()}
    assert kinds["PRV56011"] == "other" and kinds["PHY326117"] == "physician" and "NA" not in kinds
    report = json.loads((tmp_path / "us" / "conversion_report.json").read_text())
    assert report["tables"]["providers"]["sets"][1] == {"key_from": "AttendingPhysician", "rows_without_key": 2}


def test_the_french_spreadsheet_example_reads_cp1252_semicolons_and_decimal_commas(tmp_path):
    c = convert_mapped(MAPPINGS / "french-spreadsheet.toml", MAPPINGS / "french-spreadsheet.csv")
    claims = c["claims"].to_pylist()
    assert [(r["amount"], r["service_date"]) for r in claims[6:8]] == [("26.50", "2025-01-10"), ("1034.72", "2025-01-10")]
    assert c.report["missing_values"] == {"N° PS prescripteur": {"-": 2}}
    assert {p["provider_id"]: p["kind"] for p in c["providers"].to_pylist()}["75712345"] == "physiotherapist"
    (tmp_path / "fr").mkdir()
    from loaders.conversion import write_conversion
    write_conversion(c, tmp_path / "fr")
    assert load_dataset(tmp_path / "fr")["claims"]["amount"].to_pylist()[7] == 1034.72


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# The claims most tests map: source columns id, bene (a patient), prv, code, day, paid.
CLAIMS = {"claim_id": '"id"', "patient_id": '"bene"', "provider_id": '"prv"', "service_code": '"code"',
          "service_date": '"day"', "amount": '"paid"'}


def mapping_text(source: str = "", more: str = "", **columns: str) -> str:
    """A mapping's TOML: the `[source]` settings `source` (TOML lines), `[claims]` as `CLAIMS` with
    each of `columns` (contract column = its TOML value) set or added, then `more` (other tables)."""
    claims = "".join(f"{c} = {v}\n" for c, v in {**CLAIMS, **columns}.items())
    return (f"[source]\n{source}\n" if source else "") + f"[claims]\n{claims}" + more


def test_every_fault_of_a_mapping_is_reported_at_once(tmp_path):
    mapping = write(tmp_path / "m.toml", """
[source]
delimiter = ";;"
separator = ","
[claim]
claim_id = "a"
[claims]
claim_id = "id"
patient = "p"
amount = { column = "x", value = "1" }
[[providers]]
provider_id = { value = "P" }
""")
    with pytest.raises(MappingError) as e:
        load_mapping(mapping)
    assert e.value.messages == [
        "[source] has an unknown setting 'separator' (known: date_format, decimal, delimiter, encoding, null)",
        "[source] delimiter must be one character",
        "[claim] is not a contract table (tables: claims, providers, centres, legal_entities, affiliations, officers, "
        "identifiers, patients, services)",
        "[claims] patient: not a column of claims (claim_id, patient_id, provider_id, prescriber_id, centre_id, "
        "service_code, service_date, amount, quantity)",
        "[claims] amount: give a source column name, or a table with either `column` or `value` (and optionally "
        "default, format, prefix, values)",
        "[claims]: the contract column patient_id is required (map it to a source column or give it a value)",
        "[claims]: the contract column provider_id is required (map it to a source column or give it a value)",
        "[claims]: the contract column service_code is required (map it to a source column or give it a value)",
        "[claims]: the contract column service_date is required (map it to a source column or give it a value)",
        "[providers]: the contract column kind is required (map it to a source column or give it a value)",
        "[providers] provider_id: a key cannot be a constant"]


def test_values_of_the_wrong_type_are_faults_of_the_mapping_never_a_traceback(tmp_path):
    mapping = write(tmp_path / "m.toml", """
[source]
delimiter = 5
date_format = 5
null = "NA"
[claims]
claim_id = "id"
patient_id = { column = [] }
provider_id = { column = "pr", prefix = 3 }
service_code = { column = "c", values = 3 }
service_date = { column = "d", format = 5 }
amount = "a"
""")
    with pytest.raises(MappingError) as e:
        load_mapping(mapping)
    assert e.value.messages == [
        "[source] delimiter must be a text (got 5)", "[source] date_format must be a text (got 5)",
        "[source] null must be a list of texts (got 'NA')",
        "[claims] patient_id: column must be a source column name or a non-empty list of names (got [])",
        "[claims] provider_id: prefix must be a text (got 3)",
        "[claims] service_code: values must be a table of source value = contract value texts (got 3)",
        "[claims] service_date: format must be a text (got 5)"]


def test_a_column_the_source_lacks_is_named_with_the_columns_it_has(tmp_path):
    mapping = write(tmp_path / "m.toml", '[providers]\nprovider_id = "Id"\nkind = "Kind"\n')
    source = write(tmp_path / "s.csv", "ID,Profession\n1,nurse\n")
    with pytest.raises(MappingError) as e:
        convert_mapped(mapping, source)
    assert e.value.messages == ["names the column 'Kind', which s.csv does not have (its columns: id, profession)"]


def test_a_fault_of_the_mapping_and_a_column_the_source_lacks_are_reported_together(tmp_path):
    """Not in rounds: an unknown setting or table does not hide a mapped column the file lacks."""
    mapping = write(tmp_path / "m.toml", '[source]\ndecimals = ","\n[providers]\nprovider_id = "Id"\nkind = "Kind"\n'
                                         '[bogus]\nx = "y"\n')
    source = write(tmp_path / "s.csv", "ID,Profession\n1,nurse\n")
    with pytest.raises(MappingError) as e:
        convert_mapped(mapping, source)
    assert e.value.messages == [
        "[source] has an unknown setting 'decimals' (known: date_format, decimal, delimiter, encoding, null)",
        "[bogus] is not a contract table (tables: claims, providers, centres, legal_entities, affiliations, officers, "
        "identifiers, patients, services)",
        "names the column 'Kind', which s.csv does not have (its columns: id, profession)"]


def test_dates_not_in_the_format_name_their_line_but_never_a_patient_value(tmp_path):
    mapping = write(tmp_path / "m.toml", mapping_text('date_format = "%d/%m/%Y"',
                                                     '[patients]\npatient_id = "bene"\nbirth_year = "born"\n'))
    source = write(tmp_path / "s.csv", "id,bene,prv,code,day,paid,born\n1,ZQXPAT01,P1,G,05/01/2025,10,1950\n"
                                       "2,ZQXPAT02,P1,G,2025-01-06,10,1950\n")
    with pytest.raises(DatasetError) as e:
        convert_mapped(mapping, source)
    assert [str(p) for p in e.value.problems] == [
        "s.csv, line 3, column day, value '2025-01-06': is not a date in the format '%d/%m/%Y' the mapping gives"]
    write(source, source.read_text().replace("2025-01-06", "06/01/2025").replace("1,ZQXPAT01", "1,ZQX\xe9PAT01"),
          "latin-1")
    with pytest.raises(DatasetError) as e:
        convert_mapped(mapping, source)
    assert "ZQX" not in str(e.value) and "s.csv, line 2, column bene: is not valid UTF-8" in str(e.value)


@pytest.mark.parametrize("decimal, cells, good, wrong", [
    # the file's decimal comma read with the default ".": 3,15 is not 315 (a hundred times the amount)
    (".", ['"1,234.50"', '"1 234"', '"3,15"', '"12 5"'], ["1234.50", "1234"], ["3,15", "12 5"]),
    # the file's decimal point read with ",": 12.50 is not 1250
    (",", ['"1.234,50"', '"1 234,5"', '"12.50"', '"1.5"'], ["1234.50", "1234.5"], ["12.50", "1.5"]),
])
def test_a_thousands_separator_out_of_place_is_refused_not_dropped(tmp_path, decimal, cells, good, wrong):
    mapping = write(tmp_path / "m.toml", mapping_text(f'decimal = "{decimal}"', patient_id='"p"', quantity='"n"'))
    rows = "".join(f"{i},A,N1,AMI,2025-01-0{i},{cell},1,x\n" for i, cell in enumerate(cells, 1))
    source = write(tmp_path / "s.csv", "id,p,prv,code,day,paid,n,job\n" + rows)
    with pytest.raises(DatasetError) as e:
        convert_mapped(mapping, source)
    said = str(e.value)
    for line, text in enumerate(wrong, 4):
        assert f"s.csv, line {line}, column paid, value '{text}': is not a number as the mapping reads it " \
               f"(decimal '{decimal}')" in said
    assert said.count("is not a number as the mapping reads it") == len(wrong)
    for line in (2, 3):       # the grouped thousands are read, not refused
        assert f"line {line}, column paid" not in said
    source.write_text("id,p,prv,code,day,paid,n,job\n" + "".join(
        f"{i},A,N1,AMI,2025-01-0{i},{cell},1,x\n" for i, cell in enumerate(cells[:2], 1)))
    c = convert_mapped(mapping, source)
    assert [r["amount"] for r in c["claims"].to_pylist()] == good


def test_thousands_separators_constants_defaults_and_translated_values(tmp_path):
    mapping = write(tmp_path / "m.toml", mapping_text('decimal = ","', """
[[providers]]
provider_id = "prv"
kind = { column = "job", values = { "Infirmière" = "nurse", "Infirmier" = "nurse" } }
legal_entity_id = { value = "E1" }
""", claim_id='{ column = "id", prefix = "X-" }', patient_id='"p"', service_code='{ column = "code", default = "C" }',
                                                     quantity='"n"'))
    source = write(tmp_path / "s.csv", 'id,p,prv,code,day,paid,n,job\n1,A,N1,,2025-01-05,"1 234,5",1,Infirmière\n'
                                       '2,A,N2,AMI,2025-01-05,"1.234,50",2,Infirmier\n3,B,N1,AMI,2025-01-06,"3,15",1,\n')
    c = convert_mapped(mapping, source)
    assert [(r["claim_id"], r["service_code"], r["amount"]) for r in c["claims"].to_pylist()] == [
        ("X-1", "C", "1234.5"), ("X-2", "AMI", "1234.50"), ("X-3", "AMI", "3.15")]
    assert [(p["provider_id"], p["kind"], p["legal_entity_id"]) for p in c["providers"].to_pylist()] == [
        ("N1", "nurse", "E1"), ("N2", "nurse", "E1")]
    assert c.report["tables"]["providers"]["keys_with_differing_rows"] == 0
    # one provider given two kinds by two rows: the report's line names the key and the value (it
    # said "1 keys given different values", naming neither)
    write(source, source.read_text().replace("3,B,N1,AMI,2025-01-06,\"3,15\",1,", "3,B,N1,AMI,2025-01-06,\"3,15\",1,Kiné"))
    mapping.write_text(mapping.read_text().replace('"Infirmier" = "nurse" }', '"Infirmier" = "nurse", "Kiné" = "physiotherapist" }'))
    c = convert_mapped(mapping, source)
    assert c.report["tables"]["providers"]["keys_with_differing_rows"] == 1
    assert "  providers: 2 rows, one row per distinct key; 1 provider_id value(s) given different values by several " \
           "rows (the first row's kept: e.g. 'N1')" in report_lines(c.report)


@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")
def test_monthly_extracts_with_restarting_ids_are_kept_apart_by_a_prefix(tmp_path):
    folders = []
    for month in ("2025-01", "2025-02"):
        mapping = write(tmp_path / f"{month}.toml", f"""
[claims]
claim_id = {{ column = "claim_id", prefix = "{month}:" }}
patient_id = "patient_id"
provider_id = "provider_id"
service_code = "service_code"
service_date = "service_date"
amount = "amount"
""")
        out = tmp_path / month
        done = subprocess.run([sys.executable, "-m", "cli.main", "convert", "mapped", str(mapping),
                               str(CASES / "claim-ids-restart-per-extract" / month / "claims.csv"), str(out)],
                              cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        (out / "providers.csv").write_text((CASES / "claim-ids-restart-per-extract" / month / "providers.csv").read_text())
        folders.append(out)
    d = load_dataset(folders)
    assert d["claims"].num_rows == 7
    assert read_csv(folders[1] / "claims.csv")[0]["claim_id"] == "2025-02:L000001"


PARQUET_MAPPING = mapping_text(more='[[providers]]\nprovider_id = "prv"\nkind = { value = "physician" }\n')


def test_a_parquet_source_storing_ids_as_numbers_is_warned_of_as_the_loader_warns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    mapping = write(tmp_path / "m.toml", PARQUET_MAPPING)
    source = tmp_path / "s.parquet"
    pq.write_table(pa.table({"id": ["c1", "c2"], "bene": ["ZQXPAT01", "ZQXPAT02"], "prv": pa.array([10000024] * 2),
                             "code": ["G", "G"], "day": ["2025-01-05", "2025-01-06"], "paid": ["10", "12"]}), source)
    out = CliRunner().invoke(main, ["convert", "mapped", str(mapping), str(source), str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    said = ("s.parquet stores prv (mapped to claims.provider_id, providers.provider_id) as integer numbers: identifiers "
            "are text, and a number loses leading zeros (010000024 becomes 10000024); store the column as strings")
    assert f"    warning: {said}\n" in out.output
    assert "  s.parquet: 2 rows (decimal '.')\n" in out.output and "separator" not in out.output
    report = json.loads((tmp_path / "out" / "conversion_report.json").read_text())
    assert report["warnings"] == [{"severity": "warning", "source_column": "prv",
                                   "columns": ["claims.provider_id", "providers.provider_id"], "message": said}]
    assert "separator" not in report and "encoding" not in report
    # the loader says the same of the Parquet file read directly
    direct = tmp_path / "direct"
    direct.mkdir()
    pq.write_table(pa.table({"claim_id": ["c1"], "patient_id": ["ZQXPAT01"], "provider_id": pa.array([10000024]),
                             "service_code": ["G"], "service_date": ["2025-01-05"], "amount": ["10"]}),
                   direct / "claims.parquet")
    pq.write_table(pa.table({"provider_id": ["10000024"], "kind": ["physician"]}), direct / "providers.parquet")
    assert any("stores provider_id as integer numbers: identifiers are text, and a number loses leading zeros"
               in w["message"] for w in load_dataset(direct).report.warnings)
    # the look-alikes: the same ids stored as text, or a CSV source, give no warning (and the CSV its separator)
    pq.write_table(pa.table({"id": ["c1"], "bene": ["ZQXPAT01"], "prv": ["010000024"], "code": ["G"],
                             "day": ["2025-01-05"], "paid": ["10"]}), source)
    assert convert_mapped(mapping, source).report["warnings"] == []
    csv_source = write(tmp_path / "s.csv", "id,bene,prv,code,day,paid\nc1,ZQXPAT01,10000024,G,2025-01-05,10\n")
    report = convert_mapped(mapping, csv_source).report
    assert report["warnings"] == [] and report_lines(report)[0] == "s.csv: 1 rows (separator ',', decimal '.', utf-8)"


def test_a_parquet_source_names_rows_not_lines(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    mapping = write(tmp_path / "m.toml", PARQUET_MAPPING.replace('service_date = "day"',
                                                                 'service_date = { column = "day", format = "%d/%m/%Y" }'))
    source = tmp_path / "s.parquet"
    pq.write_table(pa.table({"id": ["c1", "c2"], "bene": ["ZQXPAT01", "ZQXPAT02"], "prv": ["P1", "P1"],
                             "code": ["G", "G"], "day": ["05/01/2025", "2025-01-06"], "paid": ["10", "12"]}), source)
    with pytest.raises(DatasetError) as e:
        convert_mapped(mapping, source)
    assert [str(p) for p in e.value.problems] == [
        "s.parquet, row 2, column day, value '2025-01-06': is not a date in the format '%d/%m/%Y' the mapping gives"]


def test_a_day_the_month_does_not_have_is_refused_not_moved_to_the_next_month(tmp_path):
    """Arrow's strptime reads 31/02/2025 as 3 March (it adds the days past the month's end): such a
    value is an error naming its line; a leap day, a one-digit day and month are real dates."""
    mapping = write(tmp_path / "m.toml", mapping_text('date_format = "%d/%m/%Y"'))
    rows = ["31/02/2025", "29/02/2025", "31/04/2025", "29/02/2024", "3/2/2025", "30/04/2025", "31/12/2024"]
    source = write(tmp_path / "s.csv", "id,bene,prv,code,day,paid\n" + "".join(
        f"{i},ZQXPAT0{i},P1,G,{day},10\n" for i, day in enumerate(rows, 1)))
    with pytest.raises(DatasetError) as e:
        convert_mapped(mapping, source)
    assert [str(p) for p in e.value.problems] == [
        f"s.csv, line {line}, column day, value '{day}': is not a date in the format '%d/%m/%Y' the mapping gives"
        for line, day in ((2, "31/02/2025"), (3, "29/02/2025"), (4, "31/04/2025"))]
    write(source, "id,bene,prv,code,day,paid\n" + "".join(
        f"{i},ZQXPAT0{i},P1,G,{day},10\n" for i, day in enumerate(rows[3:], 1)))
    c = convert_mapped(mapping, source)
    assert c.tables["claims"]["service_date"].to_pylist() == ["2024-02-29", "2025-02-03", "2025-04-30", "2024-12-31"]
    # the default format too
    write(mapping, mapping.read_text().replace('date_format = "%d/%m/%Y"', ""))
    write(source, "id,bene,prv,code,day,paid\n1,ZQXPAT01,P1,G,2025-02-28,10\n2,ZQXPAT02,P1,G,2025-02-30,10\n")
    with pytest.raises(DatasetError) as e:
        convert_mapped(mapping, source)
    assert [str(p) for p in e.value.problems] == [
        "s.csv, line 3, column day, value '2025-02-30': is not a date in the format '%Y-%m-%d' the mapping gives"]


def test_a_utf_8_source_named_cp1252_is_refused_naming_a_patient_column_not_its_character(tmp_path):
    mapping = write(tmp_path / "m.toml", mapping_text('encoding = "cp1252"'))
    source = write(tmp_path / "s.csv", "id,bene,prv,code,day,paid\n1,ZQXPAT01,P1,G,2025-01-05,10\n"
                                       "2,ZQXÉPAT02,Pé1,G,2025-01-06,10\n")
    with pytest.raises(DatasetError) as e:
        convert_mapped(mapping, source)
    assert [str(p) for p in e.value.problems] == [
        "s.csv, line 3, column bene: the file is UTF-8, not cp1252: a character of this line (not shown: a patient "
        "column) is written as UTF-8, which cp1252 would read as two or three other characters; convert it without "
        "naming an encoding (UTF-8 is the default)"]


def test_amounts_and_quantities_the_contract_refuses_quote_the_source_s_text(tmp_path):
    """The mapping rewrites numbers (`1 000 000 000` → `1000000000`); the contract loader would quote
    the rewritten text of claims.csv, which the source does not hold: the conversion refuses them,
    naming the source's line, column and text, in the contract loader's words."""
    mapping = write(tmp_path / "m.toml", mapping_text('decimal = ","', amount='{ column = ["paid", "billed"] }',
                                                     quantity='{ column = "n", default = "1" }'))
    source = write(tmp_path / "s.csv", 'id,bene,prv,code,day,paid,billed,n\n'
                                       '1,ZQXPAT01,P1,G,2025-01-05,"10,5",,"1 000 000 000"\n'
                                       '2,ZQXPAT01,P1,G,2025-01-05,,"2 000 000 000 000",1e9\n'
                                       '3,ZQXPAT01,P1,G,2025-01-05,"-3,5",,\n'
                                       '4,ZQXPAT01,P1,G,2025-01-05,"1 000,00",,"999 999 999"\n'
                                       '5,ZQXPAT01,P1,G,2025-01-05,"7,25",,"2,0"\n')
    with pytest.raises(DatasetError) as e:
        convert_mapped(mapping, source)
    assert [str(p) for p in e.value.problems] == [
        "s.csv, line 2, column n, value '1 000 000 000': is too large: a quantity is a whole number from 1 to 999,999,999",
        "s.csv, line 3, column billed, value '2 000 000 000 000': is more than 1,000,000,000,000 euros (10¹²): "
        "not a claim's amount",
        "s.csv, line 3, column n, value '1e9': is not a whole number ≥ 1",
        "s.csv, line 4, column paid, value '-3,5': is negative: amounts are ≥ 0 (a cancellation line? net it with the "
        "line it corrects)",
        "s.csv, line 6, column n, value '2,0': is not a whole number ≥ 1"]
    # the look-alikes convert: the bounds, a quantity left to its default, thousands separators
    write(source, 'id,bene,prv,code,day,paid,billed,n\n1,ZQXPAT01,P1,G,2025-01-05,,"1 000 000 000 000",\n'
                  '2,ZQXPAT01,P1,G,2025-01-05,"0,00",,"999 999 999"\n')
    c = convert_mapped(mapping, source)
    assert [(r["amount"], r["quantity"]) for r in c["claims"].to_pylist()] == [("1000000000000", "1"), ("0.00", "999999999")]


def test_a_column_the_mapping_does_not_read_never_refuses_the_source_nor_shows_in_a_message(tmp_path):
    mapping = write(tmp_path / "m.toml", mapping_text())
    source = tmp_path / "s.csv"
    source.write_bytes(b"id,bene,prv,code,day,paid,comment\n1,ZQXPAT01,P1,G,2025-01-05,10,caf\xe9 secret\n"
                       b"2,ZQXPAT02,P1,G,2025-01-06,10,ok\n")
    c = convert_mapped(mapping, source)
    assert c["claims"].num_rows == 2 and c.report["ignored_bytes"] == {"comment": 1}
    assert "  1 cell(s) of columns the mapping does not read hold bytes not in the file's encoding (comment × 1): " \
           "ignored, as those columns are" in report_lines(c.report)
    # a UTF-8 file named cp1252 is refused for the first character a mapped column would misread,
    # never one of a column the mapping does not read (misread, it is ignored)
    write(mapping, '[source]\nencoding = "cp1252"\n' + mapping.read_text())
    source.write_bytes("id,bene,prv,code,day,paid,comment\n1,ZQXPAT01,P1,G,2025-01-05,10,Ésecret\n"
                       "2,ZQXPAT02,P1,G,2025-01-05,10,Ésecret\n3,ZQXPAT03,Pé,G,2025-01-05,10,Ésecret\n".encode())
    with pytest.raises(DatasetError) as e:
        convert_mapped(mapping, source)
    assert [str(p) for p in e.value.problems] == [
        "s.csv, line 4, column prv: the file is UTF-8, not cp1252: 'é' on this line, written as UTF-8, cp1252 would "
        "read as 'Ã©'; convert it without naming an encoding (UTF-8 is the default)"]
    source.write_bytes(source.read_bytes().replace("Pé".encode(), b"P2"))
    assert convert_mapped(mapping, source)["claims"].num_rows == 3


def test_a_value_meaning_none_is_written_empty_never_as_its_text(tmp_path):
    """With the mapping's own null list, a `default`, a translated value or a constant of `NA`, and
    a source cell that is a null token of the contract loader's (`N/A`, `-`) but not of the
    mapping's, reached claims.csv as their text: written empty now, and counted."""
    mapping = write(tmp_path / "m.toml", mapping_text(
        'null = ["NA", "."]', '[[providers]]\nprovider_id = "prv"\nkind = { column = "k", values = { "gp" = "physician", '
        '"?" = "." } }\n', prescriber_id='"pre"', centre_id='{ column = "ctr", default = "NA" }'))
    source = write(tmp_path / "s.csv", "id,bene,prv,pre,ctr,code,day,paid,k\n"
                                       "1,ZQXPAT01,P1,NA,NA,G,2025-01-05,10,gp\n"
                                       "2,ZQXPAT02,P2, . ,C1,G,2025-01-05,10,?\n"
                                       "3,ZQXPAT02,P1,N/A,-,G,2025-01-05,1,gp\n"
                                       "4,ZQXPAT02,P1,D1,C2,G,2025-01-05,1,gp\n")
    out = CliRunner().invoke(main, ["convert", "mapped", str(mapping), str(source), str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    claims = read_csv(tmp_path / "out" / "claims.csv")
    assert [(c["prescriber_id"], c["centre_id"]) for c in claims] == [("", ""), ("", "C1"), ("", ""), ("D1", "C2")]
    assert [(p["provider_id"], p["kind"]) for p in read_csv(tmp_path / "out" / "providers.csv")] == [
        ("P1", "physician"), ("P2", "")]
    assert "    claims.centre_id: 2 cells written empty, values meaning none ('NA' × 1, '-' × 1)\n" in out.output
    assert "    claims.prescriber_id: 1 cells written empty, values meaning none ('N/A' × 1)\n" in out.output
    report = json.loads((tmp_path / "out" / "conversion_report.json").read_text())
    assert report["written_empty"] == {"claims.prescriber_id": {"N/A": 1}, "claims.centre_id": {"NA": 1, "-": 1},
                                       "providers.kind": {".": 1}}
    # the look-alikes stay values: 'Na', 'NA.', a prefixed 'X-NA'
    write(source, "id,bene,prv,pre,ctr,code,day,paid,k\n1,ZQXPAT01,P1,Na,NA.,G,2025-01-05,10,gp\n")
    c = convert_mapped(mapping, source)
    assert c["claims"].select(["prescriber_id", "centre_id"]).to_pylist() == [{"prescriber_id": "Na", "centre_id": "NA."}]
    assert c.report["written_empty"] == {}
    # a prefix is the id's, not the token's: a source `NA` (the loader's token, not in the
    # mapping's null list) or ` N/A ` is no value, never the id `P:NA`
    mapping = write(tmp_path / "m.toml", mapping_text('null = ["."]', prescriber_id='{ column = "pre", prefix = "P:" }'))
    write(source, "id,bene,prv,pre,code,day,paid\n1,ZQXPAT01,P1,NA,G,2025-01-05,10\n"
                  "2,ZQXPAT01,P1, N/A ,G,2025-01-05,10\n3,ZQXPAT01,P1,D1,G,2025-01-05,10\n")
    c = convert_mapped(mapping, source)
    assert c["claims"]["prescriber_id"].to_pylist() == [None, None, "P:D1"]
    assert c.report["written_empty"] == {"claims.prescriber_id": {"NA": 1, " N/A ": 1}}
