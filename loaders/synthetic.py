"""A synthetic region-year in the contract format, with planted fraud and honest look-alikes.

`generate(out, patients, seed)` writes a contract dataset folder and, beside it (never inside),
`truth.csv` (the planted fraud: pattern, group_id, entity_type, entity_id) and `lookalikes.csv`
(honest behaviour a naive rule would flag, which detectors must leave alone).

Claims are drawn with numpy in whole arrays (no Python loop over claims), so a few million lines
take seconds; one `numpy.random.Generator` seeded once makes the output byte-identical per seed.
Names are synthetic labels, never personal names.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from contract.tables import TABLES

from .dataset import EXTENSIONS

YEAR_START = np.datetime64("2025-01-01")
MIN_PATIENTS = 5000
DAYS = 365
DEPTS = ("69", "01", "38")

# code, kind, label, price, watch
SERVICES = [
    ("G", "act", "GP consultation", 26.5, False),
    ("VG", "act", "GP home visit", 35.0, False),
    ("CS", "act", "specialist consultation", 30.0, False),
    ("AMI1", "act", "nursing: injection", 3.15, False),
    ("AMI4", "act", "nursing: dressing", 12.6, False),
    ("AMK8", "act", "physiotherapy session", 17.2, False),
    ("HBBD001", "act", "dental scaling", 28.92, False),
    ("HBMD049", "act", "dental filling", 40.97, False),
    ("HBLD036", "act", "dental crown", 120.0, False),
    ("B0552", "lab", "blood count", 7.02, False),
    ("B1208", "lab", "glucose", 2.7, False),
    ("B0323", "lab", "lipid panel", 10.8, False),
    ("3400930000011", "drug", "paracetamol 1 g", 2.18, False),
    ("3400930000028", "drug", "amoxicillin 1 g", 4.5, False),
    ("3400930000035", "drug", "atorvastatin 20 mg", 9.8, False),
    ("3400930000042", "drug", "metformin 1000 mg", 4.9, False),
    ("3400930000059", "drug", "levothyroxine 75 µg", 2.9, False),
    ("3400930000066", "drug", "ramipril 5 mg", 5.6, False),
    ("3400930000073", "drug", "oxycodone 20 mg", 48.0, True),
    ("3400930000080", "drug", "buprenorphine 8 mg", 31.0, True),
    ("3400930000097", "drug", "methylphenidate 36 mg", 52.0, True),
    ("3400930000103", "drug", "pregabalin 150 mg", 19.5, True),
    ("3400930000110", "drug", "semaglutide 1 mg pen", 219.0, True),
    ("3400930000127", "drug", "HIV triple therapy", 640.0, True),
    # the control programmes (`_programmes`): drugs by ATC code, as SNDS pharmacy lines can be read
    ("C09AA05", "drug", "ramipril", 5.6, False),
    ("C08CA01", "drug", "amlodipine", 4.2, False),
    ("C07AB07", "drug", "bisoprolol", 3.9, False),
    ("C02AC05", "drug", "moxonidine (central antihypertensive)", 7.1, False),
    ("A10AE04", "drug", "insulin glargine", 48.0, False),
    ("N05BA12", "drug", "alprazolam", 2.1, False),
    ("AMK9", "act", "physiotherapy session, neurological rehabilitation", 19.6, False),
    ("AMK6", "act", "physiotherapy session, walking rehabilitation of the elderly", 12.9, False),
    ("AIS3", "act", "nursing care session, dependent patient", 7.95, False),
    ("LAQK027", "act", "dental cone-beam CT", 69.0, False),
    ("HD001", "act", "haemodialysis session", 290.0, False),
    ("CHIMIO1", "act", "chemotherapy session", 410.0, False),
]
CODE = {s[0]: i for i, s in enumerate(SERVICES)}
PRICE = np.array([s[3] for s in SERVICES])
COMMON_DRUGS = np.array([CODE[c] for c in ("3400930000011", "3400930000028", "3400930000035",
                                           "3400930000042", "3400930000059", "3400930000066")])
SPECIALTIES = ("cardiology", "dermatology", "psychiatry", "rheumatology", "ophthalmology",
               "endocrinology")


class _Registry:
    """Real establishments to build a region on (a contract folder, e.g. `fraudnet convert finess`):
    pharmacies by postcode, laboratories and hospitals by département, each used once."""

    def __init__(self, folder: Path):
        def read(name):
            path = folder / f"{name}.csv"
            if not path.is_file():
                return []
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in ("provider_id", "centre_id", "kind", "name", "postcode",
                                                       "legal_entity_id")})).to_pylist()
        self.pharmacies: dict[str, list[dict]] = {}
        self.labs: dict[str, list[dict]] = {}
        self.hospitals: dict[str, list[dict]] = {}
        for p in sorted(read("providers"), key=lambda x: x["provider_id"]):
            pc_ = p.get("postcode") or ""
            if p["kind"] == "pharmacy" and len(pc_) == 5:
                self.pharmacies.setdefault(pc_, []).append(p)
            elif p["kind"] == "laboratory" and len(pc_) == 5:
                self.labs.setdefault(pc_[:2], []).append(p)
        for c in sorted(read("centres"), key=lambda x: x["centre_id"]):
            if c["kind"] == "hospital" and len(c.get("postcode") or "") == 5:
                self.hospitals.setdefault(c["postcode"][:2], []).append(c)
        if not self.pharmacies:
            raise ValueError(f"{folder}: the registry has no pharmacy with a postcode (providers.csv)")

    def departments(self, k: int = 3) -> list[str]:
        count: dict[str, int] = {}
        for pc_, ps in self.pharmacies.items():
            count[pc_[:2]] = count.get(pc_[:2], 0) + len(ps)
        return sorted(count, key=lambda d: (-count[d], d))[:k]

    def postcodes(self, dept: str) -> list[str]:
        return sorted((pc_ for pc_ in self.pharmacies if pc_[:2] == dept),
                      key=lambda pc_: (-len(self.pharmacies[pc_]), pc_))

    def take(self, pool: dict, key: str) -> dict | None:
        items = pool.get(key, [])
        return items.pop(0) if items else None


@dataclass
class _Region:
    rng: np.random.Generator
    n_patients: int
    registry: _Registry | None = None
    depts: tuple = DEPTS
    town_postcode: list = field(default_factory=list)
    town_dept: np.ndarray = None
    patient_town: np.ndarray = None
    providers: dict = field(default_factory=lambda: {k: [] for k in (
        "id", "kind", "specialty", "name", "postcode", "legal_entity_id")})
    centres: dict = field(default_factory=lambda: {k: [] for k in (
        "centre_id", "kind", "name", "legal_entity_id", "postcode", "opened_on", "closed_on")})
    entities: dict = field(default_factory=lambda: {k: [] for k in (
        "legal_entity_id", "kind", "name", "created_on", "dissolved_on")})
    affiliations: list = field(default_factory=list)
    officers: list = field(default_factory=list)
    identifiers: list = field(default_factory=list)
    claims: list = field(default_factory=list)   # chunks: dict of equal-length arrays
    truth: list = field(default_factory=list)
    lookalikes: list = field(default_factory=list)
    victims: set = field(default_factory=set)    # patients a plant billed: no mega_consumer look-alikes
    counters: dict = field(default_factory=dict)

    def next_id(self, prefix: str, width: int) -> str:
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}{n:0{width}d}"

    # -- entities -------------------------------------------------------------------------
    def provider(self, kind, specialty, town, legal_entity_id=None, pid=None) -> int:
        p = self.providers
        pc_ = self.town_postcode[town]
        if pid is not None:                       # a real establishment of the registry
            pass
        elif kind in ("pharmacy", "laboratory"):  # FINESS-like: department then 7 digits
            pid = ("S" if self.registry else "") + self.next_id(pc_[:2], 7)
        else:                                     # RPPS-like, 11 digits
            pid = self.next_id("10", 9)
        p["id"].append(pid)
        p["kind"].append(kind)
        p["specialty"].append(specialty)
        p["name"].append(f"{(specialty or kind).replace('_', ' ')} {len(p['id']):05d} (synthetic)")
        p["postcode"].append(pc_)
        p["legal_entity_id"].append(legal_entity_id)
        return len(p["id"]) - 1

    def entity(self, kind, name, created="2010-01-01", dissolved=None, eid=None) -> str:
        e = self.entities
        if eid is not None and eid in e["legal_entity_id"]:
            return eid                            # a real legal entity already in the region
        eid = eid or self.next_id("SIREN", 6)
        for k, v in zip(e, (eid, kind, name, created, dissolved)):
            e[k].append(v)
        return eid

    def centre(self, kind, name, entity_id, town, opened="2005-01-01", closed=None, cid=None) -> int:
        cid = cid or self.next_id("FIN", 6)
        c = self.centres
        for k, v in zip(c, (cid, kind, name, entity_id, self.town_postcode[town], opened, closed)):
            c[k].append(v)
        return len(c["centre_id"]) - 1

    def address(self, town) -> str:
        return f"{self.rng.integers(1, 200)} rue {self.next_id('R', 5)}, {self.town_postcode[town]}"

    def add_claims(self, patient, provider, code, day, prescriber=-1, centre=-1, qty=1):
        """Append claim lines; every argument is an array of the patients' length or a scalar."""
        n = len(patient)
        cols = {"patient": patient, "provider": provider, "code": code, "day": day,
                "prescriber": prescriber, "centre": centre, "qty": qty}
        chunk = {k: np.broadcast_to(np.asarray(v, np.int64), (n,)).copy() for k, v in cols.items()}
        chunk["day"] = np.clip(chunk["day"], 0, DAYS - 1)
        self.claims.append(chunk)


def _choose(rng, pool_by_group: dict, groups: np.ndarray) -> np.ndarray:
    """For each element of `groups`, a random member of that group's pool (vectorised)."""
    out = np.empty(len(groups), np.int64)
    for g, pool in pool_by_group.items():
        mask = groups == g
        k = int(mask.sum())
        if k:
            out[mask] = np.asarray(pool)[rng.integers(0, len(pool), k)]
    return out


def _spread(rng, items: int, per: int, first: int, last: int) -> np.ndarray:
    """`per` days for each of `items`, evenly spaced within [first, last]: never twice the same day."""
    step = max((last - first) // per, 1)
    base = rng.integers(0, step, items)
    return first + np.repeat(base, per) + step * np.tile(np.arange(per), items)


def _lookup(mapping: dict[int, int], size: int) -> np.ndarray:
    """A dict of provider index -> value as an array (-1 where absent), for vectorised look-ups."""
    out = np.full(size, -1, np.int64)
    if mapping:
        out[list(mapping)] = list(mapping.values())
    return out


def _pools(region: _Region, idx: list[int], by: str) -> dict:
    """Providers `idx` grouped by town (`by='town'`) or department (`by='dept'`)."""
    pcs = region.providers["postcode"]
    pools: dict = {}
    for i in idx:
        town = region.town_postcode.index(pcs[i])
        key = town if by == "town" else int(region.town_dept[town])
        pools.setdefault(key, []).append(i)
    return pools


# The files `generate` writes into its dataset folder, and the marker it writes last, listing each
# one's SHA-256: only a folder whose files are all the generator's, unchanged since (a region
# generated before), may be generated again; anything else in it is refused unless forced — a
# user's own claims.csv has the generator's name but not its marker.
DATASET_FILES = ("claims.csv", "providers.csv", "centres.csv", "legal_entities.csv", "affiliations.csv",
                 "officers.csv", "identifiers.csv", "patients.csv", "services.csv")
MARKER = ".fraudnet-generated"


def generate(out: str | Path, patients: int = 20000, seed: int = 7, truth: str | Path | None = None,
             registry: str | Path | None = None, force: bool = False) -> dict:
    """Write a dataset folder `out`, `truth.csv` and `lookalikes.csv` beside it (`truth`: another
    path for the truth, its look-alikes then beside it as `lookalikes_path` names them). Returns
    counts, and the two files' paths (`truth`, `lookalikes`).

    Raises ValueError, before drawing anything, when the truth would lie inside `out` (a scan of
    the folder would read it), or when `out` holds anything but the files a generation wrote
    there, unchanged since (`DATASET_FILES` as listed with their SHA-256 in the `MARKER` file a
    generation writes last: a leftover `claims.parquet` would be read beside the new claims, and a
    user's own `claims.csv` would be overwritten) unless `force`.

    `registry`: a contract folder of real establishments (`fraudnet convert finess`): the region
    then lies in the three départements with the most pharmacies, its towns are their
    postcodes, and its pharmacies, laboratories and hospitals are the registry's, with their
    legal entities; the rest (practitioners, patients, claims, fraud) is drawn as usual.
    """
    if patients < MIN_PATIENTS:
        raise ValueError(f"--patients must be at least {MIN_PATIENTS} to hold every planted pattern")
    _check_out(Path(out), Path(truth) if truth else None, force)
    rng = np.random.default_rng(seed)
    r = _Region(rng, patients)
    if registry is not None:
        r.registry = _Registry(Path(registry))
        r.depts = tuple(r.registry.departments())
    _towns(r)
    roster = _health_system(r)
    _honest_claims(r, roster)
    _plant(r, roster)
    _programmes(r, roster)
    return _write(r, Path(out), Path(truth) if truth else None)


def _check_out(out: Path, truth: Path | None, force: bool):
    """Refuse a truth inside the dataset folder, and a dataset folder holding other files."""
    if truth is not None and out.resolve() in truth.resolve().parents:
        raise ValueError(f"--truth {truth}: inside the dataset folder {out}, where a scan would read it; "
                         "write it beside the folder (the default) or elsewhere")
    if force or not out.is_dir():
        return
    written = _marked(out)
    others = sorted(p.name for p in out.iterdir() if p.name != MARKER and p.name not in written)
    if others:
        listed = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        tables = [n for n in others if any(n == t + e for t in TABLES for e in EXTENSIONS)]
        own = [n for n in tables if n in DATASET_FILES]          # the user's own, under the generator's names
        extra = [n for n in tables if n not in DATASET_FILES]    # read beside the generated tables
        unread = [n for n in others if n not in tables]
        why = " ".join(([f"{', '.join(own)} would be overwritten."] if own else []) + (
            [f"A scan of it would find {', '.join(extra)} beside the tables written, and refuse the folder (a table "
             "given twice)."] if extra else []) + (
            [f"A scan would not read {', '.join(unread)}, but is this the folder meant?"] if unread else []))
        raise ValueError(f"{out} holds files the generator did not write there ({listed}): {why} A region is "
                         "written into a new or empty folder, or over a region generated before and unchanged "
                         "since; give one, or --force to write the region over and beside them")


def _marked(out: Path) -> set:
    """The names of the files in `out` that the generator wrote and are unchanged since (their
    SHA-256 as its marker lists it); without a marker, those of a region generated before the
    generator wrote one (`_generated_unmarked`); none when the marker cannot be read."""
    try:
        lines = (out / MARKER).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return _generated_unmarked(out)
    except (OSError, UnicodeDecodeError):
        return set()
    listed = dict(line.split("  ", 1)[::-1] for line in lines[1:] if "  " in line)
    return {name for name, digest in listed.items()
            if name in DATASET_FILES and (out / name).is_file() and _sha256(out / name) == digest}


def _generated_unmarked(out: Path) -> set:
    """A region written before the generator marked its folders (2026-12-01): every file of `out`
    one the generator writes, and the providers' names its synthetic labels (`… (synthetic)`, which
    real data never has) — so `make demo` run again over an earlier `demo/` writes it again. Its
    file names, or none."""
    names = {p.name for p in out.iterdir()}
    if not names or not names <= set(DATASET_FILES) or "providers.csv" not in names:
        return set()
    try:
        with open(out / "providers.csv", encoding="utf-8", newline="") as f:
            rows = [r for _, r in zip(range(20), csv.DictReader(f))]
    except (OSError, UnicodeDecodeError, csv.Error):
        return set()
    synthetic = any((r.get("name") or "").endswith(" (synthetic)") for r in rows)
    return names if synthetic else set()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _towns(r: _Region):
    n_towns = int(np.clip(r.n_patients // 2500, 9, 90))
    if r.registry:   # the départements' postcodes with the most pharmacies, in turn
        codes = [r.registry.postcodes(d) for d in r.depts]
        n_towns = min(n_towns, len(r.depts) * min(len(c) for c in codes))
        r.town_dept = np.arange(n_towns) % len(r.depts)
        r.town_postcode = [codes[d][t // len(r.depts)] for t, d in enumerate(r.town_dept)]
    else:
        r.town_dept = np.arange(n_towns) % len(r.depts)
        r.town_postcode = [f"{r.depts[d]}{100 + 10 * t:03d}" for t, d in enumerate(r.town_dept)]
    weights = r.rng.pareto(1.5, n_towns) + 1
    weights /= weights.sum()
    r.patient_town = r.rng.choice(n_towns, r.n_patients, p=weights)
    r.birth_year = r.rng.integers(1930, 2024, r.n_patients)
    r.sex = np.array(["F", "M"])[r.rng.integers(0, 2, r.n_patients)]


def _health_system(r: _Region) -> dict:
    rng, n_towns = r.rng, len(r.town_postcode)
    pop = np.bincount(r.patient_town, minlength=n_towns)
    ro: dict = {k: [] for k in ("gp", "spec", "dentist", "nurse", "physio", "midwife", "pharmacy", "lab")}
    ro["fulltime"], ro["parttime"], ro["hospital_of"] = [], [], {}
    # pharmacies: each a company with a pharmacist officer; labs grouped under a few companies
    accountant = f"12 avenue des Comptables, {r.town_postcode[0]}"
    for t in range(n_towns):
        for _ in range(max(2, pop[t] // 1000)):
            ro["gp"].append(r.provider("physician", "general_practice", t))
        for _ in range(max(2, pop[t] // 700)):
            ro["nurse"].append(r.provider("nurse", None, t))
        for _ in range(max(2, pop[t] // 900)):
            ro["physio"].append(r.provider("physiotherapist", None, t))
        for _ in range(max(1, pop[t] // 1600)):
            ro["dentist"].append(r.provider("dentist", "dental_surgery", t))
        for _ in range(max(1, pop[t] // 2500)):
            real = r.registry.take(r.registry.pharmacies, r.town_postcode[t]) if r.registry else None
            if real:
                eid = r.entity("company", real.get("name"), eid=real.get("legal_entity_id") or None)
                ph = r.provider("pharmacy", None, t, eid, pid=real["provider_id"])
            else:
                eid = r.entity("company", f"SELARL pharmacy {len(ro['pharmacy']) + 1:04d}")
                ph = r.provider("pharmacy", None, t, eid)
            ro["pharmacy"].append(ph)
            r.officers.append((r.next_id("PERS", 6), eid, "manager", "2010-01-01", None))
            r.identifiers.append(("legal_entity", eid, "address", r.address(t)))
            r.identifiers.append(("legal_entity", eid, "bank_account", f"FR76{r.next_id('BK', 9)}"))
            if rng.random() < 0.35:   # honest hub: one accountant's address for many companies
                r.identifiers.append(("legal_entity", eid, "address", accountant))
                r.lookalikes.append(("entity_network", "legal_entity", eid, "shares an accountant's address"))
    owner = r.next_id("PERS", 6)   # honest: one pharmacist owns two pharmacies
    ro["owned"] = ro["pharmacy"][-2:]
    for ph in ro["owned"]:
        eid = r.providers["legal_entity_id"][ph]
        r.officers.append((owner, eid, "shareholder", "2015-01-01", None))
        r.lookalikes.append(("entity_network", "legal_entity", eid, "one owner, two pharmacies"))
    for i in range(12):   # the accountant's other clients: companies outside health care
        eid = r.entity("company", f"SARL client {i + 1:02d} of the accountant")
        r.identifiers.append(("legal_entity", eid, "address", accountant))
    for d, code in enumerate(r.depts):
        towns = np.flatnonzero(r.town_dept == d)
        big = towns[np.argsort(-pop[towns], kind="stable")]
        n_dept = int(pop[towns].sum())
        lab_co = None
        for i in range(max(2, n_dept // 8000)):
            real = r.registry.take(r.registry.labs, code) if r.registry else None
            if real:
                le = r.entity("company", None, eid=real.get("legal_entity_id") or None)
                ro["lab"].append(r.provider("laboratory", None, int(big[i % len(big)]), le, pid=real["provider_id"]))
            else:
                lab_co = lab_co or r.entity("company", f"SELAS lab group {d + 1}")
                ro["lab"].append(r.provider("laboratory", None, int(big[i % len(big)]), lab_co))
        for i in range(max(4, n_dept // 1500)):
            ro["spec"].append(r.provider("physician", SPECIALTIES[i % len(SPECIALTIES)], int(big[i % min(3, len(big))])))
        for i in range(max(1, n_dept // 6000)):
            ro["midwife"].append(r.provider("midwife", None, int(big[i % len(big)])))
        # hospitals: public entity per department, each a hospital in the biggest town
        real = r.registry.take(r.registry.hospitals, code) if r.registry else None
        pub = r.entity("public", real["name"] if real else f"Centre hospitalier {code}", "1990-01-01",
                       eid=(real or {}).get("legal_entity_id") or None)
        hosp = r.centre("hospital", real["name"] if real else f"Hospital {code}", pub, int(big[0]), "1990-01-01",
                        cid=real["centre_id"] if real else None)
        r.identifiers.append(("legal_entity", pub, "address", r.address(int(big[0]))))
        ro.setdefault("hospitals", []).append(hosp)
        for k, s in enumerate(x for x in ro["spec"] if r.providers["postcode"][x][:2] == code):
            if s not in ro["hospital_of"]:
                u = 0.0 if k == 0 else rng.random()   # every hospital has a full-time specialist
                if u < 0.4:
                    ro["fulltime"].append(s)
                    r.affiliations.append((s, hosp, "fulltime_hospital", "2015-01-01", None))
                    ro["hospital_of"][s] = hosp
                elif u < 0.55:
                    ro["parttime"].append(s)
                    r.affiliations.append((s, hosp, "parttime_hospital", "2015-01-01", None))
                    ro["hospital_of"][s] = hosp
        # an honest dental centre per department, its own association
        assoc = r.entity("association", f"Association dental care {code}", "2012-03-01")
        r.officers.append((r.next_id("PERS", 6), assoc, "director", "2012-03-01", None))
        r.identifiers.append(("legal_entity", assoc, "address", r.address(int(big[0]))))
        dc = r.centre("dental_centre", f"Dental centre {code}", assoc, int(big[0]), "2012-06-01")
        for dentist in [x for x in ro["dentist"] if r.providers["postcode"][x][:2] == code][:2]:
            r.affiliations.append((dentist, dc, "salaried", "2012-06-01", None))
            ro.setdefault("centre_of", {})[dentist] = dc
    # honest hospital group: several sites under one legal entity, one shared bank account
    group = r.entity("association", "Groupe hospitalier mutualiste", "1995-01-01")
    bank = f"FR76{r.next_id('BK', 9)}"
    r.identifiers.append(("legal_entity", group, "bank_account", bank))
    for i, t in enumerate(np.argsort(-pop, kind="stable")[:3]):
        site = r.centre("clinic", f"Clinique mutualiste site {i + 1}", group, int(t), "1995-01-01")
        r.identifiers.append(("centre", r.centres["centre_id"][site], "bank_account", bank))
        r.identifiers.append(("centre", r.centres["centre_id"][site], "address", r.address(int(t))))
        r.lookalikes.append(("entity_network", "centre", r.centres["centre_id"][site], "hospital group site"))
    r.lookalikes.append(("entity_network", "legal_entity", group, "hospital group running several sites"))
    # honest group practice with the pharmacy next door (in the most populated town)
    t0 = int(np.argmax(pop))
    hc_entity = r.entity("association", "Maison de santé du centre", "2014-01-01")
    hc = r.centre("health_centre", "Maison de santé du centre", hc_entity, t0, "2014-01-01")
    ro["group_practice"] = [g for g in ro["gp"] if r.providers["postcode"][g] == r.town_postcode[t0]][:5]
    for g in ro["group_practice"]:
        r.affiliations.append((g, hc, "liberal", "2014-01-01", None))
    ro["next_door"] = [p for p in ro["pharmacy"] if r.providers["postcode"][p] == r.town_postcode[t0]][0]
    r.lookalikes.append(("pharmacy_collusion", "provider", r.providers["id"][ro["next_door"]],
                         "pharmacy next to a group practice"))
    for g in ro["group_practice"]:
        r.lookalikes.append(("pharmacy_collusion", "provider", r.providers["id"][g], "group practice GP"))
    _care_teams(r, ro, pop)
    return ro


def _care_teams(r: _Region, ro: dict, pop: np.ndarray):
    """Honest structures that look like fraud to a naive rule (their care is drawn later, in
    `_lookalike_care`): a regional HIV reference service with the pharmacy next to its hospital,
    an oncologist and a palliative team, a neurologist and a neuro-rehabilitation
    physiotherapist, a nursing home, and a mutualist network running dental centres."""
    depts = [np.flatnonzero(r.town_dept == d) for d in range(len(r.depts))]
    big = [int(t[np.argmax(pop[t])]) for t in depts]           # each département's biggest town
    hospital, home_town = ro["hospitals"][0], big[0]
    # the reference service: an infectious-disease specialist, full time at the hospital, whose
    # patients come from the whole region; a pharmacy opens next to the hospital
    ro["id_specialist"] = r.provider("physician", "infectious_diseases", home_town)
    r.affiliations.append((ro["id_specialist"], hospital, "fulltime_hospital", "2012-01-01", None))
    real = r.registry.take(r.registry.pharmacies, r.town_postcode[home_town]) if r.registry else None
    if real:
        eid = r.entity("company", real.get("name"), eid=real.get("legal_entity_id") or None)
        ro["hospital_pharmacy"] = r.provider("pharmacy", None, home_town, eid, pid=real["provider_id"])
    elif r.registry:      # no real pharmacy left in that town: the town's first one is next to the hospital
        ro["hospital_pharmacy"] = _pools(r, ro["pharmacy"], "town")[home_town][0]
        eid = None
    else:
        eid = r.entity("company", "SELARL pharmacie de l'hôpital")
        ro["hospital_pharmacy"] = r.provider("pharmacy", None, home_town, eid)
    ro["hospital_pharmacy_town"] = home_town
    if eid is not None:
        ro["pharmacy"].append(ro["hospital_pharmacy"])
        r.officers.append((r.next_id("PERS", 6), eid, "manager", "2012-01-01", None))
        r.identifiers.append(("legal_entity", eid, "address", r.address(home_town)))
    ro["oncologist"] = r.provider("physician", "oncology", home_town)
    r.affiliations.append((ro["oncologist"], hospital, "parttime_hospital", "2015-01-01", None))
    ro["palliative"] = r.provider("physician", "palliative_care", home_town)
    r.affiliations.append((ro["palliative"], hospital, "fulltime_hospital", "2016-01-01", None))
    for x, why in ((ro["id_specialist"], "regional HIV reference service"),
                   (ro["hospital_pharmacy"], "pharmacy next to the reference hospital")):
        r.lookalikes.append(("pharmacy_collusion", "provider", r.providers["id"][x], why))
    for x in (ro["oncologist"], ro["palliative"]):
        r.lookalikes.append(("doctor_shopping", "provider", r.providers["id"][x], "palliative opioid prescriber"))
    # neuro-rehabilitation: a neurologist and the physiotherapist taking long courses
    rehab_town = big[1 % len(big)]
    ro["neurologist"] = r.provider("physician", "neurology", rehab_town)
    ro["neuro_physio"] = r.provider("physiotherapist", None, rehab_town)
    r.lookalikes.append(("peer_outlier", "provider", r.providers["id"][ro["neuro_physio"]],
                         "neuro-rehabilitation physiotherapist, long courses"))
    # a nursing home in the second most populated town: its residents are cared for by the same
    # few local nurses, one physiotherapist and one GP
    order = np.argsort(-pop, kind="stable")
    t = int(order[1])
    assoc = r.entity("association", "EHPAD les Tilleuls", "2001-01-01")
    r.officers.append((r.next_id("PERS", 6), assoc, "director", "2001-01-01", None))
    ro["nursing_home"] = r.centre("other", "EHPAD les Tilleuls", assoc, t, "2001-01-01")
    ro["nursing_home_town"] = t
    local = lambda pool: [x for x in ro[pool] if r.providers["postcode"][x] == r.town_postcode[t]]
    ro["home_team"] = local("nurse")[:3] + local("physio")[:1] + local("gp")[-1:]
    for x in ro["home_team"]:
        r.affiliations.append((x, ro["nursing_home"], "liberal", "2015-01-01", None))
        for pattern in ("dense_block", "peer_outlier"):
            r.lookalikes.append((pattern, "provider", r.providers["id"][x], "nursing-home care team"))
    # a mutualist network: one legal entity running a dental centre in each of the biggest towns,
    # sharing the entity's address and bank account, billing like any dentist
    mutual = r.entity("association", "Mutualité dentaire régionale", "1998-01-01")
    r.officers.append((r.next_id("PERS", 6), mutual, "director", "1998-01-01", None))
    bank = f"FR76{r.next_id('BK', 9)}"
    r.identifiers.append(("legal_entity", mutual, "bank_account", bank))
    r.identifiers.append(("legal_entity", mutual, "address", r.address(int(order[0]))))
    r.lookalikes.append(("entity_network", "legal_entity", mutual, "mutualist network of dental centres"))
    for i, town in enumerate(order[: min(6, len(order))].tolist()):
        c = r.centre("dental_centre", f"Centre dentaire mutualiste {i + 1}", mutual, town, "2000-01-01")
        r.identifiers.append(("centre", r.centres["centre_id"][c], "bank_account", bank))
        dentist = r.provider("dentist", "dental_surgery", town)
        ro["dentist"].append(dentist)
        r.affiliations.append((dentist, c, "salaried", "2000-01-01", None))
        ro.setdefault("centre_of", {})[dentist] = c
        r.lookalikes.append(("entity_network", "centre", r.centres["centre_id"][c], "mutualist dental centre"))


def _honest_claims(r: _Region, ro: dict):
    rng, n = r.rng, r.n_patients
    town = r.patient_town
    dept = r.town_dept[town]
    age = 2025 - r.birth_year
    chronic = rng.random(n) < np.where(age >= 65, 0.3, 0.08)
    gp_of = _choose(rng, _pools(r, ro["gp"], "town"), town)
    ph_of = _choose(rng, _pools(r, ro["pharmacy"], "town"), town)
    in_group = np.isin(gp_of, ro["group_practice"])
    ph_of[in_group & (rng.random(n) < 0.85)] = ro["next_door"]
    # GP visits, each possibly with a prescription dispensed and lab tests
    visits = rng.poisson(np.where(chronic, 8.0, 3.0))
    p = np.repeat(np.arange(n), visits)
    day = rng.integers(0, DAYS, len(p))
    gp = np.where(rng.random(len(p)) < 0.85, gp_of[p], _choose(rng, _pools(r, ro["gp"], "town"), town[p]))
    home = rng.random(len(p)) < 0.05
    r.add_claims(p, gp, np.where(home, CODE["VG"], CODE["G"]), day)
    # honest same-day second visits: some GPs see a patient again the same day (a worsening
    # child, a result to read), on 0.5 to 3 % of their consultations
    second_rate = np.where(rng.random(len(r.providers["id"])) < 0.5, rng.uniform(0.005, 0.03, len(r.providers["id"])), 0)
    again = np.flatnonzero(~home & (rng.random(len(p)) < second_rate[gp]))
    r.add_claims(p[again], gp[again], CODE["G"], day[again])
    for x in np.unique(gp[again]).tolist():
        r.lookalikes.append(("double_billing", "provider", r.providers["id"][x], "occasional same-day second visit"))
    rx = rng.random(len(p)) < 0.7
    lines = np.where(rx, rng.integers(1, 3, len(p)), 0)
    q = np.repeat(np.arange(len(p)), lines)
    pharm = np.where(rng.random(len(q)) < 0.85, ph_of[p[q]],
                     _choose(rng, _pools(r, ro["pharmacy"], "town"), town[p[q]]))
    drug = COMMON_DRUGS[rng.integers(0, len(COMMON_DRUGS), len(q))]
    watched = rng.random(len(q)) < 0.015   # legitimate watched prescriptions
    drug = np.where(watched, np.array([CODE["3400930000103"], CODE["3400930000073"]])[rng.integers(0, 2, len(q))], drug)
    r.add_claims(p[q], pharm, drug, day[q] + rng.integers(0, 3, len(q)), prescriber=gp[q],
                 qty=rng.integers(1, 4, len(q)))
    lab_v = np.flatnonzero(rng.random(len(p)) < 0.2)
    labs = _choose(rng, _pools(r, ro["lab"], "dept"), dept[p[lab_v]])
    for code in ("B0552", "B1208", "B0323"):
        keep = rng.random(len(lab_v)) < 0.7
        r.add_claims(p[lab_v][keep], labs[keep], CODE[code], day[lab_v][keep] + 1, prescriber=gp[lab_v][keep])
    # glucose curves (oral glucose tolerance tests of pregnancy): three glucose tests the same day,
    # mostly at each département's first laboratory, next to the maternity
    curve = np.flatnonzero((r.sex == "F") & (age >= 18) & (age <= 42) & (rng.random(n) < 0.04))
    maternity = np.array([_pools(r, ro["lab"], "dept")[int(d)][0] for d in dept[curve]], np.int64)
    clab = np.where(rng.random(len(curve)) < 0.7, maternity, _choose(rng, _pools(r, ro["lab"], "dept"), dept[curve]))
    cday = rng.integers(0, DAYS, len(curve))
    for _ in range(3):
        r.add_claims(curve, clab, CODE["B1208"], cday, prescriber=gp_of[curve])
    for x in np.unique(clab).tolist():
        r.lookalikes.append(("double_billing", "provider", r.providers["id"][x], "glucose curves (three tests a day)"))
    # specialists: chronic patients see several (honest look-alike for shopping rules)
    sv = rng.poisson(np.where(chronic, 3.0, 0.6))
    sp = np.repeat(np.arange(n), sv)
    spec = _choose(rng, _pools(r, ro["spec"], "dept"), dept[sp])
    sday = rng.integers(0, DAYS, len(sp))
    n_prov = len(r.providers["id"])
    hospital = _lookup(ro["hospital_of"], n_prov)
    fulltime, parttime = np.zeros(n_prov, bool), np.zeros(n_prov, bool)
    fulltime[ro["fulltime"]], parttime[ro["parttime"]] = True, True
    through = fulltime[spec] | (parttime[spec] & (np.arange(len(sp)) % 2 == 1))   # part-timers: every other visit
    r.add_claims(sp, spec, CODE["CS"], sday, centre=np.where(through, hospital[spec], -1))
    # a prescription after a third of specialist visits; a patient seen at a hospital away from
    # home fills it next to the hospital more often than not (at a pharmacy of the hospital's town)
    srx = np.flatnonzero(rng.random(len(sp)) < 0.35)
    hosp_town = np.array([r.town_postcode.index(r.centres["postcode"][h]) if h >= 0 else -1
                          for h in hospital[spec[srx]].tolist()], np.int64)
    away = through[srx] & (hosp_town >= 0) & (hosp_town != town[sp[srx]])
    near = np.array([_pools(r, ro["pharmacy"], "town").get(int(t), [-1])[0] if t >= 0 else -1
                     for t in hosp_town.tolist()], np.int64)
    near[hosp_town == ro.get("hospital_pharmacy_town", -2)] = ro["hospital_pharmacy"]
    spharm = np.where(away & (near >= 0) & (rng.random(len(srx)) < 0.6), near, ph_of[sp[srx]])
    r.add_claims(sp[srx], spharm, COMMON_DRUGS[rng.integers(0, len(COMMON_DRUGS), len(srx))], sday[srx],
                 prescriber=spec[srx], qty=rng.integers(1, 4, len(srx)))
    # dentists (salaried ones bill through their centre)
    dv = rng.poisson(0.6, n)
    dp = np.repeat(np.arange(n), dv)
    dent = _choose(rng, _pools(r, ro["dentist"], "town"), town[dp])
    dcentre = _lookup(ro.get("centre_of", {}), n_prov)[dent]
    dcode = np.array([CODE["HBBD001"], CODE["HBMD049"], CODE["HBLD036"]])[rng.choice(3, len(dp), p=[.5, .4, .1])]
    r.add_claims(dp, dent, dcode, rng.integers(0, DAYS, len(dp)), centre=dcentre)
    # nursing: injections once a day for weeks (anticoagulants after surgery), and for
    # insulin-dependent patients twice a day for months (honest same-day repeats), half of them
    # followed by their town's diabetes nurse
    nursed = np.flatnonzero(chronic & (rng.random(n) < 0.4))
    nurse = _choose(rng, _pools(r, ro["nurse"], "town"), town[nursed])
    insulin = rng.random(len(nursed)) < 0.3
    r.insulin_nursed = nursed[insulin]
    diabetes_nurse = np.array([_pools(r, ro["nurse"], "town")[int(t)][0] for t in town[nursed]], np.int64)
    nurse = np.where(insulin & (rng.random(len(nursed)) < 0.5), diabetes_nurse, nurse)
    length = np.where(insulin, rng.integers(90, DAYS, len(nursed)), rng.integers(10, 60, len(nursed)))
    start = np.where(insulin, rng.integers(0, DAYS - length + 1), rng.integers(0, DAYS - 60, len(nursed)))
    k, offs = _courses(length)
    r.add_claims(nursed[k], nurse[k], CODE["AMI1"], start[k] + offs, prescriber=gp_of[nursed[k]])
    twice = insulin[k]
    r.add_claims(nursed[k][twice], nurse[k][twice], CODE["AMI1"], (start[k] + offs)[twice],
                 prescriber=gp_of[nursed[k][twice]])
    for x in np.unique(nurse[insulin]).tolist():
        r.lookalikes.append(("double_billing", "provider", r.providers["id"][x], "twice-daily nursing"))
    for x in np.unique(nurse[insulin & (nurse == diabetes_nurse)]).tolist():
        for pattern in ("peer_outlier", "dense_block"):
            r.lookalikes.append((pattern, "provider", r.providers["id"][x], "diabetes nurse: twice-daily insulin"))
    dressed = np.flatnonzero(rng.random(n) < 0.03)   # wound dressings every other day
    dnurse = _choose(rng, _pools(r, ro["nurse"], "town"), town[dressed])
    per = rng.integers(4, 12, len(dressed))
    k = np.repeat(np.arange(len(dressed)), per)
    offs = np.arange(len(k)) - np.repeat(np.cumsum(per) - per, per)
    r.add_claims(dressed[k], dnurse[k], CODE["AMI4"], rng.integers(0, DAYS - 30, len(dressed))[k] + 2 * offs,
                 prescriber=gp_of[dressed[k]])
    # physiotherapy series
    treated = np.flatnonzero(rng.random(n) < 0.08)
    physio = _choose(rng, _pools(r, ro["physio"], "town"), town[treated])
    length = rng.integers(6, 20, len(treated))
    start = rng.integers(0, DAYS - 60, len(treated))
    k = np.repeat(np.arange(len(treated)), length)
    offs = np.arange(len(k)) - np.repeat(np.cumsum(length) - length, length)
    r.add_claims(treated[k], physio[k], CODE["AMK8"], start[k] + 2 * offs, prescriber=gp_of[treated[k]])
    # chronic pain patients: pregabalin monthly from their GP and one specialist, one pharmacy
    pain = np.flatnonzero(chronic & (rng.random(n) < 0.05))
    months = np.arange(12)
    pp = np.repeat(pain, 12)
    who = np.where(np.tile(months, len(pain)) % 2 == 0, gp_of[pp], _choose(rng, _pools(r, ro["spec"], "dept"), dept[pp]))
    r.add_claims(pp, ph_of[pp], CODE["3400930000103"], np.tile(months * 30, len(pain)) + 2, prescriber=who)
    r.lookalikes += [("doctor_shopping", "patient", f"P{x + 1:07d}", "monthly pregabalin, two prescribers")
                     for x in pain[:20].tolist()]
    r.chronic = chronic
    r.gp_of, r.ph_of = gp_of, ph_of
    _lookalike_care(r, ro)


def _courses(length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items with `length` sessions each: the item of every session and its rank (0, 1, …)."""
    k = np.repeat(np.arange(len(length)), length)
    return k, np.arange(len(k)) - np.repeat(np.cumsum(length) - length, length)


def _lookalike_care(r: _Region, ro: dict):
    """The care of the honest structures of `_care_teams`."""
    rng, n = r.rng, r.n_patients
    town, age = r.patient_town, 2025 - r.birth_year
    pid = lambda x: f"P{x + 1:07d}"
    hospital = ro["hospitals"][0]
    # HIV patients from the whole region: monthly triple therapy prescribed by the reference
    # service, a consultation there each quarter; three in four fill next to the hospital
    hiv = rng.choice(np.flatnonzero((age >= 20) & (age <= 70)), max(25, n // 800), replace=False)
    first = rng.integers(0, 3, len(hiv))
    months = 12 - first
    k, offs = _courses(months)
    month = first[k] + offs
    near = rng.random(len(hiv)) < 0.75
    pharmacy = np.where(near, ro["hospital_pharmacy"], r.ph_of[hiv])
    r.add_claims(hiv[k], pharmacy[k], CODE["3400930000127"], month * 30 + rng.integers(0, 4, len(k)),
                 prescriber=ro["id_specialist"])
    quarter = k[offs % 3 == 0]
    r.add_claims(hiv[quarter], ro["id_specialist"], CODE["CS"], (first[quarter] + offs[offs % 3 == 0]) * 30,
                 centre=hospital)
    # palliative patients: oxycodone every week or so for their last months, prescribed in turn
    # by the oncologist, their GP and the palliative team, dispensed at their usual pharmacy
    pal = rng.choice(np.flatnonzero(age >= 50), max(8, n // 2500), replace=False)
    count = rng.integers(8, 16, len(pal))
    k, offs = _courses(count)
    start = rng.integers(0, DAYS - 130, len(pal))
    r.palliative = (pal, start, start + count * 8)
    pday = start[k] + offs * rng.integers(6, 9, len(k))
    who = np.stack([np.full(len(k), ro["oncologist"]), r.gp_of[pal[k]], np.full(len(k), ro["palliative"])])
    presc = who[(offs + rng.integers(0, 3, len(pal))[k]) % 3, np.arange(len(k))]
    r.add_claims(pal[k], presc, CODE["CS"], pday - 1, centre=np.where(presc == r.gp_of[pal[k]], -1, hospital))
    r.add_claims(pal[k], r.ph_of[pal[k]], CODE["3400930000073"], pday, prescriber=presc,
                 qty=rng.integers(1, 3, len(k)))
    r.lookalikes += [("doctor_shopping", "patient", pid(x), "palliative care: opioids from three prescribers")
                     for x in pal.tolist()]
    # neuro-rehabilitation: stroke patients of the neurologist's département, three sessions a
    # week for five to ten months with the neuro physiotherapist, a neurology visit every two months
    rehab = rng.choice(np.flatnonzero((r.town_dept[town] == r.town_dept[r.town_postcode.index(
        r.providers["postcode"][ro["neuro_physio"]])]) & (age >= 45)), int(rng.integers(12, 25)), replace=False)
    weeks = rng.integers(20, 45, len(rehab))
    k, offs = _courses(3 * weeks)
    begin = rng.integers(0, DAYS - 320, len(rehab))
    r.add_claims(rehab[k], ro["neuro_physio"], CODE["AMK9"], begin[k] + 7 * (offs // 3) + 2 * (offs % 3),
                 prescriber=ro["neurologist"])
    k, offs = _courses(weeks // 8 + 1)
    r.add_claims(rehab[k], ro["neurologist"], CODE["CS"], begin[k] + 56 * offs)
    # the nursing home: residents of its town, nursed every day by the team's nurses in turn,
    # physiotherapy twice a week for half of them, a GP visit every two weeks
    t = ro["nursing_home_town"]
    here = np.flatnonzero(town == t)
    residents = rng.choice(here, int(np.clip(len(here) // 40, 20, 80)), replace=False)
    r.residents = residents
    r.birth_year[residents] = rng.integers(1925, 1945, len(residents))
    team = np.array(ro["home_team"])
    kinds = np.array([r.providers["kind"][x] for x in team])
    nurses, physio, gp = team[kinds == "nurse"], team[kinds == "physiotherapist"], team[kinds == "physician"]
    days = np.arange(DAYS)
    rp, rd = np.repeat(residents, DAYS), np.tile(days, len(residents))
    r.add_claims(rp, nurses[(rd + np.repeat(np.arange(len(residents)), DAYS)) % len(nurses)], CODE["AMI1"], rd,
                 prescriber=gp[0] if len(gp) else -1)
    if len(physio):
        half = residents[: len(residents) // 2]
        sessions = np.flatnonzero(np.isin(days % 7, (0, 3)))
        r.add_claims(np.repeat(half, len(sessions)), physio[0], CODE["AMK6"], np.tile(sessions, len(half)),
                     prescriber=gp[0] if len(gp) else -1)
    if len(gp):
        r.add_claims(np.repeat(residents, 26), gp[0], CODE["VG"], np.tile(np.arange(26) * 14, len(residents))
                     + np.repeat(rng.integers(0, 14, len(residents)), 26))


def _plant(r: _Region, ro: dict):
    rng, n = r.rng, r.n_patients
    inst = 3 + r.n_patients // 60000
    by_claims = np.concatenate([c["provider"] for c in r.claims])
    claims_of = np.bincount(by_claims, minlength=len(r.providers["id"]))

    def truth(pattern, g, etype, eid):
        r.truth.append((pattern, f"{pattern}-{g}", etype, eid))

    def busy(pool, k, exclude=(), pattern="", need=True):   # providers with enough activity to plant into
        cand = [x for x in pool if claims_of[x] >= 20 and x not in exclude and x not in looks.get(pattern, ())]
        if not cand and need:
            raise ValueError(f"the region is too small to plant every pattern: use more --patients "
                             f"(got {r.n_patients})")
        return [cand[i] for i in rng.choice(len(cand), min(k, len(cand)), replace=False)] if cand else []

    index = {x: i for i, x in enumerate(r.providers["id"])}
    used = set(ro["group_practice"]) | {ro["next_door"]} | set(ro["owned"]) | set(ro["home_team"]) \
        | {ro[k] for k in ("id_specialist", "hospital_pharmacy", "oncologist", "palliative", "neurologist",
                           "neuro_physio")}

    looks: dict = {}      # a look-alike of a pattern is never planted in that pattern
    for pattern, etype, eid, _ in r.lookalikes:
        if etype == "provider":
            looks.setdefault(pattern, set()).add(index[eid])
    all_claims = {k: np.concatenate([c[k] for c in r.claims]) for k in r.claims[0]}

    # 1. double billing: dentists and a GP re-billing 5 to 40 % of their lines; full-time hospital
    #    doctors billing privately 5 to 30 % of what the hospital billed
    g = 0
    for x in busy(ro["dentist"], inst, used, "double_billing") + busy(ro["gp"], 1, used, "double_billing"):
        used.add(x)
        mine = np.flatnonzero(all_claims["provider"] == x)
        rate = rng.uniform(0.05, 0.4)
        dup = mine[rng.random(len(mine)) < rate][:200]
        if len(dup) < 3:
            dup = mine[:3]
        r.add_claims(all_claims["patient"][dup], x, all_claims["code"][dup], all_claims["day"][dup],
                     centre=all_claims["centre"][dup])
        truth("double_billing", g, "provider", r.providers["id"][x])
        g += 1
    for x in busy(ro["fulltime"], inst, used, "double_billing"):
        used.add(x)
        mine = np.flatnonzero((all_claims["provider"] == x) & (all_claims["centre"] >= 0))
        dup = mine[rng.random(len(mine)) < rng.uniform(0.05, 0.3)][:200]
        if len(dup) < 3:
            dup = mine[:3]
        r.add_claims(all_claims["patient"][dup], x, all_claims["code"][dup], all_claims["day"][dup])
        truth("double_billing", g, "provider", r.providers["id"][x])
        g += 1
    # 2. pharmacy collusion: prescribers and a pharmacy moving watched costly drugs for mules
    costly = [CODE[c] for c in ("3400930000110", "3400930000127", "3400930000073", "3400930000097")]
    for g in range(inst):
        ph = busy(ro["pharmacy"], 1, used, "pharmacy_collusion")[0]
        dept = r.providers["postcode"][ph][:2]
        local_gps = [x for x in ro["gp"] if r.providers["postcode"][x][:2] == dept]
        docs = busy(local_gps, int(rng.integers(1, 4)), used, "pharmacy_collusion")
        used.update(docs + [ph])
        far = np.flatnonzero(np.array(r.depts)[r.town_dept[r.patient_town]] != dept)
        mules = rng.choice(far, int(rng.integers(10, 50)), replace=False)
        r.victims.update(mules.tolist())
        months = int(rng.integers(4, 12))
        mp = np.repeat(mules, months)
        mday = np.tile(np.arange(months) * 30, len(mules)) + rng.integers(0, 5, len(mp))
        doc = np.repeat(np.asarray(docs)[rng.integers(0, len(docs), len(mules))], months)  # each mule has one doctor
        drug = np.asarray(costly)[rng.integers(0, len(costly), len(mules))]
        r.add_claims(mp, doc, CODE["G"], mday)
        r.add_claims(mp, ph, np.repeat(drug, months), mday + 1, prescriber=doc, qty=rng.integers(1, 3, len(mp)))
        truth("pharmacy_collusion", g, "provider", r.providers["id"][ph])
        for d in docs:
            truth("pharmacy_collusion", g, "provider", r.providers["id"][d])
    # 3. doctor shopping: one patient, several prescribers and pharmacies, overlapping opioid
    #    supplies: blatant (5 to 10 prescribers all year), discreet (3 prescribers, 3 pharmacies)
    #    or brief (a few months)
    calm = ~r.chronic
    calm[[int(x[2][1:]) - 1 for x in r.lookalikes if x[1] == "patient"]] = False
    for g in range(inst + 2):
        pt = int(rng.choice(np.flatnonzero(calm)))
        calm[pt] = False
        dept = r.town_dept[r.patient_town[pt]]
        gp_pool, ph_pool = _pools(r, ro["gp"], "dept")[int(dept)], _pools(r, ro["pharmacy"], "dept")[int(dept)]
        style = g % 3
        n_docs = (int(rng.integers(5, 11)), 3, int(rng.integers(3, 6)))[style]
        n_phs = (int(rng.integers(3, 7)), 3, int(rng.integers(2, 4)))[style]
        docs = rng.choice(gp_pool, min(len(gp_pool), n_docs), replace=False)
        phs = rng.choice(ph_pool, min(len(ph_pool), n_phs), replace=False)
        first, span = (0, DAYS - 10) if style < 2 else (int(rng.integers(0, DAYS - 120)), int(rng.integers(60, 120)))
        visits = (int(rng.integers(12, 30)), int(rng.integers(10, 18)), int(rng.integers(6, 10)))[style]
        vday = np.sort(first + rng.integers(0, span, visits))
        doc = docs[np.arange(visits) % len(docs)]
        drug = CODE["3400930000073"] if g % 2 == 0 else CODE["3400930000080"]
        r.add_claims(np.full(visits, pt), doc, CODE["G"], vday)
        r.add_claims(np.full(visits, pt), phs[np.arange(visits) % len(phs)], drug, vday + 1, prescriber=doc,
                     qty=np.full(visits, 2))
        truth("doctor_shopping", g, "patient", f"P{pt + 1:07d}")
    # 4. peer outliers (before the blocks take the busy carers): a provider billing an act three
    #    to five times as often per patient as peers, to many new patients; or a small practice (a
    #    physiotherapist just settled) whose handful of patients all get far more sessions
    for g, (pool, code, lo, hi) in enumerate([(ro["physio"], "AMK8", 40, 70), (ro["physio"], "AMK8", 30, 60),
                                              (ro["nurse"], "AMI4", 30, 50), (ro["gp"], "VG", 6, 14),
                                              (ro["physio"], "AMK8", 40, 70)][:inst]):
        small = g % 3 == 1
        x = r.provider(r.providers["kind"][pool[0]], None, int(rng.integers(0, len(r.town_postcode)))) if small \
            else busy(pool, 1, used, "peer_outlier")[0]
        used.add(x)
        home = r.town_postcode.index(r.providers["postcode"][x])
        known = np.unique(all_claims["patient"][all_claims["provider"] == x])
        count = int(rng.integers(6, 16)) if small else int(rng.integers(15, 80))
        pts = np.setdiff1d(np.flatnonzero(r.patient_town == home), known)[:count]
        per = int(rng.integers(lo, hi))
        r.victims.update(pts.tolist())
        pp = np.repeat(pts, per)
        r.add_claims(pp, x, CODE[code], _spread(rng, len(pts), per, 0, DAYS),
                     prescriber=-1 if code == "VG" else r.gp_of[pp])
        truth("peer_outlier", g, "provider", r.providers["id"][x])
    # 5. dense blocks: providers of several professions and towns billing one borrowed patient
    #    list, each member only part of it (fill), while keeping its honest practice: a small tight
    #    block, a mid-sized half-filled one, a big sparse one, and more in larger regions
    for g in range(inst + 1):
        big = int(rng.integers(10, 16)) if n >= 15000 else int(rng.integers(6, 10))   # small regions: fewer carers
        size, fill = [(3, rng.uniform(0.8, 1.0)), (int(rng.integers(5, 9)), rng.uniform(0.45, 0.6)),
                      (big, rng.uniform(0.3, 0.4))][g % 3]
        nurses = busy(ro["nurse"], max(1, size // 2), used, "dense_block", need=False)
        used.update(nurses)
        physios = busy(ro["physio"], max(1, (size - len(nurses)) // 2), used, "dense_block", need=False)
        used.update(physios)
        labs = busy(ro["lab"], 1, used, "dense_block", need=False) if g % 2 == 0 else []
        used.update(labs)
        gps = busy(ro["gp"], size - len(nurses) - len(physios) - len(labs), used, "dense_block", need=False)
        team = (nurses + physios + labs + gps)[:size]
        if len(team) < 3:
            raise ValueError(f"the region is too small to plant every pattern: use more --patients (got {n})")
        used.update(team)
        borrowed = rng.choice(n, int(rng.integers(40, 150)), replace=False)
        for x in team:
            kind = r.providers["kind"][x]
            code = {"nurse": CODE["AMI4"], "physiotherapist": CODE["AMK8"], "laboratory": CODE["B0552"],
                    "physician": CODE["VG"]}[kind]
            mine = borrowed[rng.random(len(borrowed)) < fill]
            r.victims.update(mine.tolist())
            times = int(rng.integers(1, 3)) if kind in ("laboratory", "physician") else int(rng.integers(3, 8))
            bp = np.repeat(mine, times)
            r.add_claims(bp, x, code, _spread(rng, len(mine), times, 0, DAYS),
                         prescriber=-1 if kind == "physician" else r.gp_of[bp])
            truth("dense_block", g, "provider", r.providers["id"][x])
    # 6. entity networks: associations sharing a director and a bank account, a phoenix, dental
    #    centres billing far more per patient than peers
    for g in range(max(2, inst - 1)):
        t = int(rng.integers(0, len(r.town_postcode)))
        director = r.next_id("PERS", 6)
        bank = f"FR76{r.next_id('BK', 9)}"
        addr = r.address(t)
        chain = []
        for i in range(int(rng.integers(2, 4))):
            e = r.entity("association", f"Association santé dentaire {g}-{i}", "2019-01-01")
            r.officers.append((director, e, "director", "2019-01-01", None))
            r.identifiers.append(("legal_entity", e, "bank_account", bank))
            r.identifiers.append(("legal_entity", e, "address", r.address(t) if i else addr))
            chain.append(e)
        old = chain[0]
        r.entities["dissolved_on"][r.entities["legal_entity_id"].index(old)] = "2025-03-31"
        phoenix = r.entity("association", f"Association santé dentaire {g}-new", "2025-04-20")
        r.officers.append((director, phoenix, "director", "2025-04-20", None))
        r.identifiers.append(("legal_entity", phoenix, "address", addr))
        chain.append(phoenix)
        centres = []
        for i, e in enumerate(chain):
            closed = "2025-03-31" if e == old else None
            opened = "2025-04-25" if e == phoenix else "2019-06-01"
            c = r.centre("dental_centre", f"Centre dentaire {g}-{i}", e, t, opened, closed)
            centres.append((c, opened, closed))
            truth("entity_network", g, "centre", r.centres["centre_id"][c])
        for e in chain:
            truth("entity_network", g, "legal_entity", e)
        truth("entity_network", g, "person", director)
        local = np.flatnonzero(r.patient_town == t)
        for c, opened, closed in centres:
            dentist = r.provider("dentist", "dental_surgery", t)
            r.affiliations.append((dentist, c, "salaried", opened, closed))
            truth("entity_network", g, "provider", r.providers["id"][dentist])
            first = (np.datetime64(opened) - YEAR_START).astype(int)
            last = DAYS - 1 if closed is None else (np.datetime64(closed) - YEAR_START).astype(int)
            pts = rng.choice(local, min(len(local), int(rng.integers(60, 150))), replace=False)
            per = 3    # a crown, a filling and a scaling per patient: usual acts, far more money per patient
            pp = np.repeat(pts, per)
            codes = np.tile([CODE["HBLD036"], CODE["HBMD049"], CODE["HBBD001"]], len(pts))
            r.add_claims(pp, dentist, codes, _spread(rng, len(pts), per, max(first, 0), last), centre=c)


def lookalikes_path(truth: Path) -> Path:
    """Where the look-alikes of a truth file go: `lookalikes.csv` beside `truth.csv`, else
    `<name>.lookalikes.csv` beside `<name>.csv` — so that two truths written to one folder
    (`--truth t1.csv`, `--truth t2.csv`) keep their own look-alikes."""
    return truth.with_name("lookalikes.csv" if truth.name == "truth.csv" else f"{truth.stem}.lookalikes.csv")


def _write(r: _Region, out: Path, truth_path: Path | None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    pid = pa.array(r.providers["id"])
    cid = pa.array(r.centres["centre_id"])
    c = {k: np.concatenate([ch[k] for ch in r.claims]) for k in r.claims[0]}
    order = np.lexsort((c["code"], c["patient"], c["provider"], c["day"]))
    c = {k: v[order] for k, v in c.items()}
    n = len(order)
    patient_ids = pa.array([f"P{i + 1:07d}" for i in range(r.n_patients)])
    dates = pa.array((YEAR_START + c["day"].astype("timedelta64[D]")).astype("datetime64[D]"))
    claims = pa.table({
        "claim_id": pa.array([f"C{i + 1:09d}" for i in range(n)]),
        "patient_id": pc.take(patient_ids, pa.array(c["patient"])),
        "provider_id": pc.take(pid, pa.array(c["provider"])),
        "prescriber_id": pc.take(pid, pa.array(c["prescriber"], mask=c["prescriber"] < 0)),
        "centre_id": pc.take(cid, pa.array(c["centre"], mask=c["centre"] < 0)),
        "service_code": pc.take(pa.array([s[0] for s in SERVICES]), pa.array(c["code"])),
        "service_date": dates,
        "amount": pa.array(np.round(PRICE[c["code"]] * c["qty"], 2)),
        "quantity": pa.array(c["qty"]),
    })
    opts = pacsv.WriteOptions(quoting_style="needed")
    pacsv.write_csv(claims, out / "claims.csv", opts)
    prov = dict(r.providers)
    prov["provider_id"] = prov.pop("id")
    tables = {
        "providers": pa.table({k: prov[k] for k in ("provider_id", "kind", "specialty", "name", "postcode",
                                                    "legal_entity_id")}),
        "centres": pa.table(r.centres),
        "legal_entities": pa.table(r.entities),
        "affiliations": pa.table(dict(zip(("provider_id", "centre_id", "role", "start_date", "end_date"), zip(*[
            (r.providers["id"][p], r.centres["centre_id"][ce], role, s, e) for p, ce, role, s, e in r.affiliations])))),
        "officers": pa.table(dict(zip(("person_id", "legal_entity_id", "role", "start_date", "end_date"),
                                      map(list, zip(*r.officers))))),
        "identifiers": pa.table(dict(zip(("entity_type", "entity_id", "kind", "value"),
                                         map(list, zip(*r.identifiers))))),
        "patients": pa.table({
            "patient_id": patient_ids,
            "birth_year": pa.array(r.birth_year),
            "sex": pa.array(r.sex),
            "postcode": pa.array(np.array(r.town_postcode)[r.patient_town])}),
        "services": pa.table(dict(zip(("service_code", "kind", "label", "price", "watch"),
                                      map(list, zip(*[(s[0], s[1], s[2], s[3], "true" if s[4] else "false")
                                                      for s in SERVICES]))))),
    }
    for name, table in tables.items():
        pacsv.write_csv(table, out / f"{name}.csv", opts)
    (out / MARKER).write_text("written by fraudnet generate; SHA-256 of each file (sha256sum format):\n" +
                              "".join(f"{_sha256(out / name)}  {name}\n" for name in DATASET_FILES), encoding="utf-8")
    truth_path = truth_path or out.parent / "truth.csv"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(pa.table(dict(zip(("pattern", "group_id", "entity_type", "entity_id"),
                                      map(list, zip(*r.truth))))), truth_path, opts)
    # a patient a plant billed (a peer outlier's, a block's, a mule) is no honest look-alike of
    # mega_consumer: its volume of care holds the plant's claims, and an alert on it leads to the
    # plant; it stays one of the other patterns (its opioids or pregabalin are its own)
    victims = {f"P{x + 1:07d}" for x in r.victims}
    honest = [x for x in r.lookalikes if not (x[0] == "mega_consumer" and x[1] == "patient" and x[2] in victims)]
    pacsv.write_csv(pa.table(dict(zip(("pattern", "entity_type", "entity_id", "why"),
                                      map(list, zip(*honest))))), lookalikes_path(truth_path), opts)
    return {"claims": n, "patients": r.n_patients, "providers": len(r.providers["id"]),
            "centres": len(r.centres["centre_id"]), "legal_entities": len(r.entities["legal_entity_id"]),
            "planted": len({t[1] for t in r.truth}), "truth": str(truth_path),
            "lookalikes": str(lookalikes_path(truth_path))}


def _programmes(r: _Region, ro: dict):
    """The control programmes of issue #17, drawn after every other plant (the draws before stay
    as they were): honest chronic treatments read from claims (antihypertensives, insulin, the
    nursing home's residents' drugs), honest cone-beam CTs, and their look-alikes — dialysis and
    chemotherapy patients, palliative home care, multimorbid patients, an oral surgeon, a
    cardiologist; then the plants of `mega_consumer`, `atypical_private_practice` and
    `indicator_outlier`."""
    rng, n = r.rng, r.n_patients
    age = 2025 - r.birth_year
    pid = lambda x: f"P{x + 1:07d}"
    index = {x: i for i, x in enumerate(r.providers["id"])}
    planted = {index[e] for _, _, t, e in r.truth if t == "provider"}
    planted_pts = {int(e[1:]) - 1 for _, _, t, e in r.truth if t == "patient"}
    special = set(ro[k] for k in ("id_specialist", "hospital_pharmacy", "oncologist", "palliative", "neurologist",
                                  "neuro_physio")) | set(ro["home_team"]) | set(ro["group_practice"])
    hospital = ro["hospitals"][0]
    months = np.arange(12)

    def monthly(pts, code, prescriber, first=0):
        """A dispensing a month from `first` at the patient's pharmacy, on the prescriber's order."""
        k = np.repeat(pts, 12 - first)
        day = np.tile(months[first:] * 30, len(pts)) + rng.integers(0, 5, len(k))
        r.add_claims(k, r.ph_of[k], CODE[code], day, prescriber=np.repeat(np.asarray(prescriber), 12 - first)
                     if np.ndim(prescriber) else prescriber)

    # hypertension: a third of patients of 65 or more, a tenth from 45; one drug each, monthly
    # from their GP; 4 % of the 65+ also a central antihypertensive (moxonidine). Never the nursing
    # home's residents, treated by its GP below: two monthly series of one drug would now and then
    # fall on the same day, a same-day repeat no honest pharmacy bills
    htn = np.flatnonzero((age >= 45) & (rng.random(n) < np.where(age >= 65, 0.33, 0.1))
                         & ~np.isin(np.arange(n), r.residents))
    drug = np.array(["C09AA05", "C08CA01", "C07AB07"])[rng.integers(0, 3, len(htn))]
    for code in ("C09AA05", "C08CA01", "C07AB07"):
        pts = htn[drug == code]
        monthly(pts, code, r.gp_of[pts])
    central = htn[(age[htn] >= 65) & (rng.random(len(htn)) < 0.04)]
    monthly(central, "C02AC05", r.gp_of[central])
    # insulin for the patients nursed twice a day, and the nursing home's residents' treatments
    monthly(r.insulin_nursed, "A10AE04", r.gp_of[r.insulin_nursed])
    home_gp = [x for x in ro["home_team"] if r.providers["kind"][x] == "physician"][:1]
    for code in ("C09AA05", "N05BA12", "3400930000011"):
        monthly(r.residents, code, home_gp[0] if home_gp else r.gp_of[r.residents])
    # cone-beam CTs: each dentist for 0.5 to 2.5 % of its patients; an oral surgeon (a look-alike,
    # not a dental surgeon) for a third of its patients, sent by the dentists around
    c = {k: np.concatenate([ch[k] for ch in r.claims]) for k in ("patient", "provider", "code", "day")}
    for d in ro["dentist"]:
        mine = np.unique(c["patient"][c["provider"] == d])
        pts = mine[rng.random(len(mine)) < rng.uniform(0.005, 0.025)]
        r.add_claims(pts, d, CODE["LAQK027"], rng.integers(0, DAYS, len(pts)))
    t0 = r.town_postcode.index(r.providers["postcode"][ro["hospital_pharmacy"]])
    surgeon = r.provider("dentist", "oral_surgery", t0)
    pts = rng.choice(n, max(60, n // 150), replace=False)
    r.add_claims(pts, surgeon, CODE["HBLD036"], rng.integers(0, DAYS, len(pts)))
    cb = pts[rng.random(len(pts)) < 0.35]
    r.add_claims(cb, surgeon, CODE["LAQK027"], rng.integers(0, DAYS, len(cb)))
    r.lookalikes.append(("indicator_outlier", "provider", r.providers["id"][surgeon],
                         "oral surgeon planning implants with cone-beam CTs (not a dental surgeon)"))
    r.lookalikes.append(("indicator_outlier", "provider", r.providers["id"][ro["neuro_physio"]],
                         "neuro-rehabilitation physiotherapist: long courses, billed as neurological sessions"))
    # a cardiologist treating resistant hypertension: central antihypertensives for a fifth of
    # its hypertensive patients of 65 or more (a physician, not a GP: not among the GPs' peers)
    cardio = r.provider("physician", "cardiology", t0)
    old = htn[age[htn] >= 65]
    theirs = rng.choice(old, min(len(old), 60), replace=False)
    monthly(theirs[: len(theirs) // 5], "C02AC05", cardio)
    monthly(theirs[len(theirs) // 5:], "C09AA05", cardio)
    r.lookalikes.append(("indicator_outlier", "provider", r.providers["id"][cardio],
                         "cardiologist treating resistant hypertension with central antihypertensives"))
    # mega-consumers' look-alikes: dialysis three times a week, chemotherapy every three weeks,
    # palliative home care (a dependent-care session every day until death, a GP home visit a
    # week), multimorbid patients (five chronic treatments, a GP visit a fortnight)
    nephro = r.provider("physician", "nephrology", t0)
    r.affiliations.append((nephro, hospital, "fulltime_hospital", "2010-01-01", None))
    free = np.flatnonzero((age >= 30) & ~r.chronic)
    free = free[~np.isin(free, list(planted_pts))]
    dial = rng.choice(free, max(6, n // 2000), replace=False)
    sessions = np.flatnonzero(np.isin(np.arange(DAYS) % 7, (0, 2, 4)))
    r.add_claims(np.repeat(dial, len(sessions)), nephro, CODE["HD001"], np.tile(sessions, len(dial)), centre=hospital)
    chemo_pts = rng.choice(np.setdiff1d(free, dial), max(6, n // 2000), replace=False)
    start = rng.integers(0, 120, len(chemo_pts))
    k, offs = _courses(np.full(len(chemo_pts), 8))
    r.add_claims(chemo_pts[k], ro["oncologist"], CODE["CHIMIO1"], start[k] + 21 * offs, centre=hospital)
    pal, first, last = r.palliative
    for x, a, b in zip(pal.tolist(), first.tolist(), last.tolist()):
        nurse = _pools(r, ro["nurse"], "town")[int(r.patient_town[x])][0]
        days = np.arange(a, min(b, DAYS))
        r.add_claims(np.full(len(days), x), nurse, CODE["AIS3"], days, prescriber=r.gp_of[x])
        r.add_claims(np.full(len(days[::7]), x), r.gp_of[x], CODE["VG"], days[::7])
    # (not patients already given one of their drugs monthly: hypertensive, insulin-nursed, residents)
    multi = rng.choice(np.setdiff1d(np.flatnonzero(age >= 60), np.concatenate(
        [dial, chemo_pts, pal, htn, r.insulin_nursed, r.residents])), max(10, n // 1000), replace=False)
    for code in ("C09AA05", "C07AB07", "A10AE04", "N05BA12", "3400930000035"):
        monthly(multi, code, r.gp_of[multi])
    visits = np.arange(0, DAYS, 14)
    r.add_claims(np.repeat(multi, len(visits)), r.gp_of[np.repeat(multi, len(visits))], CODE["G"],
                 np.tile(visits, len(multi)) + 1)
    for group, why in ((dial, "dialysis_patient: haemodialysis three times a week in hospital"),
                       (chemo_pts, "chemotherapy_patient: chemotherapy every three weeks"),
                       (pal, "palliative_home_care: a nursing session every day and a GP visit a week until death"),
                       (r.insulin_nursed, "insulin_elderly_twice_daily: insulin injections twice a day"),
                       (multi, "multimorbid_patient: five chronic treatments, a GP visit a fortnight")):
        r.lookalikes += [("mega_consumer", "patient", pid(x), why) for x in group.tolist()]
    inst = 3 + n // 60000
    fulltime = [x for x in ro["fulltime"] if x not in planted and x not in special]
    own = {x: np.flatnonzero((c["provider"] == x)) for x in fulltime}
    # atypical private practice: the busiest free full-timers (new specialists at the first
    # hospital when fewer than two are free) billing privately 0.5 to 1.5 times their hospital
    # acts to patients of their département, on working days
    busiest = sorted((x for x in fulltime if len(own[x]) >= 30), key=lambda x: (-len(own[x]), x))
    chosen = busiest[:min(inst - 1, len(busiest) // 2)]
    while len(chosen) < 2:
        x = r.provider("physician", SPECIALTIES[len(chosen)], t0)
        r.affiliations.append((x, hospital, "fulltime_hospital", "2015-01-01", None))
        r.add_claims(rng.choice(n, 300), x, CODE["CS"], rng.integers(0, DAYS, 300), centre=hospital)
        own[x] = np.arange(300)
        chosen.append(x)
    for g, x in enumerate(chosen):
        dept = r.providers["postcode"][x][:2]
        local = np.flatnonzero(np.array(r.depts)[r.town_dept[r.patient_town]] == dept)
        count = int(len(own[x]) * rng.uniform(0.5, 1.5))
        pts = rng.choice(local, count)
        day = rng.integers(0, 52, count) * 7 + rng.integers(0, 5, count)
        r.add_claims(pts, x, CODE["CS"], day)
        r.truth.append(("atypical_private_practice", f"atypical_private_practice-{g}", "provider", r.providers["id"][x]))
    # the other full-timers: a small private activity for every other one (look-alikes); and the
    # part-timers' large one (every other visit, drawn in `_honest_claims`)
    for x in [x for x in fulltime if x not in chosen][::2]:
        m = own[x]
        pts = c["patient"][m][rng.random(len(m)) < 0.05]
        r.add_claims(pts, x, CODE["CS"], rng.integers(0, DAYS, len(pts)))
        r.lookalikes.append(("atypical_private_practice", "provider", r.providers["id"][x],
                             "full-time hospital practitioner with a small private activity (5 % of its acts)"))
    for x in ro["parttime"]:
        if x not in special:
            r.lookalikes.append(("atypical_private_practice", "provider", r.providers["id"][x],
                                 "part-time hospital practitioner with a large private practice"))
    # mega-consumers: a patient of 22 to 64 without chronic treatment, billed by one or two
    # providers of their town: injections every day, GP visits, physiotherapy, or dependent-care
    # sessions with GP visits
    taken = set(planted) | special
    calm = np.flatnonzero((age >= 22) & (age <= 64) & ~r.chronic)
    calm = np.setdiff1d(calm, np.concatenate([list(planted_pts) or [-1], dial, chemo_pts, pal, multi, htn,
                                              r.residents]))
    mega = set()
    for g in range(inst + 1):
        x = int(rng.choice(calm))
        calm = calm[calm != x]
        home = int(r.patient_town[x])
        # a free provider of the patient's town, else of the region, else (small regions) one
        # planted in another pattern, never a look-alike
        near = lambda pool: [p for p in _pools(r, ro[pool], "town").get(home, ro[pool]) if p not in taken] \
            or [p for p in ro[pool] if p not in taken] or [p for p in ro[pool] if p not in special | mega]
        variant, members = g % 4, [("patient", pid(x))]
        if variant in (0, 3):
            nurse = near("nurse")[0]
            days = np.sort(rng.choice(DAYS, int(rng.integers(150, 365)), replace=False))
            r.add_claims(np.full(len(days), x), nurse, CODE["AMI1" if variant == 0 else "AIS3"], days,
                         prescriber=r.gp_of[x])
            members.append(("provider", r.providers["id"][nurse]))
            taken.add(nurse)
            mega.add(nurse)
        if variant in (1, 3):
            gp = near("gp")[0]
            v = int(rng.integers(80, 140)) if variant == 1 else int(rng.integers(30, 60))
            days = np.sort(rng.choice(DAYS, v, replace=False))
            r.add_claims(np.full(v, x), gp, np.where(rng.random(v) < 0.5, CODE["G"], CODE["VG"]), days)
            members.append(("provider", r.providers["id"][gp]))
            taken.add(gp)
            mega.add(gp)
        if variant == 2:
            physio = near("physio")[0]
            days = np.sort(rng.choice(DAYS, int(rng.integers(100, 250)), replace=False))
            r.add_claims(np.full(len(days), x), physio, CODE["AMK8"], days, prescriber=r.gp_of[x])
            members.append(("provider", r.providers["id"][physio]))
            taken.add(physio)
            mega.add(physio)
        r.truth += [("mega_consumer", f"mega_consumer-{g}", t, e) for t, e in members]
    # indicator outliers, one per campaign of `campaigns/`: a GP giving central antihypertensives to
    # 30 to 60 % of its hypertensive patients of 65 or more; a dental surgeon billing cone-beam CTs
    # to 10 to 40 % of its patients; a physiotherapist's courses of 30 to 50 sessions
    old_by_gp = np.bincount(r.gp_of[old], minlength=len(r.providers["id"]))
    # (the GPs with the most such patients, the group practice's included: in small regions the
    # others have too few to tell)
    gp = int(max((p for p in ro["gp"] if p not in taken - set(ro["group_practice"])), key=lambda p: (old_by_gp[p], -p)))
    theirs = old[(r.gp_of[old] == gp) & ~np.isin(old, central) & ~np.isin(old, theirs)]
    share = rng.uniform(0.3, 0.6)
    monthly(theirs[: int(round(share * len(theirs)))], "C02AC05", gp, first=6)
    dentist = max((d for d in ro["dentist"] if d not in taken and d not in ro.get("centre_of", {})),
                  key=lambda d: ((c["provider"] == d).sum(), -d))
    mine = np.unique(c["patient"][c["provider"] == dentist])
    pts = mine[rng.random(len(mine)) < rng.uniform(0.1, 0.4)]
    r.add_claims(pts, dentist, CODE["LAQK027"], rng.integers(0, DAYS, len(pts)))
    physio = [p for p in ro["physio"] if p not in taken and (c["provider"] == p).sum() >= 20][0]
    home = r.town_postcode.index(r.providers["postcode"][physio])
    pts = rng.choice(np.flatnonzero(r.patient_town == home), int(rng.integers(15, 30)), replace=False)
    length = rng.integers(30, 51, len(pts))
    k, offs = _courses(length)
    r.add_claims(pts[k], physio, CODE["AMK8"], rng.integers(0, DAYS - 90, len(pts))[k] + 2 * offs,
                 prescriber=r.gp_of[pts[k]])
    for g, x in enumerate((gp, dentist, physio)):
        r.truth.append(("indicator_outlier", f"indicator_outlier-{g}", "provider", r.providers["id"][x]))
