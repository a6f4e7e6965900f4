"""FHIR directory loader on the real FINESS extract and on malformed input."""
import json
import subprocess
import sys

import pyarrow.compute as pc
import pytest

from loaders.dataset import load_dataset
from contract.errors import DatasetError
from loaders.fhir import CATEGORIES, read_finess

from .conftest import REPO, SHARED_DATA, claim, write_table

FINESS = SHARED_DATA / "finess-fhir-2021"
pytestmark = pytest.mark.skipif(not FINESS.is_dir(), reason="../shared/data is not beside the repository")


@pytest.fixture(scope="module")
def finess():
    # health centres proper are category 124; count them apart from multi-professional practices (603)
    return read_finess([FINESS], {**CATEGORIES, "603": "other"})


@pytest.mark.slow
def test_the_national_extract_reproduces_the_register_counts(finess):
    c, p, le = finess["centres"], finess["providers"], finess["legal_entities"]
    pharmacies = p.filter(pc.equal(p["kind"], "pharmacy"))
    labs = p.filter(pc.equal(p["kind"], "laboratory"))
    assert c.num_rows + pharmacies.num_rows == 95_333                  # establishments
    assert le.num_rows == 47_084                                       # legal entities
    assert pharmacies.num_rows == 21_116
    assert labs.num_rows == 4_021 and len(set(labs["legal_entity_id"].to_pylist())) == 330
    hc = c.filter(pc.equal(c["kind"], "health_centre"))
    per_entity = {}
    for e in hc["legal_entity_id"].to_pylist():
        per_entity[e] = per_entity.get(e, 0) + 1
    assert hc.num_rows == 2_495 and len(per_entity) == 1_477
    assert sum(n >= 5 for n in per_entity.values()) == 61
    sites = {}
    for e in c["legal_entity_id"].to_pylist() + pharmacies["legal_entity_id"].to_pylist():
        sites[e] = sites.get(e, 0) + 1
    assert sum(n > 1 for n in sites.values()) == 7_299 and max(sites.values()) == 689
    assert c["centre_id"].to_pylist()[0] == "010000024"           # leading zeros kept
    assert finess["identifiers"].num_rows > 95_333                    # an address for each, phones for many


@pytest.mark.slow
def test_it_streams_in_bounded_memory():
    # VmHWM is this process's own peak (ru_maxrss would carry over the forking parent's)
    code = ("import re, sys; sys.path.insert(0, '.'); from loaders.fhir import read_finess; "
            f"read_finess([{str(FINESS)!r}]); "
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    peak_kb = int(subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                                 check=True).stdout)
    assert peak_kb < 600 * 1024          # the 95,333 records' JSON never sits in memory at once


def test_converted_tables_are_contract_tables(tmp_path):
    out = tmp_path / "registry"
    done = subprocess.run([sys.executable, "-m", "cli.main", "convert", "finess",
                           str(FINESS / "etab0-10000.tar.gz"), str(out)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith(f"wrote {out / 'centres.csv'}: ")
    pharmacy = next(line.split(",")[0].strip('"') for line in (out / "providers.csv").read_text().splitlines()[1:]
                    if '"pharmacy"' in line)
    write_table(out, "claims", [claim("C1", "P1", pharmacy, "3400930000011", "2025-01-05", 2.18)])
    d = load_dataset(out)
    assert d["centres"].num_rows + d["providers"].num_rows > 9_000 and d.report.warnings == []


def test_malformed_records_are_reported_with_file_line_and_field(tmp_path):
    good = {"resourceType": "Organization", "id": "EJ1-ET1", "name": "x"}
    (tmp_path / "bad.ndjson").write_text("\n".join([
        json.dumps(good), "{not json", json.dumps({"resourceType": "Organization", "name": "no id"}),
        json.dumps({"resourceType": "Organization", "id": "ET9"}), json.dumps({"resourceType": "Location", "id": "l"})]))
    with pytest.raises(DatasetError) as e:
        read_finess([tmp_path / "bad.ndjson"])
    assert [str(p) for p in e.value.problems] == [
        "bad.ndjson, line 2: is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "bad.ndjson, line 3, column id: Organization without an id",
        "bad.ndjson, line 4, column id, value 'ET9': no legal entity: neither partOf nor an EJ-ET id"]


def test_bundles_and_part_of(tmp_path):
    bundle = {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Organization", "id": "ET5", "partOf": {"reference": "Organization/EJ5"},
                      "type": [{"coding": [{"system": "http://finess.sante.gouv.fr/valuesets/CAT_ETAB", "code": "124"}]}],
                      "address": [{"line": ["1 rue A"], "postalCode": "69001", "city": "LYON"}]}}]}
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    t = read_finess([tmp_path / "b.json"])
    assert t["centres"].to_pylist()[0] | {} == {"centre_id": "ET5", "kind": "health_centre", "name": None,
                                               "legal_entity_id": "EJ5", "postcode": "69001",
                                               "opened_on": None, "closed_on": None}
    assert t["identifiers"]["value"].to_pylist() == ["1 rue A, 69001, LYON"]


def test_convert_finess_reports_what_it_read_left_aside_and_kept_as_other(tmp_path):
    """Nothing left aside without being counted: Locations (not establishments), Organizations
    by kind, the categories mapped to no kind (kept as `other`), identifiers by kind."""
    from click.testing import CliRunner

    from cli.main import main
    cat = lambda code: [{"coding": [{"system": "http://finess.sante.gouv.fr/valuesets/CAT_ETAB", "code": code}]}]  # noqa: E731
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in [
        {"resourceType": "Organization", "id": "EJ1-ET1", "type": cat("620"), "telecom": [{"system": "phone", "value": "0102"}]},
        {"resourceType": "Organization", "id": "EJ1-ET2", "type": cat("460")},
        {"resourceType": "Organization", "id": "EJ2-ET3", "type": cat("460"), "address": [{"postalCode": "69001"}]},
        {"resourceType": "Organization", "id": "EJ2-ET4", "type": cat("101")},
        {"resourceType": "Location", "id": "L1"}, {"resourceType": "Location", "id": "L2"}]]}
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    out = CliRunner().invoke(main, ["convert", "finess", str(tmp_path / "b.json"), str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    assert "  6 resources read: 4 Organizations (1 hospital, 2 other, 1 pharmacy); left aside, not establishments: " \
           "2 Location" in out.output
    assert "  kind other for 2 Organizations of 1 categories (CAT_ETAB) no kind is mapped for, the largest 460 (2) " \
           "(all in the report; map them with --categories)" in out.output
    assert "  identifiers: 1 address, 1 phone" in out.output
    report = json.loads((tmp_path / "out" / "conversion_report.json").read_text())
    assert report["skipped"] == {"Location": 2} and report["unknown_categories"] == {"460": 2}


def test_a_categories_file_with_problems_is_refused_with_all_of_them(tmp_path):
    """Bad input never gives a traceback: short rows, a ';' file, an unknown kind, UTF-16, an
    empty file — each named with its line and value, exit code 2."""
    from click.testing import CliRunner

    from cli.main import main
    (tmp_path / "b.json").write_text(json.dumps({"resourceType": "Bundle", "entry": []}))
    cases = {"short.csv": ("code,kind\n500\n620;pharmacy\n603,clinc\n".encode(), [
                 "short.csv, line 2, value '500': expected 2 fields (code,kind), found 1",
                 "short.csv, line 3, value '620;pharmacy': expected 2 fields (code,kind), found 1",
                 "short.csv, line 4, column kind, value 'clinc': kind is not one of: "]),
             "utf16.csv": ("500,clinic\n".encode("utf-16"), ["utf16.csv: is not UTF-8 text"]),
             "empty.csv": (b"code,kind\n", ["empty.csv: has no code,kind row: it would change nothing"])}
    for name, (data, said) in cases.items():
        (tmp_path / name).write_bytes(data)
        out = CliRunner().invoke(main, ["convert", "finess", str(tmp_path / "b.json"), str(tmp_path / "out"),
                                        "--categories", str(tmp_path / name)])
        assert out.exit_code == 2 and "Traceback" not in out.output, out.output
        for line in said:
            assert line in out.output, out.output
