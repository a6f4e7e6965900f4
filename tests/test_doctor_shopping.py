from graph.doctor_shopping import detect_doctor_shopping
from graph.settings import DoctorShoppingSettings

from .builders import Region


def region():
    r = Region()
    r.service("OXY", "drug", "oxycodone 20 mg", watch=True)
    r.service("PREG", "drug", "pregabalin", watch=True)
    r.service("STATIN", "drug", "atorvastatin")
    for i in range(8):
        r.provider(f"GP{i}", "physician", "general_practice")
    for i in range(4):
        r.provider(f"PH{i}", "pharmacy")
    # the shopper: oxycodone every 10 days from 6 prescribers at 3 pharmacies (28-day boxes)
    for k in range(12):
        r.claim("SHOP", f"PH{k % 3}", "OXY", 10 * k, 48.0, prescriber=f"GP{k % 6}")
    # chronic pain: pregabalin monthly, two prescribers, one pharmacy
    for k in range(12):
        r.claim("PAIN", "PH0", "PREG", 30 * k, 19.5, prescriber=f"GP{k % 2}")
    # many prescribers and pharmacies, but one box a month: no overlap
    for k in range(8):
        r.claim("SPACED", f"PH{k % 4}", "OXY", 30 * k, 48.0, prescriber=f"GP{k}")
    # a chronic patient seeing many doctors for an unwatched drug
    for k in range(20):
        r.claim("CHRONIC", f"PH{k % 4}", "STATIN", 5 * k, 9.8, prescriber=f"GP{k % 8}")
    return r.tables()


def test_finds_the_shopper_and_not_chronic_or_spaced_patients():
    f = detect_doctor_shopping(region(), DoctorShoppingSettings())
    alerts = f.alerts.to_pylist()
    assert [a["alert_id"] for a in alerts] == ["doctor_shopping:SHOP"]
    a = alerts[0]
    # 12 boxes of 28 days = 336 days of supply, from day 0 to day 110 + 28 = 138 days
    assert a["score"] == 336 - 138
    assert a["summary"] == ("A patient obtained 12 unit(s) of oxycodone 20 mg (336 days of supply over 138 days) in 12 "
                            "dispensings from 6 prescribers and 3 pharmacies; 11 dispensings overlapped a running supply.")
    assert "SHOP" not in a["summary"]      # summaries never name the patient
    roles = {(e["entity_id"], e["role"]) for e in f.entities.to_pylist()}
    assert ("SHOP", "shopper") in roles and ("GP5", "shopped_prescriber") in roles and ("PH2", "shopped_pharmacy") in roles


def test_without_a_watched_catalogue_nothing_is_flagged():
    t = region()
    t["services"] = t["services"].slice(0, 0)
    assert detect_doctor_shopping(t, DoctorShoppingSettings()).alerts.num_rows == 0


def test_thresholds():
    assert detect_doctor_shopping(region(), DoctorShoppingSettings(min_prescribers=7)).alerts.num_rows == 0
    assert detect_doctor_shopping(region(), DoctorShoppingSettings(min_overlaps=12)).alerts.num_rows == 0
