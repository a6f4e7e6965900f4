"""The Annuaire Santé (RPPS) FHIR loader, on the ANS samples and on hand-made resources."""
import json

import pytest
from click.testing import CliRunner

from cli.main import main
from loaders.annuaire import read_annuaire
from loaders.dataset import load_dataset
from contract.errors import DatasetError

from .conftest import CASES, SHARED_DATA, read_csv

SAMPLES = SHARED_DATA / "annuaire-sante-fhir"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/data is not beside the repository")
VALID = ["PP16-Practitioner.json", "PP16-organizationalRole_SituExe.json", "PP16-professionalRole_ExePro.json",
         "PP19-Practitioner.json", "PP19-professionalRole_ExePro.json"]



@needs_samples
def test_the_samples_load_into_providers_and_affiliations_with_their_roles():
    t = read_annuaire([SAMPLES / f for f in VALID])
    providers = {r["provider_id"]: r for r in t["providers"].to_pylist()}
    # PP16 is a pharmacist (profession 21) working liberal at FINESS 580008803; PP19 a physician (10)
    assert {p: (r["kind"], r["specialty"]) for p, r in providers.items()} == {
        "10102727017": ("other", "pharmacist"), "10003461033": ("physician", None)}
    assert all(r["name"] is None for r in providers.values()), "no personal names"
    assert [(a["provider_id"], a["centre_id"], a["role"], str(a["start_date"]), a["end_date"])
            for a in t["affiliations"].to_pylist()] == [("10102727017", "580008803", "liberal", "2019-01-31", None)]
    assert t["centres"]["centre_id"].to_pylist() == ["580008803"]


@needs_samples
def test_broken_samples_are_reported_with_file_line_and_column_and_nothing_is_written(tmp_path):
    with pytest.raises(DatasetError) as e:
        read_annuaire([SAMPLES])
    where = {(p.file.rsplit("/", 1)[-1], p.line) for p in e.value.problems}
    assert where == {("PM1.json", 173), ("PM2.json", 91), ("PM7.json", 91),
                     ("PP19-organizationalRole_SituExe.json", 305)}
    out = CliRunner().invoke(main, ["convert", "annuaire", str(SAMPLES), str(tmp_path / "out")])
    assert out.exit_code == 2 and "PP19-organizationalRole_SituExe.json, line 305, value ']': is not valid JSON (Expecting ',' delimiter at " \
        "character 5 of the line)" in out.output
    assert not (tmp_path / "out").exists()


def role(rid, practitioner=None, profession=None, finess=None, mode=None, start="2024-01-01"):
    r = {"resourceType": "PractitionerRole", "id": rid, "period": {"start": start}, "code": []}
    if practitioner:
        r["practitioner"] = {"reference": f"Practitioner/{practitioner}"}
    if profession:
        r["code"].append({"coding": [{"system": "urn:oid:1.2.250.1.71.1.2.7", "code": profession}]})
    if mode:
        r["code"].append({"coding": [{"system": "urn:oid:1.2.250.1.213.1.6.1.18", "code": mode}]})
    if finess:
        r["organization"] = {"identifier": {"type": {"coding": [{"code": "IDNST"}]}, "value": "1" + finess}}
    return r


def practitioner(rid, rpps=None, idnps=None):
    ids = []
    if rpps:
        ids.append({"type": {"coding": [{"code": "RPPS"}]}, "value": rpps})
    if idnps:
        ids.append({"type": {"coding": [{"code": "IDNPS"}]}, "value": idnps})
    return {"resourceType": "Practitioner", "id": rid, "identifier": ids,
            "name": [{"family": "DUPONT", "given": ["Marie"]}]}


def test_a_bundle_links_roles_by_reference_maps_modes_and_converts_to_a_valid_dataset(tmp_path):
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in [
        practitioner("a", rpps="10000000001"), practitioner("b", idnps="810000000002"),
        role("r1", "a", profession="60"), role("r2", "a", finess="330000001", mode="S"),
        role("r3", "b", profession="70"), role("r4", "b", finess="330000001", mode="L", start="2023-05-01"),
        role("r5", "b", finess="330000002", mode="B")]]}
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    t = read_annuaire([tmp_path / "bundle.json"])
    assert {(r["provider_id"], r["kind"]) for r in t["providers"].to_pylist()} == {
        ("10000000001", "nurse"), ("10000000002", "physiotherapist")}
    assert sorted((a["provider_id"], a["centre_id"], a["role"]) for a in t["affiliations"].to_pylist()) == [
        ("10000000001", "330000001", "salaried"), ("10000000002", "330000001", "liberal"),
        ("10000000002", "330000002", "other")]
    assert "DUPONT" not in json.dumps(t["providers"].to_pylist())
    out = CliRunner().invoke(main, ["convert", "annuaire", str(tmp_path / "bundle.json"), str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    (tmp_path / "out" / "claims.csv").write_text("claim_id,patient_id,provider_id,service_code,service_date,amount\n"
                                                 "c1,p1,10000000001,AMI,2024-02-01,3.15\n")
    ds = load_dataset(tmp_path / "out")
    assert ds.tables["affiliations"].num_rows == 3
    assert {r["kind"] for r in read_csv(tmp_path / "out" / "centres.csv")} == {"other"}


def test_a_role_whose_practitioner_is_missing_is_an_error(tmp_path):
    (tmp_path / "roles.ndjson").write_text(json.dumps(role("r1", "nobody", finess="330000001", mode="L")) + "\n")
    with pytest.raises(DatasetError) as e:
        read_annuaire([tmp_path / "roles.ndjson"])
    assert "practitioner is not among the files read" in str(e.value) and "nobody" in str(e.value)


# --- national identifiers: the type digit of IDNPS and IDNST -------------------------------------

@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")
def test_case_an_adeli_idnps_links_the_registry_to_the_claims(tmp_path):
    case = CASES / "annuaire-idnps-prefix"
    out = CliRunner().invoke(main, ["convert", "annuaire", str(case / "annuaire"), str(tmp_path / "registry")])
    assert out.exit_code == 0, out.output
    assert "1 practitioners (1 ADELI)" in out.output
    assert read_csv(tmp_path / "registry" / "providers.csv")[0]["provider_id"] == "691234567"
    d = load_dataset([case / "claims", tmp_path / "registry"])
    (link,) = d.report.links
    assert (link["providers"], link["severity"]) == ({"found": 1, "of": 1, "all": 1}, "info")
    assert not [w for w in d.report.warnings if w["severity"] == "critical"]
    assert set(d["providers"]["provider_id"].to_pylist()) == {"691234567"}      # one graph, not two


def test_every_idnps_and_idnst_type_is_handled_as_the_standard_defines(tmp_path):
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in [
        practitioner("a", idnps="810000000001"), practitioner("b", idnps="0331234567"),
        practitioner("c", idnps="3330000001/0042"), practitioner("d", idnps="02B1234567"),
        role("r1", "a", finess="330000001", mode="S"), role("r2", "b", profession="60"),
        {**role("r3", "c", mode="S"), "organization": {"identifier": {"type": {"coding": [{"code": "IDNST"}]},
                                                                      "value": "312345678900012"}}}]]}
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    t = read_annuaire([tmp_path / "b.json"])
    assert sorted(t["providers"]["provider_id"].to_pylist()) == ["10000000001", "2B1234567", "331234567",
                                                                 "3330000001/0042"]
    assert sorted(t["centres"]["centre_id"].to_pylist()) == ["312345678900012", "330000001"]
    assert t.report["practitioners"]["by_register"] == {"ADELI": 2, "IDNPS": 1, "RPPS": 1}
    assert t.report["practitioners"]["kept_whole"] == ["3330000001/0042"]
    assert t.report["centres"]["by_register"] == {"FINESS": 1, "IDNST": 1}
