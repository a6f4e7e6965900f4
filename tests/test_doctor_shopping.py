"""doctor_shopping on hand-built dispensings: the shoppers it finds, blatant, discreet, brief and
weak (its own GP and two doctors seen only to prescribe, 7 dispensings), and the honest patients
it leaves alone (palliative care from three prescribers at one pharmacy, a care team, an
oncologist prescribing beside the doctors who follow the patient, monthly renewals, many doctors
for an unwatched drug, several doctors without overlap)."""
import json

from graph.doctor_shopping import detect_doctor_shopping
from graph.findings import opaque_id
from graph.settings import DoctorShoppingSettings

from .builders import Region

KEY = b"a fixed test key"


def region(team_visits=True, gp_follows=True):
    r = Region()
    r.service("OXY", "drug", "oxycodone 20 mg", watch=True)
    r.service("PREG", "drug", "pregabalin", watch=True)
    r.service("STATIN", "drug", "atorvastatin")
    for i in range(10):
        r.provider(f"GP{i}", "physician", "general_practice")
    for i in range(5):
        r.provider(f"PH{i}", "pharmacy")
    # honest background: 200 patients renewing oxycodone monthly with their GP at their pharmacy;
    # one in ten changes pharmacy and GP once in the year (a locum, a holiday)
    for p in range(200):
        for k in range(10):
            moved = p % 10 == 0 and k == 5
            r.claim(f"H{p}", f"PH{(p + moved) % 5}", "OXY", 30 * k + (p % 7) - 3 * moved, 48.0,
                    prescriber=f"GP{(p + moved) % 10}")
    # the blatant shopper: oxycodone every 10 days from 6 prescribers at 3 pharmacies (28-day boxes)
    for k in range(12):
        r.claim("SHOP", f"PH{k % 3}", "OXY", 10 * k, 48.0, prescriber=f"GP{k % 6}")
    # the discreet shopper: 3 prescribers, 3 pharmacies, for three months only
    for k in range(8):
        r.claim("QUIET", f"PH{k % 3}", "OXY", 150 + 11 * k, 48.0, prescriber=f"GP{k % 3 + 3}")
    # palliative care: the oncologist, the GP and the palliative team prescribe in turn, every
    # week, at the patient's one pharmacy (the pharmacist sees every supply)
    for k in range(14):
        r.claim("PALLIATIVE", "PH4", "OXY", 200 + 7 * k, 48.0, prescriber=f"GP{7 + k % 3}")
    # palliative home care: the same team prescribing in turn every week, one dispensing in three at
    # the patient's second pharmacy; each prescriber sees the patient twice a week besides (home
    # visits): a care team that knows the supplies, which no pharmacist sees whole
    r.service("VISIT", "act", "home visit")
    for k in range(14):
        r.claim("TEAM", "PH3" if k % 3 == 2 else "PH4", "OXY", 200 + 7 * k, 48.0, prescriber=f"GP{7 + k % 3}")
        for g in range(3) if team_visits else ():
            r.claim("TEAM", f"GP{7 + g}", "VISIT", 200 + 7 * k + 2 * g, 25.0)
    # palliative home care with an oncologist who prescribes without following the patient (seen
    # only to prescribe), beside the GP and the palliative team who visit twice a week: one
    # dispensing in three at a second pharmacy. One prescriber unaware of the others deceives
    # nobody: the doctors who follow the patient know the specialist's supplies
    r.provider("ONC", "physician", "oncology")
    r.provider("PALL", "physician", "palliative_care")
    for k in range(15):
        r.claim("ONCO", "PH3" if k % 3 == 2 else "PH2", "OXY", 100 + 7 * k, 48.0,
                prescriber=("ONC", "GP8", "PALL")[k % 3])
        for g in ("GP8", "PALL") if gp_follows else ("PALL",):
            r.claim("ONCO", g, "VISIT", 100 + 7 * k + ("GP8", "PALL").index(g) * 3, 25.0)
    # the weak shopper: its own GP (who sees it every five days) and two doctors seen only to
    # prescribe, two pharmacies, seven dispensings in 70 days
    for k in range(7):
        r.claim("WEAK", ("PH1", "PH1", "PH0")[k % 3], "OXY", 10 * k, 48.0,
                prescriber=("GP9", "GP5", "GP6")[k % 3])
    for k in range(15):
        r.claim("WEAK", "GP9", "VISIT", 5 * k + 2, 25.0)
    # chronic pain: pregabalin monthly, two prescribers, one pharmacy
    for k in range(12):
        r.claim("PAIN", "PH0", "PREG", 30 * k, 19.5, prescriber=f"GP{k % 2}")
    # many prescribers and pharmacies, but one box a month: no overlap
    for k in range(8):
        r.claim("SPACED", f"PH{k % 4}", "OXY", 30 * k, 48.0, prescriber=f"GP{k}")
    # a chronic patient seeing many doctors for an unwatched drug
    for k in range(20):
        r.claim("CHRONIC", f"PH{k % 4}", "STATIN", 5 * k, 9.8, prescriber=f"GP{k % 8}")
    # two dispensings, the second hidden: a small count cannot be told from a locum
    r.claim("ONCE", "PH0", "OXY", 100, 48.0, prescriber="GP0")
    r.claim("ONCE", "PH1", "OXY", 110, 48.0, prescriber="GP1")
    return r.tables()


def run(settings=DoctorShoppingSettings(), key=KEY, t=None):
    return detect_doctor_shopping(t or region(), settings, key)


def accused(f):
    return {e["entity_id"] for e in f.entities.to_pylist() if e["standing"] == "accused"}


def test_finds_the_shoppers_and_not_the_honest_patients():
    f = run()
    assert accused(f) == {"SHOP", "QUIET", "WEAK"}
    assert f.alerts.num_rows == 3


def test_one_prescriber_seen_only_to_prescribe_beside_followers_conceals_nothing_two_do():
    # the oncologist's supplies beside the GP's and the palliative team's (ONCO); with a GP who
    # only prescribes too, two prescribers are unaware of each other
    assert "ONCO" not in accused(run())
    assert "ONCO" in accused(run(t=region(gp_follows=False)))
    # the weak shopper has two such prescribers: 7 dispensings are enough to tell
    f = run()
    weak = [json.loads(a["evidence"])["molecules"][0] for a in f.alerts.to_pylist()
            if a["alert_id"] == opaque_id(KEY, "doctor_shopping", "WEAK")]
    assert weak and weak[0]["dispensings"] == 7 and weak[0]["concealed"] >= 3


def test_a_care_team_following_the_patient_conceals_nothing_prescribers_seen_only_to_prescribe_do():
    assert "TEAM" not in accused(run())
    assert "TEAM" in accused(run(t=region(team_visits=False)))


def test_alert_ids_never_name_the_patient_and_are_stable_for_the_same_key():
    ids = set(run().alerts["alert_id"].to_pylist())
    assert ids == {opaque_id(KEY, "doctor_shopping", p) for p in ("SHOP", "QUIET", "WEAK")}
    assert not [i for i in ids if "SHOP" in i or "QUIET" in i or "WEAK" in i]
    assert set(run().alerts["alert_id"].to_pylist()) == ids                       # the same facts, the same ids
    assert not ids & set(run(key=b"another store").alerts["alert_id"].to_pylist())   # another store, other ids


def test_summary_and_evidence_state_the_test_without_naming_the_patient():
    a = next(a for a in run().alerts.to_pylist() if a["alert_id"] == opaque_id(KEY, "doctor_shopping", "SHOP"))
    # 12 boxes of 28 days = 336 days of supply, from day 0 to day 110 + 28 = 138 days
    assert a["summary"].startswith("A patient obtained 12 unit(s) of oxycodone 20 mg (336 days of supply over 138 days) "
                                   "in 12 dispensings from 6 prescribers and 3 pharmacies; 11 were dispensed while "
                                   "another prescriber's supply from another pharmacy still ran, where ")
    assert "SHOP" not in a["summary"] and "SHOP" not in a["evidence"]
    mol = json.loads(a["evidence"])["molecules"][0]
    assert (mol["dispensings"], mol["concealed"]) == (12, 11) and mol["log10_p"] < -6
    # score: the days of supply obtained through concealed dispensings beyond the usual rate
    assert 11 * 28 * 0.9 < a["score"] <= 11 * 28


def test_the_deceived_prescribers_and_pharmacies_are_victims():
    f = run()
    aid = opaque_id(KEY, "doctor_shopping", "SHOP")
    standing = {(e["entity_id"], e["role"], e["standing"]) for e in f.entities.to_pylist() if e["alert_id"] == aid}
    assert ("SHOP", "shopper", "accused") in standing
    assert ("GP5", "shopped_prescriber", "victim") in standing and ("PH2", "shopped_pharmacy", "victim") in standing
    assert {s for _, _, s in standing} == {"accused", "victim"}


def test_without_a_watched_catalogue_nothing_is_flagged():
    t = region()
    t["services"] = t["services"].slice(0, 0)
    assert run(t=t).alerts.num_rows == 0


def test_deterministic():
    a, b = run(), run()
    assert a.alerts.equals(b.alerts) and a.entities.equals(b.entities)
