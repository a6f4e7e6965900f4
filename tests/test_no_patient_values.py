"""Security (#15, item 5): no problem, warning, report or example list ever carries the value of a
patient column — whatever the fault, in a contract dataset, an SNDS extract or a mapped extract.

Patient ids here all start with a marker that appears nowhere else; the faults are drawn at
random around them (a byte that is not UTF-8 inside the id, wrong field counts, duplicates, bad
values, open quotes, null tokens, references and keys repeated across sources)."""
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from contract.errors import DatasetError
from loaders.dataset import load_dataset
from loaders.mapping import convert_mapped
from loaders.snds import read_snds

from .conftest import examples

# pyarrow cannot decode a row with a wrong field count and a byte that is not UTF-8 for its
# invalid-row handler and says so as an "unraisable" exception; the file is then reported all the same.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
MARK = "ZQXPAT"
patient = st.integers(0, 999).map(lambda n: f"{MARK}{n:03d}")
FAULTS = ["none", "latin1_in_patient", "extra_field", "missing_field", "duplicate_id", "bad_date", "negative_amount",
          "open_quote", "na_patient", "quote_in_patient", "patient_in_other_source"]
fault = st.sampled_from(FAULTS)


def leaks(text: str) -> bool:
    return MARK in text or "ZQX" in text


def cells(row: list[str], f: str, pid_index: int) -> bytes:
    row = list(row)
    if f == "extra_field":
        row.append("x")
    elif f == "missing_field":
        row.pop()
    elif f == "open_quote":
        row[0] = '"' + row[0]
    elif f == "na_patient":
        row[pid_index] = "NA"
    elif f == "quote_in_patient":
        row[pid_index] = row[pid_index][:3] + '"' + row[pid_index][3:]
    text = ",".join(row).encode("utf-8")
    if f == "latin1_in_patient":
        pid = row[pid_index].encode()
        text = text.replace(pid, pid[:4] + b"\xe9" + pid[4:])
    return text


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(patient, fault), min_size=1, max_size=8),
       patients_faults=st.lists(st.tuples(patient, st.sampled_from(["none", "duplicate", "bad_year", "bad_sex",
                                                                    "latin1"])), max_size=4),
       identifier_faults=st.lists(st.tuples(patient, st.sampled_from(["none", "bad_kind", "missing_value"])),
                                  max_size=3))
def test_a_contract_dataset_never_prints_a_patient_value(rows, patients_faults, identifier_faults):
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        a.mkdir()
        b.mkdir()
        lines = [b"claim_id,patient_id,provider_id,service_code,service_date,amount"]
        others = [b"claim_id,patient_id,provider_id,service_code,service_date,amount"]
        for i, (pid, f) in enumerate(rows):
            row = [f"C{i if f != 'duplicate_id' else 0}", pid, "P1", "G",
                   "2025-13-01" if f == "bad_date" else "2025-01-05", "-3" if f == "negative_amount" else "26.5"]
            lines.append(cells(row, f, 1))
            if f == "patient_in_other_source":      # the same claim id with another patient in a second folder
                others.append(cells([f"C{i}", pid + "9", "P1", "G", "2025-01-05", "26.5"], "none", 1))
        (a / "claims.csv").write_bytes(b"\n".join(lines) + b"\n")
        (b / "claims.csv").write_bytes(b"\n".join(others) + b"\n")
        (a / "providers.csv").write_text("provider_id,kind\nP1,physician\n")
        patients = [b"patient_id,birth_year,sex"]
        for pid, f in patients_faults:
            row = [pid, "19x0" if f == "bad_year" else "1950", "Q" if f == "bad_sex" else "F"]
            patients.append(cells(row, "latin1_in_patient" if f == "latin1" else "none", 0))
            if f == "duplicate":
                patients.append(cells(row, "none", 0))
        if len(patients) > 1:
            (a / "patients.csv").write_bytes(b"\n".join(patients) + b"\n")
        if identifier_faults:
            (a / "identifiers.csv").write_text("entity_type,entity_id,kind,value\n" + "".join(
                f"patient,{pid},{'phne' if f == 'bad_kind' else 'phone'},{'' if f == 'missing_value' else pid + 'TEL'}\n"
                for pid, f in identifier_faults))
        for folders in ([a], [a, b]):
            try:
                report = load_dataset(folders).report.to_dict()
            except DatasetError as e:
                assert not leaks(str(e)), str(e)
                assert not any(p.value and leaks(p.value) for p in e.problems)
            else:
                assert not leaks(json.dumps(report)), report


SNDS_HEADER = ("FLX_DIS_DTD;FLX_TRT_DTD;FLX_EMT_TYP;FLX_EMT_NUM;FLX_EMT_ORD;ORG_CLE_NUM;DCT_ORD_NUM;PRS_ORD_NUM;"
               "REM_TYP_AFF;BEN_NIR_PSA;PFS_EXE_NUM;PFS_PRE_NUM;PRS_NAT_REF;EXE_SOI_DTD;PRS_PAI_MNT;PRS_ACT_QTE;"
               "PSE_ACT_NAT;PSE_SPE_COD;PSP_SPE_COD")


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(patient, st.sampled_from(["none", "latin1_in_patient", "bad_amount", "duplicate_keys",
                                                          "extra_field", "open_quote", "negative"])),
                     min_size=1, max_size=6))
def test_an_snds_extract_never_prints_a_patient_value(rows):
    lines = [SNDS_HEADER.encode()]
    for i, (pid, f) in enumerate(rows):
        amount = {"bad_amount": "2O.00", "negative": "-26.50"}.get(f, "26.50")
        row = ["2025-02-01", "2025-01-20", "1", "101", "1", "01C751000", "1" if f == "duplicate_keys" else str(100 + i),
               "1", "1", pid, "75123456", "", "1111", "2025-01-15", amount, "1", "0", "1", "0"]
        if f == "extra_field":
            row.append("x")
        if f == "open_quote":
            row[6] = '"' + row[6]
        text = ";".join(row).encode()
        if f == "latin1_in_patient":
            text = text.replace(pid.encode(), pid[:4].encode() + b"\xe9" + pid[4:].encode())
        lines.append(text)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "ER_PRS_F.csv").write_bytes(b"\n".join(lines) + b"\n")
        try:
            report = read_snds(tmp).report
        except DatasetError as e:
            assert not leaks(str(e)), str(e)
        else:
            assert not leaks(json.dumps(report)), report


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(patient, st.sampled_from(["none", "latin1_in_patient", "bad_date", "extra_field",
                                                          "open_quote"])), min_size=1, max_size=6))
def test_a_mapped_extract_never_prints_a_patient_value(rows):
    with tempfile.TemporaryDirectory() as tmp:
        mapping = Path(tmp) / "m.toml"
        mapping.write_text('[source]\ndate_format = "%m/%d/%Y"\n[claims]\nclaim_id = "ClaimID"\npatient_id = "BeneID"\n'
                           'provider_id = "Provider"\nservice_code = "Code"\nservice_date = "Day"\namount = "Paid"\n'
                           '[patients]\npatient_id = "BeneID"\nbirth_year = "Born"\n')
        lines = [b"ClaimID,BeneID,Provider,Code,Day,Paid,Born"]
        for i, (pid, f) in enumerate(rows):
            row = [f"C{i}", pid, "P1", "G", "13/45/2009" if f == "bad_date" else "01/05/2009", "10", "1950"]
            lines.append(cells(row, f if f != "bad_date" else "none", 1))
        (Path(tmp) / "s.csv").write_bytes(b"\n".join(lines) + b"\n")
        try:
            report = convert_mapped(mapping, Path(tmp) / "s.csv").report
        except DatasetError as e:
            assert not leaks(str(e)), str(e)
        else:
            assert not leaks(json.dumps(report)), report
