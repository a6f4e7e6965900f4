"""SNDS DCIR converter: the shipped synthetic tables against the oracle, every field case of
../shared/cases as its README row says a user expects, and each case's family on hand-made
extracts (information lines, regularisations, sentinel numbers, key types, separators, kinds)."""
import csv
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contract.errors import DatasetError
from graph.double_billing import detect_double_billing
from graph.model import build_graph
from graph.settings import DoubleBillingSettings
from graph.shared import build_shared
from loaders.dataset import load_dataset
from loaders.conversion import write_conversion
from loaders.snds import KEYS, read_snds, report_lines

from .conftest import CASES, REPO, SHARED_DATA, write_table
from .snds_oracle import converted, expected_claims

DCIR = SHARED_DATA / "synthetic-snds" / "DCIR"
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")


def read_tables(folder):
    """Every CSV of a DCIR folder as lists of dicts, by upper-case table name."""
    tables = {}
    for p in Path(folder).iterdir():
        if p.suffix == ".csv":
            text = p.read_text(encoding="utf-8").splitlines()
            tables[p.stem.upper()] = list(csv.DictReader(text, delimiter=";" if ";" in text[0] else ","))
    return tables


@pytest.mark.skipif(not DCIR.is_dir(), reason="../shared/data is not beside the repository")
def test_the_shipped_synthetic_tables_convert_as_the_oracle_says():
    tables = read_tables(DCIR)
    conversion = read_snds(DCIR)
    assert converted(conversion) == expected_claims(tables)
    report = conversion.report
    assert report["service_lines"]["read"] == len(tables["ER_PRS_F"]) == 10
    assert set(report["details"]) == {"ER_PHA_F.csv", "ER_BIO_F.csv", "ER_CAM_F.csv", "ER_ETE_F.csv"}


@pytest.mark.skipif(not DCIR.is_dir(), reason="../shared/data is not beside the repository")
def test_services_dated_after_today_are_warned_of_by_the_conversion_as_validate_refuses_them(tmp_path):
    from datetime import date
    conversion = read_snds(DCIR, today=date(2026, 12, 1))
    later = conversion.report["service_dates_after_today"]
    assert (later["today"], later["claims"]) == ("2026-12-01", 1)
    assert later["first"] == {"file": "ER_PRS_F.csv", "line": 8, "service_date": "2027-12-31", "claims_line": 28}
    assert report_lines(conversion.report)[-1] == (
        "  warning: 1 service(s) dated after today (2026-12-01), the first ER_PRS_F.csv line 8 (2027-12-31, "
        "claims.csv line 28): validate and scan refuse them; correct or leave them out before scanning")
    write_conversion(conversion, tmp_path / "out")       # the line named is the one the loader refuses
    assert list(csv.reader(open(tmp_path / "out" / "claims.csv")))[27][6] == "2027-12-31"
    # a day after the last service: nothing to warn of
    assert read_snds(DCIR, today=date(2027, 12, 31)).report["service_dates_after_today"] == {
        "rule": "a service dated after the day of the conversion: validate and scan refuse it",
        "today": "2027-12-31", "claims": 0}
    assert not any("after today" in line for line in report_lines(read_snds(DCIR, today=date(2028, 1, 1)).report))


# --- a small consistent extract -----------------------------------------------------------------

PRS_HEADER = ["flx_dis_dtd", "FLX_TRT_DTD", "FLX_EMT_TYP", "FLX_EMT_NUM", "FLX_EMT_ORD", "ORG_CLE_NUM", "DCT_ORD_NUM",
              "PRS_ORD_NUM", "REM_TYP_AFF", "BEN_NIR_PSA", "PFS_EXE_NUM", "PFS_PRE_NUM", "PRS_NAT_REF", "EXE_SOI_DTD",
              "PRS_PAI_MNT", "PRS_ACT_QTE", "PSE_ACT_NAT", "PSE_SPE_COD", "PSP_SPE_COD"]


def k(n):
    return ["2025-02-01", "2025-02-03", "1", "01C", "1", "01C", f"{n}", "1", "0"]


def fixture(folder):
    prs = [k(1) + ["BEN1", "690000001", "10000000001", "1111", "2025-01-10", "30.00", "1", "50", "0", "1"],   # pharmacy, 2 drugs
           k(2) + ["BEN1", "10000000001", "", "1111", "2025-01-08", "25.00", "1", "0", "1", "0"],            # GP consultation
           k(3) + ["BEN2", "10000000002", "0000000000", "1352", "2025-01-09", "80.00", "1", "0", "4", "0"]]  # CCAM act in a clinic
    write_dcir(folder, prs, pha=[k(1) + ["3400930000011", "1", "2"], k(1) + ["3400930000028", "2", "1"]],
               cam=[k(3) + ["QZFA001", "1"]], ete=[k(3) + ["690000123"]])


def write_dcir(folder, prs, pha=(), cam=(), ete=(), header=PRS_HEADER, sep=",", extra=()):
    folder.mkdir(parents=True, exist_ok=True)

    def put(name, head, body):
        with open(folder / name, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, delimiter=sep)
            w.writerow(head)
            w.writerows(body)
    put("ER_PRS_F.csv", list(header) + list(extra), prs)
    if pha:
        put("er_pha_f.csv", [x.upper() for x in KEYS] + ["PHA_PRS_C13", "PHA_ORD_NUM", "PHA_ACT_QSN"], pha)
    if cam:
        put("ER_CAM_F.csv", [x.upper() for x in KEYS] + ["CAM_PRS_IDE", "CAM_ORD_NUM"], cam)
    if ete:
        put("ER_ETE_F.csv", [x.upper() for x in KEYS] + ["ETB_EXE_FIN"], ete)
    return folder


def test_a_consistent_extract_becomes_the_expected_claims(tmp_path):
    fixture(tmp_path / "dcir")
    t = read_snds(tmp_path / "dcir")
    base = "2025-02-01|2025-02-03|1|01C|1|01C|{}|1|0"
    assert [{c: r[c] for c in ("claim_id", "patient_id", "provider_id", "prescriber_id", "centre_id", "service_code",
                                "service_date", "amount", "quantity")} for r in t["claims"].to_pylist()] == [
        {"claim_id": base.format(1) + "|pha1", "patient_id": "BEN1", "provider_id": "690000001",
         "prescriber_id": "10000000001", "centre_id": None, "service_code": "3400930000011",
         "service_date": "2025-01-10", "amount": "15.00", "quantity": "2"},
        {"claim_id": base.format(1) + "|pha2", "patient_id": "BEN1", "provider_id": "690000001",
         "prescriber_id": "10000000001", "centre_id": None, "service_code": "3400930000028",
         "service_date": "2025-01-10", "amount": "15.00", "quantity": "1"},
        {"claim_id": base.format(2), "patient_id": "BEN1", "provider_id": "10000000001", "prescriber_id": None,
         "centre_id": None, "service_code": "1111", "service_date": "2025-01-08", "amount": "25.00", "quantity": "1"},
        {"claim_id": base.format(3) + "|cam1", "patient_id": "BEN2", "provider_id": "10000000002",
         "prescriber_id": None, "centre_id": "690000123", "service_code": "QZFA001", "service_date": "2025-01-09",
         "amount": "80.00", "quantity": "1"}]
    assert {p["provider_id"]: (p["kind"], p["specialty"]) for p in t["providers"].to_pylist()} == {
        "690000001": ("pharmacy", None), "10000000001": ("physician", "medecine_generale"),
        "10000000002": ("physician", "chirurgie")}


@pytest.mark.slow
def test_convert_writes_the_report_beside_the_tables_then_scans_with_a_registry(tmp_path):
    fixture(tmp_path / "dcir")
    done = subprocess.run([sys.executable, "-m", "cli.main", "convert", "snds", str(tmp_path / "dcir"),
                           str(tmp_path / "claims")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "  ER_PRS_F.csv: 3 service lines, €135.00" in done.stdout
    report = json.loads((tmp_path / "claims" / "conversion_report.json").read_text())
    assert report["claims"] == {"rows": 4, "amount": 135.0, "plain_lines": 4}
    registry = tmp_path / "registry"
    write_table(registry, "centres", [{"centre_id": "690000123", "kind": "clinic"}])
    write_table(registry, "providers", [{"provider_id": "690000001", "kind": "pharmacy", "postcode": "69001"}])
    d = load_dataset([tmp_path / "claims", registry])
    assert d["claims"].num_rows == 4 and d["centres"].num_rows == 1
    assert [(link["providers"]["found"], link["centres"]["found"]) for link in d.report.links] == [(1, 1)]
    done = subprocess.run([sys.executable, "-m", "cli.main", "scan", str(tmp_path / "claims"), str(registry),
                           "--store", str(tmp_path / "store")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("run ") and " is current: 4 claims," in done.stdout
    assert f"link: registry {registry} links 1 of 1 claim providers of its kinds, 0 of 0 prescribers, 1 of 1 " \
           f"centres" in done.stdout


def test_malformed_extracts_are_refused_with_file_line_and_column(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"ER_PRS_F.csv: required table is missing from"):
        read_snds(tmp_path / "empty")
    fixture(tmp_path / "dcir")
    text = (tmp_path / "dcir" / "ER_PRS_F.csv").read_text().replace("BEN_NIR_PSA", "BEN_NIR")
    (tmp_path / "dcir" / "ER_PRS_F.csv").write_text(text)
    with pytest.raises(DatasetError) as e:
        read_snds(tmp_path / "dcir")
    assert [str(p) for p in e.value.problems] == ["ER_PRS_F.csv, line 1, column BEN_NIR_PSA: missing required column"]


def test_amounts_that_are_not_numbers_and_service_lines_given_twice_are_errors(tmp_path):
    prs = [k(1) + ["BEN1", "75123456", "", "1111", "2025-01-10", "26,50", "1", "0", "1", "0"],    # decimal comma: fine
           k(2) + ["BEN1", "75123456", "", "1111", "2025-01-10", "26.5O", "1", "0", "1", "0"],
           k(3) + ["BEN1", "75123456", "", "1111", "2025-01-10", "", "x", "0", "1", "0"],
           k(1) + ["BEN2", "75123456", "", "1111", "2025-01-11", "26.50", "1", "0", "1", "0"]]
    write_dcir(tmp_path / "x", prs)
    with pytest.raises(DatasetError) as e:
        read_snds(tmp_path / "x")
    assert [str(p) for p in e.value.problems] == [
        "ER_PRS_F.csv, line 3, column PRS_PAI_MNT, value '26.5O': is not a number",
        "ER_PRS_F.csv, line 4, column PRS_PAI_MNT: missing value: a service line needs its amount",
        "ER_PRS_F.csv, line 4, column PRS_ACT_QTE, value 'x': is not a number",
        "ER_PRS_F.csv, line 5: repeats the nine DCIR keys of line 2: the same service line twice (an extract given "
        "twice?)"]
    write_dcir(tmp_path / "y", [prs[0], prs[3]])
    with pytest.raises(DatasetError) as e:
        read_snds(tmp_path / "y")
    assert [str(p) for p in e.value.problems] == [
        "ER_PRS_F.csv, line 3: repeats the nine DCIR keys of line 2: the same service line twice (an extract given "
        "twice?)"]

    # a problem in another file (a detail table without its code column) no longer hides these:
    # one reading reports the service lines' amounts and repeated keys beside it
    write_dcir(tmp_path / "z", prs, cam=[k(3) + ["QZFA001", "1"]])
    text = (tmp_path / "z" / "ER_CAM_F.csv").read_text().replace("CAM_PRS_IDE", "CAM_CODE")
    (tmp_path / "z" / "ER_CAM_F.csv").write_text(text)
    with pytest.raises(DatasetError) as e:
        read_snds(tmp_path / "z")
    shown = [str(p) for p in e.value.problems]
    assert "ER_CAM_F.csv, line 1, column CAM_PRS_IDE: missing required column" in shown
    assert "ER_PRS_F.csv, line 3, column PRS_PAI_MNT, value '26.5O': is not a number" in shown
    assert any(p.startswith("ER_PRS_F.csv, line 5: repeats the nine DCIR keys of line 2") for p in shown)
    assert len(shown) == 5


def test_amounts_and_quantities_beyond_the_contract_are_refused_quoting_the_extract_s_text(tmp_path):
    # the converter reads 1e9 as a number: the bound checked by the contract loader on claims.csv
    # would quote '1000000000', a text the extract does not hold; refused here, quoting ER_PRS_F
    write_dcir(tmp_path / "x", [line(1, "A", "75123456", qty=" 5"), line(2, "A", "75123456", qty="1e9"),
                                line(3, "A", "75123456", qty="999999999.0"), line(4, "A", "75123456", qty="-1000000000"),
                                line(5, "A", "75123456", amount="1e13"), line(6, "A", "75123456", amount="-1000000000000.01"),
                                line(7, "A", "75123456", amount="1000000000000", qty="-999999999")])
    with pytest.raises(DatasetError) as e:
        read_snds(tmp_path / "x")
    assert [str(p) for p in e.value.problems] == [
        "ER_PRS_F.csv, line 3, column PRS_ACT_QTE, value '1e9': is too large: a quantity is at most 999,999,999 in "
        "absolute value",
        "ER_PRS_F.csv, line 5, column PRS_ACT_QTE, value '-1000000000': is too large: a quantity is at most "
        "999,999,999 in absolute value",
        "ER_PRS_F.csv, line 6, column PRS_PAI_MNT, value '1e13': is more than 1,000,000,000,000 euros (10¹²) in "
        "absolute value: not a service's amount",
        "ER_PRS_F.csv, line 7, column PRS_PAI_MNT, value '-1000000000000.01': is more than 1,000,000,000,000 euros "
        "(10¹²) in absolute value: not a service's amount"]
    # the bounds themselves, and ' 5' and '999999999.0' (whole numbers), convert
    write_dcir(tmp_path / "y", [line(1, "A", "75123456", qty=" 5"), line(3, "A", "75123456", qty="999999999.0"),
                                line(7, "A", "75123456", amount="1000000000000", qty="-999999999")])
    assert [(r["quantity"], r["amount"]) for r in claims_of(read_snds(tmp_path / "y"))] == [
        ("5", "26.50"), ("999999999", "26.50")]


# --- the field cases -----------------------------------------------------------------------------

def claims_of(conversion):
    return conversion["claims"].to_pylist()


@needs_cases
def test_case_information_only_lines_are_left_out_and_counted():
    c = read_snds(CASES / "snds-information-lines")
    assert [(r["snds_line"], r["provider_id"]) for r in claims_of(c)] == [("2", "75123456")]
    info = c.report["service_lines"]["left_out"]["information_only"]
    assert (info["lines"], info["amount"], info["first_lines"]) == (1, 30.0, [3])
    assert "75198765" not in c["providers"]["provider_id"].to_pylist()


@needs_cases
def test_case_regularisation_lines_are_netted_and_the_extract_validates(tmp_path):
    c = read_snds(CASES / "snds-regularisation-lines")
    assert [(r["patient_id"], r["amount"], r["quantity"]) for r in claims_of(c)] == [("PSEUDO_B", "26.50", "1")]
    n = c.report["netting"]
    assert (n["regularisation_lines"], n["netted_to_zero"]["services"], n["kept"]["services"],
            n["unmatched"]["services"]) == (2, 1, 1, 0)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "cli.main", "convert", "snds", str(CASES / "snds-regularisation-lines"),
                           str(out)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert load_dataset(out)["claims"]["amount"].to_pylist() == [26.5]


@needs_cases
def test_case_establishment_zero_means_private_practice():
    c = read_snds(CASES / "snds-no-establishment-zero")
    assert [r["centre_id"] for r in claims_of(c)] == [None, None]
    assert c.report["details"]["ER_ETE_F.csv"]["no_establishment"] == 2


@needs_cases
def test_case_placeholder_provider_numbers_are_never_a_provider(tmp_path):
    c = read_snds(CASES / "snds-placeholder-provider")
    assert [(r["provider_id"], r["centre_id"]) for r in claims_of(c)] == [("750100000", "750100000"),
                                                                          ("130700000", "130700000")]
    assert sorted(c["providers"]["provider_id"].to_pylist()) == ["130700000", "750100000"]
    orphans = c.report["service_lines"]["left_out"]["no_practitioner_no_establishment"]
    assert (orphans["lines"], orphans["amount"], orphans["first_lines"]) == (2, 50.0, [4, 5])
    assert c.report["sentinels"]["executing_provider_none"] == 4
    done = subprocess.run([sys.executable, "-m", "cli.main", "convert", "snds", str(CASES / "snds-placeholder-provider"),
                           str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert load_dataset(tmp_path / "out")["claims"].num_rows == 2      # validates: no empty provider


@needs_cases
def test_case_a_provider_of_two_kinds_is_reported_and_decided_by_one_rule():
    c = read_snds(CASES / "snds-provider-two-kinds")
    kinds = {p["provider_id"]: p["kind"] for p in c["providers"].to_pylist()}
    assert kinds == {"69300001": "laboratory", "13400002": "other", "69100003": "physician"}
    conflicts = c.report["providers"]["kind_conflicts"]
    assert conflicts["providers"] == 1
    assert conflicts["listed"] == [{"provider_id": "69300001", "kinds": {"laboratory": 2, "nurse": 1},
                                    "kind": "laboratory", "rule": "the number's category digit"}]


@needs_cases
def test_case_a_semicolon_export_is_read():
    c = read_snds(CASES / "snds-semicolon-export")
    assert [(r["provider_id"], r["amount"]) for r in claims_of(c)] == [("75123456", "26.50")]
    assert c.report["files"]["ER_PRS_F.csv"]["separator"] == ";"


@needs_cases
def test_case_detail_keys_written_as_timestamps_still_join():
    bad, good = (read_snds(CASES / "snds-detail-key-types" / x) for x in ("extract", "extract-consistent"))
    assert converted(bad) == converted(good)
    assert [(r["service_code"], r["amount"], r["quantity"]) for r in claims_of(bad)] == [
        ("3400930000001", "90.00", "1"), ("3400930000002", "90.00", "2")]
    assert bad.report["details"]["ER_PHA_F.csv"]["unmatched"] == 0


# --- each case's family --------------------------------------------------------------------------

def line(n, patient, exe, pre="", nat="1111", day="2025-01-10", amount="26.50", qty="1", act="0", spe="1", pspe="0"):
    return k(n) + [patient, exe, pre, nat, day, amount, qty, act, spe, pspe]


def test_either_information_qualifier_leaves_a_line_out(tmp_path):
    extra = ["DPN_QLF", "PRS_DPN_QLP"]
    write_dcir(tmp_path / "x", [line(1, "A", "75123456") + ["0", "71"], line(2, "A", "75123457") + ["71.0", ""],
                                line(3, "A", "75123458") + ["", ""]], extra=extra)
    c = read_snds(tmp_path / "x")
    assert [r["provider_id"] for r in claims_of(c)] == ["75123458"]
    assert c.report["service_lines"]["left_out"]["information_only"]["first_lines"] == [2, 3]


def test_a_cancelled_service_of_two_drugs_counts_as_one_service_and_one_regularisation_line(tmp_path):
    # the reviewer's extract: a dispensing of two drugs (ER_PRS_F line 2), cancelled by line 3 with both drugs
    write_dcir(tmp_path / "x", [line(1, "A", "690000001", amount="100.00", qty="2"),
                                line(2, "A", "690000001", amount="-100.00", qty="-2")],
               pha=[k(1) + ["3400930000011", "1", "1"], k(1) + ["3400930000028", "2", "1"],
                    k(2) + ["3400930000011", "1", "-1"], k(2) + ["3400930000028", "2", "-1"]])
    c = read_snds(tmp_path / "x")
    assert claims_of(c) == []
    n = c.report["netting"]
    assert (n["regularisation_lines"], n["services"]) == (1, 1)
    assert (n["netted_to_zero"]["services"], n["netted_to_zero"]["claims"], n["netted_to_zero"]["claim_lines"]) == (1, 2, 4)
    assert "    netted: 1 regularisation lines on 1 services: 0 corrected (€0.00), 1 cancelled, 0 without their " \
           "original left out (€0.00)" in ["  " + x for x in report_lines(c.report)]


def test_a_correction_nets_to_the_new_amount_and_identical_positive_lines_stay_two(tmp_path):
    write_dcir(tmp_path / "x", [
        line(1, "A", "75123456", amount="30.00"), line(2, "A", "75123456", amount="-30.00", qty="-1"),
        line(3, "A", "75123456", amount="26.50"),                                     # billed again, corrected
        line(4, "B", "75612345", nat="3122", amount="3.15", act="24", spe="24"),
        line(5, "B", "75612345", nat="3122", amount="3.15", act="24", spe="24"),     # twice the same day: kept twice
        line(6, "C", "75123456", amount="-26.50", qty="-1", day="2024-12-30")])       # original in an earlier extract
    c = read_snds(tmp_path / "x")
    assert [(r["patient_id"], r["amount"], r["quantity"], r["snds_line"]) for r in claims_of(c)] == [
        ("A", "26.50", "1", "2"), ("B", "3.15", "1", "5"), ("B", "3.15", "1", "6")]
    n = c.report["netting"]
    assert (n["kept"]["services"], n["kept"]["claim_lines"], n["unmatched"]["amount"], n["unmatched"]["first_lines"]) \
        == (1, 3, -26.5, [7])


@pytest.mark.parametrize("etb", ["", " ", "0", "00000000", "000000000", "99999999", "999999999",
                                 "0.0", "0.00", " 0 ", "0,0", "000000000.0", "99999999.0"])
def test_every_sentinel_establishment_means_private_practice(tmp_path, etb):
    write_dcir(tmp_path / "x", [line(1, "A", "75123456")], ete=[k(1) + [etb]])
    c = read_snds(tmp_path / "x")
    assert [r["centre_id"] for r in claims_of(c)] == [None]
    assert c.report["details"]["ER_ETE_F.csv"]["no_establishment"] == 1


@pytest.mark.parametrize("etb, centre", [("690780009.0", "690780009"), (" 010000024.00 ", "010000024"),
                                         ("010000024", "010000024"), ("2A0000123", "2A0000123"),
                                         ("0.5", "0.5"), ("90.0", "90")])
def test_an_establishment_number_from_a_numeric_export_keeps_its_digits(tmp_path, etb, centre):
    """A `.0` after the digits is dropped, the leading zero of a FINESS number kept; a number that
    is not whole is no sentinel and is carried over for the contract loader to judge."""
    write_dcir(tmp_path / "x", [line(1, "A", "75123456")], ete=[k(1) + [etb]])
    assert [r["centre_id"] for r in claims_of(read_snds(tmp_path / "x"))] == [centre]


@pytest.mark.parametrize("exe, mode", [("00000000", "50"), ("99999999", "50"), ("", "50"), ("0", "50"),
                                       ("0.0", "50"), (" 00000000.00 ", "50"), ("99999999.0", "50"),
                                       ("75199999", "99")])
def test_every_sentinel_practitioner_is_attributed_to_its_establishment_and_never_shared(tmp_path, exe, mode):
    header = PRS_HEADER + ["PSE_STJ_COD", "PSP_STJ_COD"]
    write_dcir(tmp_path / "x", [line(1, "A", exe, pre="99999999") + [mode, ""],
                                line(2, "B", exe, pre="75100001") + [mode, "99"],
                                line(3, "C", exe) + [mode, ""],
                                line(4, "D", "75123456", pre="75100001") + ["50", "50"]],
               ete=[k(1) + ["750100000"], k(2) + ["130700000"]], header=header)
    c = read_snds(tmp_path / "x")
    assert [(r["provider_id"], r["prescriber_id"]) for r in claims_of(c)] == [
        ("750100000", None), ("130700000", None), ("75123456", "75100001")]
    assert exe not in c["providers"]["provider_id"].to_pylist()
    assert c.report["service_lines"]["left_out"]["no_practitioner_no_establishment"]["first_lines"] == [4]
    assert c.report["sentinels"]["prescriber_none"] == 2


@pytest.mark.parametrize("token", ["NA", "NULL", "-", " NA ", "."])
def test_an_extract_s_null_tokens_are_missing_numbers_not_providers(tmp_path, token):
    """An extract written by R (`NA`), a database (`NULL`) or a report (`-`): a practitioner,
    prescriber or establishment number or a quantity given so is missing, as the contract loader
    reads it — never a provider `NA` that the converted folder's validation then refuses."""
    write_dcir(tmp_path / "x", [line(1, "A", "75123456", pre=token, qty=token),
                                line(2, "B", token, pre="75100001")], ete=[k(1) + [token], k(2) + ["750100000"]])
    c = read_snds(tmp_path / "x")
    assert [(r["provider_id"], r["prescriber_id"], r["centre_id"], r["quantity"]) for r in claims_of(c)] == [
        ("75123456", None, None, "1"), ("750100000", "75100001", "750100000", "1")]
    assert token.strip() not in c["providers"]["provider_id"].to_pylist()
    write_conversion(c, tmp_path / "out")
    load_dataset(tmp_path / "out")        # the converted folder validates


def test_detail_and_establishment_keys_of_other_types_join(tmp_path):
    prs = [line(1, "A", "75200001", nat="3317", amount="10.00", act="50"),
           line(2, "B", "75200001", nat="3317", amount="20.00", act="50")]
    folder = write_dcir(tmp_path / "x", prs)
    pha = pa.table({
        **{c.upper(): pa.array(v) for c, v in zip(KEYS, zip(*[k(1)] * 2))},
        "PHA_PRS_C13": ["3400930000011", "3400930000028"], "PHA_ORD_NUM": pa.array([1, 2], pa.int64()),
        "PHA_ACT_QSN": pa.array([1, 1], pa.int64())})
    pha = pha.set_column(0, "FLX_DIS_DTD", pa.array([datetime(2025, 2, 1)] * 2, pa.timestamp("s")))
    pha = pha.set_column(6, "DCT_ORD_NUM", pa.array([1, 1], pa.int64()))                 # numbers, not text
    pq.write_table(pha, folder / "ER_PHA_F.parquet")
    with open(folder / "ER_ETE_F.csv", "w") as f:                                       # SAS dates, padded numbers
        f.write("FLX_DIS_DTD,FLX_TRT_DTD,FLX_EMT_TYP,FLX_EMT_NUM,FLX_EMT_ORD,ORG_CLE_NUM,DCT_ORD_NUM,PRS_ORD_NUM,"
                "REM_TYP_AFF,ETB_EXE_FIN\n01FEB2025:00:00:00,03/02/2025,01,01C,001,01C ,0002,1.0,0,690000123\n"
                "2025-02-01,2025-02-03,1,01C,1,01C,77,1,0,690000124\n")
    c = read_snds(folder)
    assert [(r["snds_line"], r["service_code"], r["centre_id"]) for r in claims_of(c)] == [
        ("2", "3400930000011", None), ("2", "3400930000028", None), ("3", "3317", "690000123")]
    assert c.report["details"]["ER_PHA_F.parquet"]["unmatched"] == 0
    assert c.report["details"]["ER_ETE_F.csv"]["unmatched_lines"] == [3]


@pytest.mark.parametrize("sep", ["\t", "|", ";"])
def test_any_usual_separator_is_detected(tmp_path, sep):
    write_dcir(tmp_path / "x", [line(1, "A", "75123456", amount="26,50" if sep == ";" else "26.50")], sep=sep)
    assert [r["amount"] for r in claims_of(read_snds(tmp_path / "x"))] == ["26.50"]


def test_kinds_from_natures_specialties_and_conflicts_without_a_category(tmp_path):
    write_dcir(tmp_path / "x", [
        line(1, "A", "X1", act="24", spe="24"), line(2, "B", "X1", act="24", spe="24"),
        line(3, "C", "X1", act="26", spe="26"),                          # no category in X1: most lines win
        line(4, "A", "X2", act="26", spe="26"), line(5, "B", "X2", act="24", spe="24"),   # a tie: earliest line
        line(6, "A", "75412345", spe="36"),                             # ODF specialist: a dentist
        line(7, "A", "75812345", act="27", spe="0", pre="75112345", pspe="90"),   # podiatrist: other; salaried: other
        line(8, "A", "75112399", pre="75112345", pspe="3")])             # the prescriber is a cardiologist after all
    c = read_snds(tmp_path / "x")
    got = {p["provider_id"]: (p["kind"], p["specialty"]) for p in c["providers"].to_pylist()}
    assert got == {"X1": ("nurse", None), "X2": ("physiotherapist", None),
                   "75412345": ("dentist", "chirurgie_dentaire_specialiste_o_d_f"), "75812345": ("other", None),
                   "75112345": ("physician", "pathologie_cardio_vasculaire"),
                   "75112399": ("physician", "medecine_generale")}
    assert [(x["provider_id"], x["rule"]) for x in c.report["providers"]["kind_conflicts"]["listed"]] == [
        ("X1", "the kind on most lines"), ("X2", "a tie on most lines: the kind of the earliest line")]


def test_a_zero_establishment_keeps_the_hospital_practitioners_double_billing_visible(tmp_path):
    # a full-time hospital practitioner bills privately (establishment 0) six patients the hospital
    # billed the same day, over half a year in which it also sees six patients the hospital did not
    header = PRS_HEADER + ["PSE_STJ_COD"]
    prs, ete, n = [], [], 0
    for month in range(1, 7):
        day = f"2025-0{month}-1{month}"
        for patient, hospital in ((f"A{month}", True), (f"B{month}", False)):
            n += 1
            prs.append(line(n, patient, "75123456", day=day) + ["50"])
            ete.append(k(n) + ["0"])
            if hospital:
                n += 1
                prs.append(line(n, patient, "00000000", spe="3", day=day) + ["50"])
                ete.append(k(n) + ["750100000"])
    write_dcir(tmp_path / "x", prs, ete=ete, header=header)
    subprocess.run([sys.executable, "-m", "cli.main", "convert", "snds", str(tmp_path / "x"), str(tmp_path / "claims")],
                   cwd=REPO, check=True, capture_output=True)
    write_table(tmp_path / "registry", "centres", [{"centre_id": "750100000", "kind": "hospital"}])
    write_table(tmp_path / "registry", "providers", [{"provider_id": "75123456", "kind": "physician"}])
    write_table(tmp_path / "registry", "affiliations", [{"provider_id": "75123456", "centre_id": "750100000",
                                                         "role": "fulltime_hospital"}])
    d = load_dataset([tmp_path / "claims", tmp_path / "registry"])
    found = detect_double_billing(d.tables, build_shared(d.tables, build_graph(d.tables)), DoubleBillingSettings())
    assert found.alerts["alert_id"].to_pylist() == ["double_billing:hospital:75123456:750100000"]


def test_a_sas_export_in_latin_1_converts_with_its_encoding_named(tmp_path):
    """A SAS export in WLATIN1 (a town's name, an é in a column the conversion reads) is refused as
    UTF-8 with the advice that applies to `convert snds`, and converted with `--encoding cp1252`.
    A column the conversion does not read (a label) is no reason to refuse it: its cells are counted."""
    from click.testing import CliRunner

    from cli.main import main
    folder = write_dcir(tmp_path / "x", [line(1, "A", "75123456")], extra=["LIB"])
    prs = folder / "ER_PRS_F.csv"
    prs.write_bytes(prs.read_text(encoding="utf-8").replace("\n", ",Médecin\n", 2).replace(",Médecin", "", 1)
                    .encode("cp1252"))
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "lib")])
    assert out.exit_code == 0, out.output
    assert ("    ER_PRS_F.csv: 1 cell(s) of columns the conversion does not read hold bytes not in the file's encoding "
            "(LIB × 1): ignored, as those columns are\n") in out.output and "decin" not in out.output
    report = json.loads((tmp_path / "lib" / "conversion_report.json").read_text())
    assert report["files"]["ER_PRS_F.csv"]["ignored_bytes"] == {"LIB": 1}
    prs.write_bytes(prs.read_bytes().replace(b",1111,", b",1111\xe9,"))       # PRS_NAT_REF, which it reads
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "out")])
    assert out.exit_code == 2 and "convert snds --encoding cp1252" in out.output, out.output
    assert "column prs_nat_ref" in out.output.lower() and "decin" not in out.output, out.output
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "out"), "--encoding", "cp1252"])
    assert out.exit_code == 0, out.output
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "o2"), "--encoding", "klingon"])
    assert out.exit_code == 2 and "--encoding 'klingon': no such encoding" in out.output
    out = CliRunner().invoke(main, ["convert", "parquet", str(folder), str(tmp_path / "o3"), "--encoding", "cp1252"])
    assert out.exit_code == 2 and "--encoding applies to `convert snds` only" in out.output


def test_convert_takes_an_engine_for_snds_only_and_refuses_spark_without_its_extra(tmp_path, monkeypatch):
    """`--engine spark` runs the conversion's SQL on Spark (tests/test_spark_snds.py); it applies
    to `convert snds` only, and without the extra `spark` it is refused before any work."""
    import importlib.util

    from click.testing import CliRunner

    from cli.main import main
    folder = REPO / "loaders" / "examples" / "snds"
    out = CliRunner().invoke(main, ["convert", "parquet", str(folder), str(tmp_path / "a"), "--engine", "spark"])
    assert out.exit_code == 2 and "--engine and --spark-master apply to `convert snds` only" in out.output
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "b"), "--spark-master", "local[1]"])
    assert out.exit_code == 2 and "--spark-master needs --engine spark" in out.output
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "c"), "--engine", "spark"])
    assert out.exit_code == 2 and "needs the extra spark (pyspark missing)" in out.output, out.output
    assert not (tmp_path / "c").exists()
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "d"), "--engine", "duckdb"])
    assert out.exit_code == 0 and (tmp_path / "d" / "claims.csv").is_file(), out.output


def test_a_utf_8_extract_converted_as_cp1252_is_refused_not_misread(tmp_path):
    """`--encoding cp1252` on a UTF-8 extract read 'é' as 'Ã©' without a word (a fresh user's
    find): the file is refused, naming the line and what it would have become — the first such
    character in a column the conversion reads (a label it does not read, LIB, misread, is ignored)."""
    from click.testing import CliRunner

    from cli.main import main
    folder = write_dcir(tmp_path / "x", [line(1, "A", "75123456"), line(2, "B", "75123456", pre="7512345é")],
                        extra=["LIB"])
    prs = folder / "ER_PRS_F.csv"
    prs.write_text(prs.read_text(encoding="utf-8").replace("\n", ",Médecin\n", 3).replace(",Médecin", "", 1),
                   encoding="utf-8")
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "out"), "--encoding", "cp1252"])
    assert out.exit_code == 2, out.output
    assert "ER_PRS_F.csv, line 3, column PFS_PRE_NUM: the file is UTF-8, not cp1252: 'é' on this line, written as " \
           "UTF-8, cp1252 would read as 'Ã©'" in out.output, out.output
    assert not (tmp_path / "out").exists()
    assert CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "out")]).exit_code == 0
    # LIB alone: converted (its misread labels are not read)
    prs.write_text(prs.read_text(encoding="utf-8").replace("7512345é", ""), encoding="utf-8")
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "o2"), "--encoding", "cp1252"])
    assert out.exit_code == 0, out.output


def test_a_utf_8_extract_converted_as_cp1252_never_shows_a_patient_column_s_character(tmp_path):
    """The refusal quoted the first non-ASCII character: when it is in BEN_NIR_PSA (a patient's
    pseudonym) the message names the column, not the character (a fresh user's find); in a
    column of the provider's, the character is still shown."""
    from click.testing import CliRunner

    from cli.main import main
    folder = write_dcir(tmp_path / "x", [line(1, "ZQXÉPAT1", "75123456"), line(2, "B", "75123456")], extra=["LIB"])
    prs = folder / "ER_PRS_F.csv"
    prs.write_text(prs.read_text(encoding="utf-8").replace("\n", ",Médecin\n", 3).replace(",Médecin", "", 1),
                   encoding="utf-8")
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "out"), "--encoding", "cp1252"])
    assert out.exit_code == 2, out.output
    assert "ER_PRS_F.csv, line 2, column BEN_NIR_PSA: the file is UTF-8, not cp1252: a character of this line " \
           "(not shown: a patient column) is written as UTF-8, which cp1252 would read as two or three other " \
           "characters" in out.output, out.output
    assert "É" not in out.output and "Ã" not in out.output and "ZQX" not in out.output
    prs.write_text(prs.read_text(encoding="utf-8").replace("ZQXÉPAT1", "ZQXEPAT1").replace(",75123456,", ",7512345é,", 1),
                   encoding="utf-8")
    out = CliRunner().invoke(main, ["convert", "snds", str(folder), str(tmp_path / "out"), "--encoding", "cp1252"])
    assert "ER_PRS_F.csv, line 2, column PFS_EXE_NUM: the file is UTF-8, not cp1252: 'é' on this line, written as " \
           "UTF-8, cp1252 would read as 'Ã©'" in out.output, out.output


@pytest.mark.parametrize("extract", [REPO / "loaders" / "examples" / "snds", DCIR], ids=["example", "shared"])
def test_joined_month_by_month_the_conversion_is_the_one_join_of_everything(extract, monkeypatch):
    if not extract.is_dir():
        pytest.skip(f"{extract} is not there")
    import loaders.snds as snds
    slices = []
    months = snds._months
    monkeypatch.setattr(snds, "_months", lambda *a: slices.append(months(*a)) or slices[-1])
    by_month = read_snds(extract)
    whole = read_snds(extract, by_month=False)
    if extract.name == "snds":       # the example's flows: 39 service lines of February, 2 of March
        assert [s[0].num_rows for s in slices[0]] == [39, 2]
    assert by_month.tables["claims"].equals(whole.tables["claims"])
    assert by_month.tables["providers"].equals(whole.tables["providers"])
    assert by_month.report == whole.report


def test_a_quantity_that_is_not_whole_is_written_as_one_service_and_counted(tmp_path):
    """PRS_ACT_QTE is a decimal in the DCIR (kilometres, coefficients); the contract counts
    services in whole numbers: such a line is one service, its amount kept, counted and listed —
    so the converted folder scans. A whole quantity is kept as it is, a netted one as netted."""
    write_dcir(tmp_path / "x", [line(1, "A", "75123456", qty="153.22", amount="80.10"),
                                line(2, "A", "75123456", qty="3", day="2025-01-11"),
                                line(3, "B", "75123456", qty="2.50", day="2025-01-12"),
                                line(4, "B", "75123456", qty="-0.50", amount="-5.00", day="2025-01-12")])
    c = read_snds(tmp_path / "x")
    assert [(r["snds_line"], r["quantity"], r["amount"]) for r in claims_of(c)] == [
        ("2", "1", "80.10"), ("3", "3", "26.50"), ("4", "2", "21.50")]          # 2.50 − 0.50 netted: 2, whole
    f = c.report["fractional_quantity"]
    assert (f["claims"], f["amount"], f["first_lines"]) == (1, 80.10, [2])
    assert "1 with a quantity that is not whole (kilometres, coefficients: PRS_ACT_QTE is a decimal) written as one " \
           "service each, their amount kept (€80.10)" in "\n".join(report_lines(c.report))
    write_conversion(c, tmp_path / "out")
    load_dataset(tmp_path / "out")                     # the contract loader takes it


# Key and date values as extracts write them, and what the conversion makes of them: the same on
# DuckDB (here) and on Spark (tests/test_spark_snds.py), the normalisers being portable SQL.
DATES = {"2025-02-01": "2025-02-01", "2025-2-1": "2025-02-01", " 2025-02-01 ": "2025-02-01",
         "2025-02-01 10:11:12": "2025-02-01", "2025-02-01 10:11:12.123456": "2025-02-01",
         "2025-02-01T10:11:12": "2025-02-01", "01/02/2025": "2025-02-01", "1/2/2025": "2025-02-01",
         "01/02/2025 1:02:03": "2025-02-01", "20250201": "2025-02-01", "01FEB2025": "2025-02-01",
         "1feb2025": "2025-02-01", "01FEB2025:00:00:00": "2025-02-01", "29/02/2024": "2024-02-29",
         # not a date in one of the forms: kept as it is (trimmed), for the contract loader to report
         "2025-02-01 24:00:00": "2025-02-01 24:00:00", "2025-02-01 10:11": "2025-02-01 10:11",
         "01/02/25": "01/02/25", "31/02/2025": "31/02/2025", "29/02/2025": "29/02/2025", "2025021": "2025021",
         "01FEBRUARY2025": "01FEBRUARY2025", "32JAN2025": "32JAN2025", "2025-02-01\n": "2025-02-01\n", "x": "x",
         "": "", None: None}
NUMBERS = {"1": "1", "001": "1", "1.0": "1", "1.": "1", " 1": "1", "+5": "5", "-0": "0", "-007": "-7", "00": "0",
           "12345678901234567890": "12345678901234567890", "9" * 38: "9" * 38,
           # not a whole number of at most 38 digits: kept as it is (trimmed)
           "9" * 39: "9" * 39, "1.5": "1.5", "01C": "01C", " 01C ": "01C", "1\n": "1\n", "": "", None: None}


def normalised(query=None):
    """`_date` and `_int` over `DATES` and `NUMBERS`, by `query` (the engine's by default)."""
    from engine import query as engine_query
    from loaders.snds import _date, _int
    run = query or engine_query
    dates = pa.table({"v": pa.array(list(DATES), pa.string())})
    numbers = pa.table({"v": pa.array(list(NUMBERS), pa.string())})
    return (run(f"SELECT v, {_date('v')} AS d FROM t", t=dates), run(f"SELECT v, {_int('v')} AS n FROM t", t=numbers))


def test_dates_and_numbers_of_every_form_are_normalised_and_others_kept_as_they_are():
    dates, numbers = normalised()
    assert dict(zip(dates["v"].to_pylist(), dates["d"].to_pylist())) == DATES
    assert dict(zip(numbers["v"].to_pylist(), numbers["n"].to_pylist())) == NUMBERS


# --- a service's amount shared by unit price; several establishments; a quantity against its amount --------------

def priced_copy(folder, prices):
    """The field case snds-detail-key-types/extract-consistent (one €180 pharmacy service, two drugs of
    quantities 1 and 2) with a PHA_ACT_PRU column holding `prices`."""
    folder.mkdir(parents=True)
    source = CASES / "snds-detail-key-types" / "extract-consistent"
    (folder / "ER_PRS_F.csv").write_text((source / "ER_PRS_F.csv").read_text())
    rows = (source / "ER_PHA_F.csv").read_text().splitlines()
    (folder / "ER_PHA_F.csv").write_text("\n".join([rows[0] + ",PHA_ACT_PRU"] + [
        f"{r},{p}" for r, p in zip(rows[1:], prices)]) + "\n")
    return folder


@needs_cases
def test_a_service_is_shared_among_its_drugs_by_unit_price_times_quantity(tmp_path):
    t = read_snds(priced_copy(tmp_path / "dcir", ["10.00", "85.00"]))
    assert [(r["quantity"], r["amount"]) for r in t["claims"].to_pylist()] == [("1", "10.00"), ("2", "170.00")]
    assert (t.report["amount_shares"]["by_unit_price"], t.report["amount_shares"]["equal"]) == (2, 0)
    assert "  amounts of detail lines: 2 shared by unit price × quantity, 0 shared equally (no unit price on every " \
           "line of their service)" in report_lines(t.report)
    # the look-alikes: a line without a price (blank) or a price that is no number → the equal split, as before
    for i, prices in enumerate((["10.00", ""], ["10.00", "n/a"], ["0", "0"])):
        t = read_snds(priced_copy(tmp_path / f"unpriced{i}", prices))
        assert [r["amount"] for r in t["claims"].to_pylist()] == ["90.00", "90.00"], prices
        assert (t.report["amount_shares"]["by_unit_price"], t.report["amount_shares"]["equal"]) == (0, 2)


def test_the_cents_left_over_by_prices_go_to_the_first_lines_as_the_equal_split_does(tmp_path):
    folder = tmp_path / "dcir"
    prs = [k(1) + ["BEN1", "690000001", "10000000001", "1111", "2025-01-10", "100.00", "1", "50", "0", "1"],
           k(2) + ["BEN1", "690000001", "10000000001", "1111", "2025-01-11", "50.00", "3", "50", "0", "1"]]
    write_dcir(folder, prs, pha=[k(1) + ["3400930000011", "1", "1"], k(1) + ["3400930000028", "2", "1"],
                                 k(1) + ["3400930000035", "3", "1"], k(2) + ["3400930000011", "1", "2"],
                                 k(2) + ["3400930000028", "2", "1"]])
    text = (folder / "er_pha_f.csv").read_text().splitlines()
    (folder / "er_pha_f.csv").write_text("\n".join([text[0] + ",PHA_ACT_PRU"] + [
        f"{r},{p}" for r, p in zip(text[1:], ['"2,5"', "2.50000", "2.5", "1.00001", "2.00"])]) + "\n")
    t = read_snds(folder)
    assert [(r["service_code"], r["amount"]) for r in t["claims"].to_pylist()] == [
        ("3400930000011", "33.34"), ("3400930000028", "33.33"), ("3400930000035", "33.33"),   # a decimal comma too
        ("3400930000011", "25.01"), ("3400930000028", "24.99")]     # 2 × 1.00001 against 2.00: 5 decimals count


@pytest.mark.skipif(not DCIR.is_dir(), reason="../shared/data is not beside the repository")
def test_several_establishments_and_a_quantity_against_its_amount_are_said_with_their_lines():
    report = read_snds(DCIR).report
    ete = report["details"]["ER_ETE_F.csv"]
    assert ete["services_with_several_establishments"] == 2
    assert ete["several_establishments"]["first_lines"] == [2, 3]
    x = report["quantity_sign_contradicts_amount"]
    assert (x["claim_lines"], x["amount"], x["first_lines"]) == (1, 3113.76, [4])
    assert x["first_detail_lines"] == [{"file": "ER_PHA_F.csv", "line": 9, "service_line": 4}]
    assert report["netting"]["regularisation_lines"] == 0 and report["netting"]["unmatched"]["services"] == 0
    lines = report_lines(report)
    assert "    2 service line(s) with several establishments (ER_PRS_F.csv line(s) 2, 3): the smallest ETB_EXE_FIN " \
           "(text order) kept as their centre" in lines
    assert "  left out: 1 claim line(s) whose quantity's sign contradicts their service's amount (€3,113.76; " \
           "ER_PHA_F.csv line 9 under ER_PRS_F.csv line 4)" in lines
    assert not any("without their original" in line and "€3,113.76" in line for line in lines)


def test_a_negative_quantity_under_a_positive_service_is_no_regularisation(tmp_path):
    prs = [k(1) + ["BEN1", "690000001", "10000000001", "1111", "2025-01-10", "30.00", "1", "50", "0", "1"],
           k(2) + ["BEN1", "690000001", "10000000001", "1111", "2025-01-10", "12.00", "1", "50", "0", "1"]]
    t = read_snds(write_dcir(tmp_path / "dcir", prs, pha=[
        k(1) + ["3400930000011", "1", "2"], k(1) + ["3400930000028", "2", "-5"],
        k(2) + ["3400930000028", "1", "1"]]))      # the same drug, billed again the same day: it stays a claim
    assert [(r["service_code"], r["amount"], r["quantity"]) for r in t["claims"].to_pylist()] == [
        ("3400930000011", "15.00", "2"), ("3400930000028", "12.00", "1")]
    x, n = t.report["quantity_sign_contradicts_amount"], t.report["netting"]
    assert (x["claim_lines"], x["amount"], x["first_lines"]) == (1, 15.0, [2])
    assert (n["regularisation_lines"], n["unmatched"]["services"], n["kept"]["services"]) == (0, 0, 0)
    assert t.report["claims"]["plain_lines"] == 2


def test_a_parquet_extract_names_rows_not_lines(tmp_path):
    """As the contract loader says of Parquet files: `row N` (it said `line N`)."""
    prs = [k(1) + ["BEN1", "690000001", "10000000001", "1111", "2025-01-10", "30.00", "1", "50", "0", "1"],
           k(2) + ["BEN1", "10000000001", "", "1111", "2025-01-08", "vingt", "1", "0", "1", "0"],
           k(2) + ["BEN2", "10000000001", "", "1111", "2025-01-08", "20.00", "1", "0", "1", "0"]]
    folder = tmp_path / "dcir"
    folder.mkdir()
    pq.write_table(pa.table({c: [r[i] for r in prs] for i, c in enumerate(PRS_HEADER)}), folder / "ER_PRS_F.parquet")
    with pytest.raises(DatasetError) as e:
        read_snds(folder)
    assert [str(p) for p in e.value.problems] == [
        "ER_PRS_F.parquet, row 2, column PRS_PAI_MNT, value 'vingt': is not a number",
        "ER_PRS_F.parquet, row 3: repeats the nine DCIR keys of row 2: the same service line twice (an extract given "
        "twice?)"]


def test_a_conversion_that_writes_no_claim_says_so_and_where_every_line_went(tmp_path):
    from click.testing import CliRunner
    from cli.main import main
    write_dcir(tmp_path / "x", [line(1, "A", "0") + [""], line(2, "A", "75123456", amount="30.00") + [""],
                                line(3, "A", "75123456", amount="-30.00", qty="-1") + [""],
                                line(4, "B", "75123456", amount="-10.00", qty="-1") + [""],
                                line(5, "C", "75123456") + ["71"]], extra=["DPN_QLF"])
    out = CliRunner().invoke(main, ["convert", "snds", str(tmp_path / "x"), str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    said = ("no claims written: every one of the 5 service line(s) of ER_PRS_F.csv was left out — 1 information-only "
            "(DPN_QLF/PRS_DPN_QLP 71) (line 6); 1 with no practitioner and no establishment (sentinel PFS_EXE_NUM, no "
            "ETB_EXE_FIN) (line 2); 1 service(s) cancelled by their regularisation lines (lines 3, 4); 1 service(s) "
            "negative once netted (a cancellation without its original) (line 5): validate and scan refuse a folder "
            "without claims")
    assert f"    warning: {said}\n" in out.output
    report = json.loads((tmp_path / "out" / "conversion_report.json").read_text())
    assert report["warnings"] == [{"severity": "warning", "rule": "no_claims", "message": said}]
    # an extract of a header only says that
    write_dcir(tmp_path / "y", [])
    assert read_snds(tmp_path / "y").report["warnings"][0]["message"] == (
        "no claims written: ER_PRS_F.csv has no service line (a header only): validate and scan refuse a folder "
        "without claims")
    # the look-alike: one claim written, no warning
    write_dcir(tmp_path / "z", [line(1, "A", "0") + [""], line(2, "A", "75123456") + [""]], extra=["DPN_QLF"])
    c = read_snds(tmp_path / "z")
    assert c.report["claims"]["rows"] == 1 and c.report["warnings"] == []
    assert not any("warning" in x for x in report_lines(c.report))
