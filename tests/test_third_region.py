"""The third independent world (benchmarks/worlds/third_region.py): a generated region is a valid
contract dataset, byte-identical for a seed, with every pattern planted, every look-alike family of
its brief present, truth consistent with the data, and plants that show in the data."""
import csv
import importlib.util
import json
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from contract.tables import TABLES
from contract.vocab import PATTERNS
from loaders.dataset import load_dataset

REPO = Path(__file__).resolve().parent.parent
PATIENTS, SEED = 10000, 3

# The honest look-alike families the world must contain, by the pattern they resemble.
FAMILIES = {
    "double_billing": {"twice_daily_insulin_nursing", "gp_same_day_second_visit", "lab_glucose_curve"},
    "dense_block": {"nursing_home_team", "home_nursing_rotation"},
    "pharmacy_collusion": {"regional_reference_service", "adjacent_pharmacy_group_practice"},
    "doctor_shopping": {"palliative_opioids", "chronic_many_specialists"},
    "entity_network": {"mutualist_dental_network", "shared_accountant_address", "pooled_bank_account",
                       "public_hospital_network", "honest_succession"},
    "peer_outlier": {"neuro_rehab_physio", "busy_gp"},
    "indicator_outlier": {"neuro_rehab_physio", "oral_surgeon_cbct"},
    "mega_consumer": {"dialysis_patient", "chemotherapy_patient", "palliative_home_care",
                      "insulin_elderly_twice_daily", "multimorbid_patient"},
    "atypical_private_practice": {"parttime_large_private", "fulltime_small_private"},
}


def _generator():
    path = REPO / "benchmarks" / "worlds" / "third_region.py"
    spec = importlib.util.spec_from_file_location("third_region", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("third_region")
    gen = _generator()
    gen.generate(root / "a" / "data", root / "a" / "truth.csv", PATIENTS, SEED)
    gen.generate(root / "b" / "data", root / "b" / "truth.csv", PATIENTS, SEED)
    gen.generate(root / "c" / "data", root / "c" / "truth.csv", 5000, SEED + 1)
    return root


@pytest.fixture(scope="module")
def db(world):
    con = duckdb.connect()
    for name in TABLES:
        con.execute(f"create table {name} as select * from read_csv(?, all_varchar=true)",
                    [str(world / "a" / "data" / f"{name}.csv")])
    con.execute("create table truth as select * from read_csv(?, all_varchar=true)", [str(world / "a" / "truth.csv")])
    yield con
    con.close()


def test_same_seed_gives_byte_identical_files(world):
    files = sorted(p.relative_to(world / "a") for p in (world / "a").rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {"truth.csv", "lookalikes.csv", "indicators.json"} | {
        f"data/{name}.csv" for name in TABLES}
    for f in files:
        assert (world / "a" / f).read_bytes() == (world / "b" / f).read_bytes(), f
    assert (world / "a" / "data" / "claims.csv").read_bytes() != (world / "c" / "data" / "claims.csv").read_bytes()


def test_region_is_a_valid_dataset_with_every_table(world):
    for region in ("a", "c"):
        ds = load_dataset(world / region / "data")
        assert set(ds.report.tables) == set(TABLES)
        assert ds.report.warnings == []          # every reference names an entity of the data
        assert all(ds[name].num_rows > 0 for name in TABLES)
    assert ds["patients"].num_rows == 5000


def test_every_pattern_is_planted_several_times(world):
    for region in ("a", "c"):
        groups = defaultdict(set)
        for r in _rows(world / region / "truth.csv"):
            groups[r["pattern"]].add(r["group_id"])
        assert set(groups) == set(PATTERNS)
        assert all(len(g) >= 2 for g in groups.values()), {p: len(g) for p, g in groups.items()}
        assert len(groups["indicator_outlier"]) >= 3      # one per indicator at least


def test_every_lookalike_family_is_present_and_never_planted(world):
    looks = _rows(world / "a" / "lookalikes.csv")
    found = defaultdict(set)
    for r in looks:
        family, sep, why = r["why"].partition(": ")
        assert sep and why, r["why"]
        found[r["pattern"]].add(family)
    for pattern, families in FAMILIES.items():
        assert families <= found[pattern], (pattern, families - found[pattern])
    planted = {(r["entity_type"], r["entity_id"]) for r in _rows(world / "a" / "truth.csv")}
    assert not planted & {(r["entity_type"], r["entity_id"]) for r in looks}


def test_truth_and_lookalike_entities_exist_in_the_data(db, world):
    known = {
        "provider": {r[0] for r in db.execute("select provider_id from providers").fetchall()},
        "patient": {r[0] for r in db.execute("select patient_id from patients").fetchall()},
        "centre": {r[0] for r in db.execute("select centre_id from centres").fetchall()},
        "legal_entity": {r[0] for r in db.execute("select legal_entity_id from legal_entities").fetchall()},
        "person": {r[0] for r in db.execute("select person_id from officers").fetchall()},
    }
    rows = _rows(world / "a" / "truth.csv") + _rows(world / "a" / "lookalikes.csv")
    missing = [(r["entity_type"], r["entity_id"]) for r in rows if r["entity_id"] not in known[r["entity_type"]]]
    assert missing == []


def test_planted_entities_take_part_in_the_claims(db):
    # Planted providers bill or prescribe, planted patients are billed, planted centres bill.
    absent = db.execute("""
        select t.entity_type, t.entity_id from truth t where
          (t.entity_type = 'provider' and not exists (select 1 from claims c where c.provider_id = t.entity_id
                                                      or c.prescriber_id = t.entity_id))
          or (t.entity_type = 'patient' and not exists (select 1 from claims c where c.patient_id = t.entity_id))
          or (t.entity_type = 'centre' and not exists (select 1 from claims c where c.centre_id = t.entity_id))
        """).fetchall()
    assert absent == []
    # A network's legal entities run its centres; its person directs at least two of them.
    for group, in db.execute("select distinct group_id from truth where pattern = 'entity_network'").fetchall():
        ents = {r[0] for r in db.execute("select entity_id from truth where group_id = ? and entity_type = 'legal_entity'",
                                         [group]).fetchall()}
        run = {r[0] for r in db.execute("""select c.legal_entity_id from truth t join centres c on c.centre_id = t.entity_id
                                           where t.group_id = ? and t.entity_type = 'centre'""", [group]).fetchall()}
        assert run == ents, group
        person, = db.execute("select entity_id from truth where group_id = ? and entity_type = 'person'", [group]).fetchone()
        directed = {r[0] for r in db.execute("select legal_entity_id from officers where person_id = ?", [person]).fetchall()}
        assert len(directed & ents) >= 2, group


def test_doctor_shoppers_collect_one_watched_molecule_from_several_prescribers_and_pharmacies(db):
    rows = db.execute("""
        select t.entity_id, max(k.presc), max(k.pharm) from truth t
        left join (select patient_id, service_code, count(distinct prescriber_id) presc, count(distinct provider_id) pharm
                   from claims join services using (service_code) where watch = 'true' group by all) k
          on k.patient_id = t.entity_id
        where t.pattern = 'doctor_shopping' group by 1""").fetchall()
    assert rows and all(presc >= 3 and pharm >= 2 for _, presc, pharm in rows), rows


def test_indicator_outliers_are_far_beyond_their_peers(db, world):
    spec = {i["name"]: i for i in json.loads((world / "a" / "indicators.json").read_text())["indicators"]}
    assert set(spec) == {"central_antihypertensives_65plus", "dental_cone_beam_ct", "physiotherapy_sessions_per_course"}
    assert spec["central_antihypertensives_65plus"]["unit"] == "prescriber"
    assert spec["central_antihypertensives_65plus"]["numerator"]["prefixes"] == ["C02A"]
    # Central antihypertensives for hypertensive patients aged 65+, by GP prescriber.
    share = dict(db.execute("""
        with d as (select prescriber_id, patient_id, max(service_code like 'C02A%')::int num
                   from claims join patients using (patient_id)
                   where 2025 - birth_year::int >= 65 and substr(service_code, 1, 3) between 'C02' and 'C09'
                   group by all)
        select prescriber_id, avg(num) from d join providers p on p.provider_id = prescriber_id
        where p.specialty = 'general_practice' group by 1 having count(*) >= 10""").fetchall())
    # Cone-beam CTs per patient, by general dentist.
    cbct = dict(db.execute("""
        select provider_id, avg((service_code = '307746')::int) * count(*) / count(distinct patient_id)
        from claims join providers using (provider_id) where specialty = 'general_dentistry' group by 1""").fetchall())
    planted = db.execute("""select t.entity_id, p.specialty from truth t join providers p on p.provider_id = t.entity_id
                            where t.pattern = 'indicator_outlier'""").fetchall()
    assert {sp for _, sp in planted} == {"general_practice", "general_dentistry", "physiotherapy"}
    for values, specialty in ((share, "general_practice"), (cbct, "general_dentistry")):
        ours = [pid for pid, sp in planted if sp == specialty]
        honest = sorted(v for pid, v in values.items() if pid not in ours)
        median = honest[len(honest) // 2]
        assert all(values[pid] > 3 * median for pid in ours), (specialty, [values[p] for p in ours], median)
