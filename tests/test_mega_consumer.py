"""mega_consumer on hand-built claims: the patients it finds (daily nursing nobody else gives,
80 GP visits a year) with the providers who bill the bulk, and the honest heavy care it leaves
alone (insulin-dependent elderly nursed twice a day, dialysis, palliative home care, patients with
many chronic conditions)."""
import json

import numpy as np

from graph.mega_consumer import detect_mega_consumers
from graph.stats import family_bh
from graph.model import build_graph
from graph.settings import MegaConsumerSettings
from graph.shared import build_shared
from graph.stats import benjamini_hochberg

from .builders import Region

KEY = b"test-key"


def patient(r, pid, birth_year, sex="F"):
    r.add("patients", patient_id=pid, birth_year=birth_year, sex=sex, postcode="69001")


def region():
    r = Region()
    for code, kind, label in (("G", "act", "GP consultation"), ("VG", "act", "GP home visit"),
                              ("AMI1", "act", "nursing: injection"), ("AIS3", "act", "nursing care, dependent"),
                              ("HD", "act", "haemodialysis session"), ("C09AA05", "drug", "ramipril"),
                              ("A10AE04", "drug", "insulin glargine"), ("N02AA05", "drug", "oxycodone"),
                              ("C10AA05", "drug", "atorvastatin"), ("N05BA12", "drug", "alprazolam"),
                              ("B01AC06", "drug", "aspirin")):
        r.service(code, kind, label)
    for x, kind, sp in (("GP1", "physician", "general_practice"), ("GP2", "physician", "general_practice"),
                        ("GPX", "physician", "general_practice"), ("N1", "nurse", None), ("N2", "nurse", None),
                        ("NX", "nurse", None), ("NEPH", "physician", "nephrology"), ("PH", "pharmacy", None)):
        r.provider(x, kind, sp)
    r.add("centres", centre_id="H", kind="hospital", name="hospital")
    # 240 ordinary adults: 2 to 5 GP visits, a fifth nursed 10 to 25 days after an operation
    for p in range(240):
        pid = f"A{p}"
        patient(r, pid, 1975 + p % 20, "FM"[p % 2])
        for k in range(2 + p % 4):
            r.claim(pid, f"GP{1 + p % 2}", "G", 20 + 40 * k, 26.5)
        if p % 5 == 0:
            for k in range(10 + p % 16):
                r.claim(pid, f"N{1 + p % 2}", "AMI1", 100 + k, 3.15, prescriber="GP1")
    # the mega-consumers: a patient nursed every day for 200 days by one nurse nobody else sees
    # them with; a patient seen 80 times a year by one GP
    patient(r, "MEGA1", 1980, "M")
    for k in range(200):
        r.claim("MEGA1", "NX", "AMI1", k, 3.15, prescriber="GP1")
    patient(r, "MEGA2", 1985, "F")
    for k in range(80):
        r.claim("MEGA2", "GPX", "G", 4 * k, 26.5)
    # insulin-dependent elderly nursed twice a day all year, insulin every month
    for p in range(40):
        pid = f"INS{p}"
        patient(r, pid, 1938 + p % 8, "FM"[p % 2])
        for d in range(300):
            r.claim(pid, "N1", "AMI1", d, 3.15, prescriber="GP1")
            r.claim(pid, "N1", "AMI1", d, 3.15, prescriber="GP1")
        for m in range(12):
            r.claim(pid, "PH", "A10AE04", 30 * m, 48.0, prescriber="GP1")
        for k in range(4):
            r.claim(pid, "GP1", "VG", 90 * k + 3, 35.0)
    # dialysis three times a week in hospital
    for p in range(35):
        pid = f"DIA{p}"
        patient(r, pid, 1960 + p % 15, "FM"[p % 2])
        for w in range(52):
            for d in (0, 2, 4):
                r.claim(pid, "NEPH", "HD", 7 * w + d, 290.0, centre="H")
    # palliative home care: a nursing session every day, weekly GP home visits, weekly opioids
    for p in range(12):
        pid = f"PAL{p}"
        patient(r, pid, 1950 + p, "FM"[p % 2])
        for d in range(120):
            r.claim(pid, "N2", "AIS3", 200 + d, 7.95, prescriber="GP2")
        for w in range(17):
            r.claim(pid, "GP2", "VG", 200 + 7 * w, 35.0)
            r.claim(pid, "PH", "N02AA05", 201 + 7 * w, 48.0, prescriber="GP2")
    # patients with five chronic treatments seen by their GP every fortnight
    for p in range(15):
        pid = f"MUL{p}"
        patient(r, pid, 1945 + p, "FM"[p % 2])
        for m in range(12):
            for code in ("C09AA05", "A10AE04", "C10AA05", "N05BA12", "B01AC06"):
                r.claim(pid, "PH", code, 30 * m + 1, 5.0, prescriber="GP1")
        for k in range(26):
            r.claim(pid, "GP1", "G", 14 * k + 2, 26.5)
    return r.tables()


def run(t, **settings):
    return detect_mega_consumers(t, build_shared(t, build_graph(t)), MegaConsumerSettings(**settings), KEY)


def test_finds_the_mega_consumers_with_the_providers_who_bill_them():
    f = run(region())
    ents = f.entities.to_pylist()
    accused = sorted(e["entity_id"] for e in ents if e["entity_type"] == "patient")
    assert accused == ["MEGA1", "MEGA2"]
    by_alert = {}
    for e in ents:
        by_alert.setdefault(e["alert_id"], {})[(e["entity_type"], e["entity_id"])] = e
    billers = {next(k[1] for k in v if k[0] == "patient"): sorted(k[1] for k in v if k[0] == "provider")
               for v in by_alert.values()}
    assert billers == {"MEGA1": ["NX"], "MEGA2": ["GPX"]}
    for a in f.alerts.to_pylist():
        assert a["pattern"] == "mega_consumer" and abs(a["score"] - a["excess_euros"]) < 0.01 and a["score"] > 0
        assert "MEGA" not in a["alert_id"] and "MEGA" not in a["summary"]      # no patient id in ids or summaries
        ev = json.loads(a["evidence"])
        assert ev["providers"][0]["share"] > 0.99
        assert ev["care"][0]["days"] > 4 * ev["care"][0]["mean"]
    mega1 = next(v for v in by_alert.values() if ("patient", "MEGA1") in v)
    assert mega1[("patient", "MEGA1")]["standing"] == "accused"
    assert mega1[("provider", "NX")]["standing"] in ("accused", "participant")
    assert mega1[("provider", "NX")]["excess_euros"] > 400


def test_leaves_honest_heavy_care_alone():
    named = {e["entity_id"] for e in run(region()).entities.to_pylist() if e["entity_type"] == "patient"}
    for prefix in ("INS", "DIA", "PAL", "MUL", "A"):
        assert not [p for p in named if p.startswith(prefix) and not p.startswith("MEGA")], prefix


def test_same_facts_same_alerts_and_stricter_fdr_keeps_fewer():
    t = region()
    a, b = run(t), run(t)
    assert a.alerts.equals(b.alerts) and a.entities.equals(b.entities)
    assert run(t, fdr=1e-300).alerts.num_rows <= a.alerts.num_rows


def test_without_a_yardstick_nothing_is_judged():
    r = Region()
    r.provider("NX", "nurse")
    for k in range(200):             # one patient alone: no patients alike to compare with
        r.claim("ALONE", "NX", "AMI1", k, 3.15)
    assert run(r.tables()).alerts.num_rows == 0


def insulin_among_other_conditions():
    """80 patients of 80 or more with one chronic treatment (ramipril) nursed 10 to 25 days, and
    12 of the same age on insulin alone nursed every day: the same number of conditions, not the
    same ones; and a ramipril patient nursed on 200 days by one nurse."""
    r = Region()
    for code, kind, label in (("AMI1", "act", "nursing: injection"), ("C09AA05", "drug", "ramipril"),
                              ("A10AE04", "drug", "insulin glargine")):
        r.service(code, kind, label)
    for x, kind in (("GP1", "physician"), ("N1", "nurse"), ("N2", "nurse"), ("NX", "nurse"), ("PH", "pharmacy")):
        r.provider(x, kind, "general_practice" if kind == "physician" else None)
    for p in range(92):
        pid = f"R{p}" if p < 80 else f"INS{p}"
        patient(r, pid, 1935 + p % 8, "FM"[p % 2])
        for m in range(12):
            r.claim(pid, "PH", "C09AA05" if p < 80 else "A10AE04", 30 * m, 20.0, prescriber="GP1")
        for d in range(10 + p % 16 if p < 80 else 330):
            r.claim(pid, f"N{1 + p % 2}", "AMI1", d, 3.15, prescriber="GP1")
    patient(r, "MEGA", 1936, "F")
    for m in range(12):
        r.claim("MEGA", "PH", "C09AA05", 30 * m, 20.0, prescriber="GP1")
    for d in range(200):
        r.claim("MEGA", "NX", "AMI1", d, 3.15, prescriber="GP1")
    return r.tables()


def test_a_care_is_judged_against_patients_with_the_same_conditions():
    # insulin patients nursed daily are a minority of the nursed patients with one condition: among
    # them (by number of conditions) they would be extreme; among patients on insulin they are not
    f = run(insulin_among_other_conditions())
    named = sorted(e["entity_id"] for e in f.entities.to_pylist() if e["entity_type"] == "patient")
    assert named == ["MEGA"]
    ev = json.loads(f.alerts["evidence"][0].as_py())
    assert ev["care"][0]["stratum"] == "age band, sex, same conditions"


def test_same_conditions_need_enough_patients():
    # with three insulin patients, too few for a yardstick of their own, they are judged by their
    # number of conditions (and, nursed 330 days against 10 to 25, found)
    t = insulin_among_other_conditions()
    keep = [not (p.startswith("INS") and int(p[3:]) >= 83) for p in t["claims"]["patient_id"].to_pylist()]
    t = {**t, "claims": t["claims"].filter(keep)}
    named = {e["entity_id"] for e in run(t).entities.to_pylist() if e["entity_type"] == "patient"}
    assert {"MEGA", "INS80", "INS81", "INS82"} <= named


def nursing_home():
    """20 residents of 85 nursed every day by a rota of eight nurses (none of them on 52 days),
    their GP's home visit every fortnight; 60 patients of 85 at home, with 2 to 4 home visits;
    and a patient of 85 visited at home on 60 days by a GP nobody else sees them with."""
    r = Region()
    for code, kind, label in (("VG", "act", "GP home visit"), ("AMI1", "act", "nursing: injection")):
        r.service(code, kind, label)
    for x, kind in (("GP1", "physician"), ("GP2", "physician"), ("GPX", "physician"),
                    *((f"N{k}", "nurse") for k in range(8))):
        r.provider(x, kind, "general_practice" if kind == "physician" else None)
    for p in range(20):
        patient(r, f"RES{p}", 1941, "FM"[p % 2])
        for d in range(365):
            r.claim(f"RES{p}", f"N{(d + p) % 8}", "AMI1", d, 3.15, prescriber="GP1")
        for k in range(26):
            r.claim(f"RES{p}", "GP1", "VG", 14 * k + p % 14, 35.0)
    for p in range(60):
        patient(r, f"HOME{p}", 1941, "FM"[p % 2])
        for k in range(2 + p % 3):
            r.claim(f"HOME{p}", "GP2", "VG", 90 * k + p, 35.0)
    patient(r, "MEGA", 1941, "M")
    for k in range(60):
        r.claim("MEGA", "GPX", "VG", 6 * k, 35.0)
    return r.tables()


def test_a_rota_of_carers_corroborates_the_needs():
    # the residents' nurses, together, see them every day: their fortnightly GP visits are
    # compared with those of patients nursed like that, not with the 2 to 4 visits of patients at
    # home — where they widened the spread so much that the patient nobody else sees was missed
    # while no single nurse counted as a carer
    named = {e["entity_id"] for e in run(nursing_home()).entities.to_pylist() if e["entity_type"] == "patient"}
    assert named == {"MEGA"}


def palliative_among_other_treatments():
    """12 palliative patients of 75 on weekly oxycodone for half a year, each also on one of six
    other chronic treatments (two patients a set: too few for a same-conditions yardstick), nursed
    every day by one nurse, a GP home visit a week; 100 insulin patients of 75 with a statin,
    nursed every day by another nurse, 2 or 3 home visits a year; and a statin patient of 45
    visited at home on 60 days by a GP nobody else sees them with."""
    r = Region()
    others = ("C09AA05", "C10AA05", "N05BA12", "B01AC06", "C07AB07", "A02BC01")
    for code, kind, label in (("VG", "act", "GP home visit"), ("AMI1", "act", "nursing: injection"),
                              ("AIS3", "act", "nursing care, dependent"), ("N02AA05", "drug", "oxycodone"),
                              ("A10AE04", "drug", "insulin glargine"), *((c, "drug", c) for c in others)):
        r.service(code, kind, label)
    for x, kind in (("GP1", "physician"), ("GP2", "physician"), ("GPX", "physician"), ("N1", "nurse"),
                    ("N2", "nurse"), ("PH", "pharmacy")):
        r.provider(x, kind, "general_practice" if kind == "physician" else None)
    for p in range(12):
        pid = f"PAL{p}"
        patient(r, pid, 1950, "FM"[p % 2])
        for d in range(182):
            r.claim(pid, "N2", "AIS3", 180 + d, 7.95, prescriber="GP2")
        for w in range(26):
            r.claim(pid, "GP2", "VG", 180 + 7 * w, 35.0)
            r.claim(pid, "PH", "N02AA05", 181 + 7 * w, 48.0, prescriber="GP2")
        for m in range(12):
            r.claim(pid, "PH", others[p % 6], 30 * m + 2, 10.0, prescriber="GP2")
    for p in range(100):
        pid = f"INS{p}"
        patient(r, pid, 1950, "FM"[p % 2])
        for d in range(300):
            r.claim(pid, "N1", "AMI1", d, 3.15, prescriber="GP1")
        for m in range(12):
            r.claim(pid, "PH", "A10AE04", 30 * m, 48.0, prescriber="GP1")
            r.claim(pid, "PH", "C10AA05", 30 * m + 1, 10.0, prescriber="GP1")
        for k in range(2 + p % 2):
            r.claim(pid, "GP1", "VG", 120 * k + 3, 35.0)
    for p in range(45):
        pid = f"STA{p}"
        patient(r, pid, 1980, "FM"[p % 2])
        for m in range(12):
            r.claim(pid, "PH", "C10AA05", 30 * m + 1, 10.0, prescriber="GP1")
        for k in range(1 + p % 3):
            r.claim(pid, "GP1", "VG", 90 * k + p, 35.0)
    patient(r, "MEGA", 1980, "M")
    for m in range(12):
        r.claim("MEGA", "PH", "C10AA05", 30 * m + 1, 10.0, prescriber="GP1")
    for k in range(60):
        r.claim("MEGA", "GPX", "VG", 6 * k, 35.0)
    return r.tables()


def test_one_shared_condition_can_explain_a_care():
    # the palliative patients' weekly GP visits are those of every patient on a strong opioid;
    # judged by their number of conditions (two, as the insulin patients nursed at home, 2 or 3
    # visits a year) they were extreme. The statin patient's 60 visits are not explained by the statin.
    f = run(palliative_among_other_treatments())
    named = {e["entity_id"] for e in f.entities.to_pylist() if e["entity_type"] == "patient"}
    assert named == {"MEGA"}


def test_the_discoveries_are_patients_not_their_cares():
    # one patient's single care at p = 5e-5 among 99 patients with 50 unremarkable cares each:
    # over the 4,951 cares Benjamini-Hochberg at 1 % asks p <= 2e-6; over the 100 patients (a
    # patient's Simes p-value), p <= 1e-4 for the first
    log_p = np.log(np.r_[5e-5, np.full(99 * 50, 0.5)])
    family = np.r_[0, np.repeat(np.arange(1, 100), 50)]
    assert not benjamini_hochberg(log_p, 0.01).any()
    assert family_bh(log_p, family, 0.01).tolist() == [True] + [False] * (99 * 50)
    # within a chosen patient, its cares are judged at q·R/M: a second care at p = 0.3 is not listed
    log_p = np.log(np.r_[1e-8, 0.3, np.full(99 * 50, 0.5)])
    family = np.r_[0, 0, np.repeat(np.arange(1, 100), 50)]
    assert family_bh(log_p, family, 0.01)[:2].tolist() == [True, False]


def test_cares_judged_in_batches_give_the_same_alerts(monkeypatch):
    # every stratum lies within one care: batches of whole cares (one care each, or all at once)
    # give each unit the same yardstick, figures and alerts, evidence included
    import graph.mega_consumer as mc
    for t in (region(), palliative_among_other_treatments()):
        monkeypatch.setattr(mc, "BATCH_ROWS", 10 ** 9)
        whole = run(t)
        monkeypatch.setattr(mc, "BATCH_ROWS", 1)
        one_by_one = run(t)
        assert whole.alerts.num_rows > 0
        assert whole.alerts.equals(one_by_one.alerts) and whole.entities.equals(one_by_one.entities)
    kind = np.array([3, 3, 3, 5, 7, 7, 9])
    by = np.arange(7)
    monkeypatch.setattr(mc, "BATCH_ROWS", 2)
    assert [b.tolist() for b in mc._batches(kind, by)] == [[0, 1, 2], [3, 4, 5], [6]]
