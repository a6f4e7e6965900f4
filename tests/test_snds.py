"""SNDS DCIR loader: the shipped synthetic tables column by column, and a consistent fixture."""
import csv
import subprocess
import sys

import pytest

from loaders.dataset import load_dataset
from contract.errors import DatasetError
from loaders.snds import KEYS, read_snds

from .conftest import REPO, SHARED_DATA, write_table

DCIR = SHARED_DATA / "synthetic-snds" / "DCIR"


def rows(name):
    with open(DCIR / f"{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.skipif(not DCIR.is_dir(), reason="../shared/data is not beside the repository")
def test_the_shipped_tables_map_column_by_column():
    claims = read_snds(DCIR)["claims"].to_pylist()
    key = lambda r: tuple(r[k.upper()] for k in KEYS)   # noqa: E731
    pha, cam = {}, {}
    for r in rows("ER_PHA_F"):
        pha.setdefault(key(r), []).append(r)
    for r in rows("ER_CAM_F"):
        cam.setdefault(key(r), []).append(r)
    prs = rows("ER_PRS_F")
    assert {c["snds_line"] for c in claims} == {str(i + 2) for i in range(len(prs))}
    for i, p in enumerate(prs):
        mine = [c for c in claims if c["snds_line"] == str(i + 2)]
        details = pha.get(key(p), []) + cam.get(key(p), [])
        assert len(mine) == max(len(details), 1)
        for c in mine:
            assert (c["patient_id"], c["provider_id"], c["service_date"]) == \
                (p["BEN_NIR_PSA"], p["PFS_EXE_NUM"], p["EXE_SOI_DTD"])
            assert c["prescriber_id"] == (None if set(p["PFS_PRE_NUM"]) <= {"0"} else p["PFS_PRE_NUM"])
            assert float(c["amount"]) == pytest.approx(float(p["PRS_PAI_MNT"]) / len(mine), abs=0.0051)
            assert c["claim_id"].startswith("|".join(p[k.upper()] for k in KEYS))
        codes = sorted(c["service_code"] for c in mine)
        expected = sorted([d["PHA_PRS_C13"] for d in pha.get(key(p), [])] + [d["CAM_PRS_IDE"] for d in cam.get(key(p), [])])
        assert codes == (expected or [p["PRS_NAT_REF"]])
        if not details:
            assert mine[0]["quantity"] == p["PRS_ACT_QTE"]


PRS_HEADER = ["flx_dis_dtd", "FLX_TRT_DTD", "FLX_EMT_TYP", "FLX_EMT_NUM", "FLX_EMT_ORD", "ORG_CLE_NUM", "DCT_ORD_NUM",
              "PRS_ORD_NUM", "REM_TYP_AFF", "BEN_NIR_PSA", "PFS_EXE_NUM", "PFS_PRE_NUM", "PRS_NAT_REF", "EXE_SOI_DTD",
              "PRS_PAI_MNT", "PRS_ACT_QTE", "PSE_ACT_NAT", "PSE_SPE_COD", "PSP_SPE_COD"]


def fixture(folder):
    k = lambda n: ["2025-02-01", "2025-02-03", "1", "01C", "1", "01C", f"{n}", "1", "0"]   # noqa: E731
    prs = [k(1) + ["BEN1", "690000001", "10000000001", "1111", "2025-01-10", "30.00", "1", "50", "0", "1"],   # pharmacy, 2 drugs
           k(2) + ["BEN1", "10000000001", "", "1111", "2025-01-08", "25.00", "1", "0", "1", "0"],            # GP consultation
           k(3) + ["BEN2", "10000000002", "0000000000", "1352", "2025-01-09", "80.00", "1", "0", "4", "0"]]  # CCAM act in a clinic
    folder.mkdir()
    with open(folder / "ER_PRS_F.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(PRS_HEADER)
        w.writerows(prs)
    with open(folder / "er_pha_f.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([x.upper() for x in KEYS] + ["PHA_PRS_C13", "PHA_ORD_NUM", "PHA_ACT_QSN"])
        w.writerow(k(1) + ["3400930000011", "1", "2"])
        w.writerow(k(1) + ["3400930000028", "2", "1"])
    with open(folder / "ER_CAM_F.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([x.upper() for x in KEYS] + ["CAM_PRS_IDE", "CAM_ORD_NUM"])
        w.writerow(k(3) + ["QZFA001", "1"])
    with open(folder / "ER_ETE_F.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([x.upper() for x in KEYS] + ["ETB_EXE_FIN"])
        w.writerow(k(3) + ["690000123"])


def test_a_consistent_extract_becomes_the_expected_claims(tmp_path):
    fixture(tmp_path / "dcir")
    t = read_snds(tmp_path / "dcir")
    base = "2025-02-01|2025-02-03|1|01C|1|01C|{}|1|0"
    assert [{k: c[k] for k in ("claim_id", "patient_id", "provider_id", "prescriber_id", "centre_id", "service_code",
                                "service_date", "amount", "quantity")} for c in t["claims"].to_pylist()] == [
        {"claim_id": base.format(1) + "|pha1", "patient_id": "BEN1", "provider_id": "690000001",
         "prescriber_id": "10000000001", "centre_id": None, "service_code": "3400930000011",
         "service_date": "2025-01-10", "amount": "15.0", "quantity": "2"},
        {"claim_id": base.format(1) + "|pha2", "patient_id": "BEN1", "provider_id": "690000001",
         "prescriber_id": "10000000001", "centre_id": None, "service_code": "3400930000028",
         "service_date": "2025-01-10", "amount": "15.0", "quantity": "1"},
        {"claim_id": base.format(2), "patient_id": "BEN1", "provider_id": "10000000001", "prescriber_id": None,
         "centre_id": None, "service_code": "1111", "service_date": "2025-01-08", "amount": "25.0", "quantity": "1"},
        {"claim_id": base.format(3) + "|cam1", "patient_id": "BEN2", "provider_id": "10000000002",
         "prescriber_id": None, "centre_id": "690000123", "service_code": "QZFA001", "service_date": "2025-01-09",
         "amount": "80.0", "quantity": "1"}]
    assert {p["provider_id"]: (p["kind"], p["specialty"]) for p in t["providers"].to_pylist()} == {
        "690000001": ("pharmacy", None), "10000000001": ("physician", "medecine_generale"),
        "10000000002": ("physician", "chirurgie")}


def test_convert_then_scan_with_a_registry(tmp_path):
    fixture(tmp_path / "dcir")
    done = subprocess.run([sys.executable, "-m", "cli.main", "convert", "snds", str(tmp_path / "dcir"),
                           str(tmp_path / "claims")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    registry = tmp_path / "registry"
    write_table(registry, "centres", [{"centre_id": "690000123", "kind": "clinic"}])
    write_table(registry, "providers", [{"provider_id": "690000001", "kind": "pharmacy", "postcode": "69001"}])
    d = load_dataset([tmp_path / "claims", registry])
    assert d["claims"].num_rows == 4 and d["centres"].num_rows == 1
    assert [w["rows"] for w in d.report.warnings] == [1]          # the pharmacy is in both sources
    done = subprocess.run([sys.executable, "-m", "cli.main", "scan", str(tmp_path / "claims"), str(registry),
                           "--store", str(tmp_path / "store")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("run ") and " is current: 4 claims," in done.stdout
    assert "warning: 1 providers row(s) repeat a provider_id of an earlier source" in done.stdout


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
