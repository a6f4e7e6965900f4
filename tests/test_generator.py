import filecmp

from graph.detect import DETECTORS
from loaders.dataset import load_dataset
from loaders.synthetic import DATASET_FILES, MARKER, generate

from .conftest import read_csv


def test_same_seed_gives_byte_identical_output_and_truth_lies_beside(tmp_path):
    a = generate(tmp_path / "a" / "data", patients=5000, seed=5)
    generate(tmp_path / "b" / "data", patients=5000, seed=5)
    names = sorted(p.name for p in (tmp_path / "a" / "data").iterdir() if p.name != MARKER)
    assert names == ["affiliations.csv", "centres.csv", "claims.csv", "identifiers.csv", "legal_entities.csv",
                     "officers.csv", "patients.csv", "providers.csv", "services.csv"] == sorted(DATASET_FILES)
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a" / "data", tmp_path / "b" / "data", names + [MARKER],
                                               shallow=False)
    assert mismatch == [] and errors == []
    assert filecmp.cmp(tmp_path / "a" / "truth.csv", tmp_path / "b" / "truth.csv", shallow=False)
    assert a["truth"] == str(tmp_path / "a" / "truth.csv")
    generate(tmp_path / "c" / "data", patients=5000, seed=6)
    assert not filecmp.cmp(tmp_path / "a" / "data" / "claims.csv", tmp_path / "c" / "data" / "claims.csv", shallow=False)
    generate(tmp_path / "b" / "data", patients=5000, seed=6)       # a region generated before: written again
    assert filecmp.cmp(tmp_path / "b" / "data" / "claims.csv", tmp_path / "c" / "data" / "claims.csv", shallow=False)


def test_generate_refuses_a_truth_inside_the_dataset_and_a_folder_holding_other_files(tmp_path):
    from click.testing import CliRunner

    from cli.main import main
    run = lambda *args: CliRunner().invoke(main, ["generate", *map(str, args), "--patients", "5000"])
    r = run(tmp_path / "g1", "--truth", tmp_path / "g1" / "truth.csv")
    assert r.exit_code == 2 and f"--truth {tmp_path / 'g1' / 'truth.csv'}: inside the dataset folder" in r.output
    assert not (tmp_path / "g1").exists()
    (tmp_path / "g2").mkdir()
    (tmp_path / "g2" / "claims.parquet").write_bytes(b"left over")
    (tmp_path / "g2" / "notes.txt").write_text("mine")
    r = run(tmp_path / "g2")
    assert r.exit_code == 2, r.output
    assert (f"{tmp_path / 'g2'} holds files the generator did not write there (claims.parquet, notes.txt): A scan of "
            "it would find claims.parquet beside the tables written, and refuse the folder (a table given twice). A "
            "scan would not read notes.txt, but is this the folder meant? A region is written into a new or empty "
            "folder, or over a region generated before and unchanged since; give one, or --force to write the region over and beside them") in " ".join(r.output.split())
    (tmp_path / "g3").mkdir()
    (tmp_path / "g3" / "notes.txt").write_text("mine")          # not read by a scan: said so, not that it is
    r = run(tmp_path / "g3")
    assert r.exit_code == 2 and (f"{tmp_path / 'g3'} holds files the generator did not write there (notes.txt): "
                                 "A scan would not read notes.txt, but is this the folder meant? A region") in " ".join(r.output.split())
    assert sorted(p.name for p in (tmp_path / "g2").iterdir()) == ["claims.parquet", "notes.txt"]
    r = run(tmp_path / "g2", "--force")
    assert r.exit_code == 0, r.output
    assert {p.name for p in (tmp_path / "g2").iterdir()} == {"claims.parquet", "notes.txt", MARKER, *DATASET_FILES}
    r = run(tmp_path / "g2")          # the generator's files are known now, the user's still are not
    assert r.exit_code == 2 and "(claims.parquet, notes.txt)" in r.output


def test_generate_refuses_a_users_own_data_under_the_generators_file_names(tmp_path):
    from click.testing import CliRunner

    from cli.main import main
    run = lambda *args: CliRunner().invoke(main, ["generate", *map(str, args), "--patients", "5000"])
    real = tmp_path / "real"
    real.mkdir()
    for name in ("claims.csv", "providers.csv", "centres.csv"):
        (real / name).write_text(f"{name}: the user's own data\n")
    r = run(real)
    assert r.exit_code == 2, r.output
    assert f"{real} holds files the generator did not write there (centres.csv, claims.csv, providers.csv)" in r.output
    assert (real / "claims.csv").read_text() == "claims.csv: the user's own data\n"
    assert sorted(p.name for p in real.iterdir()) == ["centres.csv", "claims.csv", "providers.csv"]
    # a region generated before is written again, but not once a file of it was changed by hand
    assert run(tmp_path / "gen").exit_code == 0
    assert run(tmp_path / "gen", "--seed", "8").exit_code == 0
    (tmp_path / "gen" / "claims.csv").write_text("claim_id\n")
    r = run(tmp_path / "gen")
    assert r.exit_code == 2 and "did not write there (claims.csv)" in r.output
    (tmp_path / "gen" / MARKER).unlink()   # a region written before the marker (an earlier `make demo`'s demo/data):
    assert run(tmp_path / "gen").exit_code == 0      # known by its synthetic labels, written again, marked
    assert (tmp_path / "gen" / MARKER).exists()
    (tmp_path / "gen" / MARKER).unlink()   # without a marker, real providers' names: nothing is the generator's
    (tmp_path / "gen" / "providers.csv").write_text('"provider_id","kind","specialty","name"\n"1","physician",,"Dr A"\n')
    r = run(tmp_path / "gen")
    assert r.exit_code == 2 and "(affiliations.csv, centres.csv, claims.csv, identifiers.csv, legal_entities.csv and 4 more)" in r.output


def test_every_pattern_is_planted_several_times_and_the_dataset_is_valid(tmp_path):
    counts = generate(tmp_path / "data", patients=5000, seed=3)
    truth = read_csv(tmp_path / "truth.csv")
    groups = {}
    for t in truth:
        groups.setdefault(t["pattern"], set()).add(t["group_id"])
    assert set(groups) == set(DETECTORS)
    assert all(len(g) >= 2 for g in groups.values())
    ds = load_dataset(tmp_path / "data")
    assert ds["claims"].num_rows == counts["claims"]
    assert ds.report.warnings == []
    providers = set(ds["providers"]["provider_id"].to_pylist())
    assert {t["entity_id"] for t in truth if t["entity_type"] == "provider"} <= providers


def test_honest_lookalikes_are_written_and_not_in_the_truth(tmp_path):
    generate(tmp_path / "data", patients=5000, seed=3)
    looks = read_csv(tmp_path / "lookalikes.csv")
    truth = {(t["pattern"], t["entity_id"]) for t in read_csv(tmp_path / "truth.csv")}
    whys = {(x["pattern"], x["why"]) for x in looks}
    assert {("double_billing", "twice-daily nursing"), ("double_billing", "occasional same-day second visit"),
            ("double_billing", "glucose curves (three tests a day)"),
            ("peer_outlier", "nursing-home care team"), ("dense_block", "nursing-home care team"),
            ("peer_outlier", "diabetes nurse: twice-daily insulin"),
            ("peer_outlier", "neuro-rehabilitation physiotherapist, long courses"),
            ("pharmacy_collusion", "regional HIV reference service"),
            ("pharmacy_collusion", "pharmacy next to the reference hospital"),
            ("pharmacy_collusion", "pharmacy next to a group practice"),
            ("doctor_shopping", "palliative care: opioids from three prescribers"),
            ("doctor_shopping", "monthly pregabalin, two prescribers"),
            ("entity_network", "mutualist network of dental centres"),
            ("entity_network", "hospital group running several sites"),
            ("entity_network", "shares an accountant's address")} <= whys
    assert not {(x["pattern"], x["entity_id"]) for x in looks} & truth


def test_plants_are_as_they_occur_in_the_field(tmp_path):
    """Blocks of 3 and of several professions, partly filled; discreet shoppers; a small practice."""
    generate(tmp_path / "data", patients=16000, seed=3)
    truth = read_csv(tmp_path / "truth.csv")
    blocks: dict[str, set] = {}
    for t in truth:
        if t["pattern"] == "dense_block":
            blocks.setdefault(t["group_id"], set()).add(t["entity_id"])
    sizes = sorted(len(b) for b in blocks.values())
    assert sizes[0] == 3 and sizes[-1] >= 10
    kinds = {p["provider_id"]: p["kind"] for p in read_csv(tmp_path / "data" / "providers.csv")}
    assert len({kinds[x] for b in blocks.values() for x in b}) >= 3
    assert len({t["group_id"] for t in truth if t["pattern"] == "doctor_shopping"}) == 5


def test_a_region_built_on_a_real_registry(tmp_path):
    import pytest

    from loaders.fhir import read_finess, write_tables

    from .conftest import SHARED_DATA
    finess = SHARED_DATA / "finess-fhir-2021" / "etab0-10000.tar.gz"
    if not finess.is_file():
        pytest.skip("../shared/data is not beside the repository")
    registry = read_finess([finess])
    write_tables(registry, tmp_path / "registry")
    generate(tmp_path / "a" / "data", patients=5000, seed=4, registry=tmp_path / "registry")
    generate(tmp_path / "b" / "data", patients=5000, seed=4, registry=tmp_path / "registry")
    assert filecmp.cmp(tmp_path / "a" / "data" / "claims.csv", tmp_path / "b" / "data" / "claims.csv", shallow=False)
    ds = load_dataset(tmp_path / "a" / "data")
    real_pharmacies = {p["provider_id"]: p for p in registry["providers"].to_pylist() if p["kind"] == "pharmacy"}
    pharmacies = [p for p in ds["providers"].to_pylist() if p["kind"] == "pharmacy"]
    assert pharmacies and all(p["provider_id"] in real_pharmacies for p in pharmacies)
    assert all(p["legal_entity_id"] == real_pharmacies[p["provider_id"]]["legal_entity_id"] for p in pharmacies)
    real_postcodes = {p["postcode"] for p in real_pharmacies.values()}
    assert {p["postcode"] for p in ds["providers"].to_pylist()} <= real_postcodes
    real_hospitals = {c["centre_id"] for c in registry["centres"].to_pylist() if c["kind"] == "hospital"}
    hospitals = [c["centre_id"] for c in ds["centres"].to_pylist() if c["kind"] == "hospital"]
    assert hospitals and set(hospitals) <= real_hospitals
    assert {t["pattern"] for t in read_csv(tmp_path / "a" / "truth.csv")} == set(DETECTORS)


def test_two_truths_in_one_folder_keep_their_own_lookalikes(tmp_path):
    """`generate … --truth sched/t1.csv` then `--truth sched/t2.csv` both wrote
    `sched/lookalikes.csv`: the second overwrote the first's look-alikes without a word."""
    one = generate(tmp_path / "a", patients=5000, seed=3, truth=tmp_path / "sched" / "t1.csv")
    two = generate(tmp_path / "b", patients=5000, seed=4, truth=tmp_path / "sched" / "t2.csv")
    assert (one["lookalikes"], two["lookalikes"]) == (str(tmp_path / "sched" / "t1.lookalikes.csv"),
                                                      str(tmp_path / "sched" / "t2.lookalikes.csv"))
    first, second = (read_csv(tmp_path / "sched" / f"t{i}.lookalikes.csv") for i in (1, 2))
    assert first and second and first != second
    assert not (tmp_path / "sched" / "lookalikes.csv").exists()


def test_a_patient_billed_by_a_plant_is_not_listed_as_an_honest_lookalike(tmp_path, monkeypatch):
    """Generator 80,000:1 listed P0000024 as a mega_consumer look-alike (insulin twice a day) while a
    planted peer outlier billed it 41 physiotherapy sessions: an alert naming it was a true lead,
    counted as an honest look-alike. The plants' patients (peer outliers', blocks', mules) are left
    out of `lookalikes.csv`'s mega_consumer rows, not the other patterns'; the claims are the same."""
    from loaders import synthetic
    seen, write = {}, synthetic._write

    def keep(r, *rest):
        seen["r"] = r
        return write(r, *rest)
    monkeypatch.setattr(synthetic, "_write", keep)
    generate(tmp_path / "data", patients=8000, seed=3)
    r = seen["r"]
    victims = {f"P{x + 1:07d}" for x in r.victims}
    drawn = {(x[0], x[2]) for x in r.lookalikes if x[1] == "patient"}
    assert {p for pattern, p in drawn if pattern == "mega_consumer"} & victims   # the check below can fail
    listed = {(x["pattern"], x["entity_id"]) for x in read_csv(tmp_path / "lookalikes.csv")
              if x["entity_type"] == "patient"}
    assert listed == {(pattern, p) for pattern, p in drawn if pattern != "mega_consumer" or p not in victims}
    # a doctor shopping look-alike billed by a plant stays one: its opioids are its own care
    assert {(pattern, p) for pattern, p in drawn if pattern == "doctor_shopping" and p in victims} <= listed
