from graph.pharmacy_collusion import detect_pharmacy_collusion
from graph.settings import PharmacyCollusionSettings

from .builders import Region

OXY, PARA = "OXY", "PARA"


def region(with_collusion=True):
    r = Region()
    r.service(OXY, "drug", "oxycodone", watch=True)
    r.service(PARA, "drug", "paracetamol")
    # town 69100: a group practice (GP1-GP3) with the pharmacy next door filling 90 % of its scripts
    for p, k in (("NEXT", "pharmacy"), ("OTHER", "pharmacy")):
        r.provider(p, k, postcode="69100")
    for g in ("GP1", "GP2", "GP3"):
        r.provider(g, "physician", "general_practice", "69100")
    for i in range(90):
        pt, gp = f"A{i}", f"GP{i % 3 + 1}"
        r.patient(pt, "69100")
        r.claim(pt, "NEXT" if i % 10 else "OTHER", PARA, i % 300, 2.0, prescriber=gp)
        if i % 15 == 0:
            r.claim(pt, "NEXT", OXY, i % 300, 48.0, prescriber=gp)   # some legitimate opioids
    # town 69200: two pharmacies sharing the patients of DX and DY evenly
    for p in ("PX", "PY"):
        r.provider(p, "pharmacy", postcode="69200")
    for d in ("DX", "DY"):
        r.provider(d, "physician", "general_practice", "69200")
    for i in range(60):
        pt = f"B{i}"
        r.patient(pt, "69200")
        r.claim(pt, "PX" if i % 2 else "PY", PARA, i, 2.0, prescriber="DX" if i < 30 else "DY")
    if with_collusion:   # DX sends 15 patients from another département to PX for oxycodone
        for i in range(15):
            pt = f"M{i}"
            r.patient(pt, f"01{100 + 10 * (i % 4)}")
            for month in range(5):
                r.claim(pt, "PX", OXY, 30 * month + i, 96.0, prescriber="DX", quantity=2)
    return r.tables()


def test_finds_the_pharmacy_and_prescriber_moving_watched_drugs_for_far_patients():
    f = detect_pharmacy_collusion(region(), PharmacyCollusionSettings())
    alerts = f.alerts.to_pylist()
    assert [a["alert_id"] for a in alerts] == ["pharmacy_collusion:PX"]
    roles = {(e["entity_id"], e["role"]) for e in f.entities.to_pylist() if e["entity_type"] == "provider"}
    assert roles == {("PX", "pharmacy"), ("DX", "prescriber")}
    patients = {e["entity_id"] for e in f.entities.to_pylist() if e["entity_type"] == "patient"}
    assert patients and patients <= {f"M{i}" for i in range(15)}
    assert alerts[0]["summary"].startswith("Pharmacy PX filled the prescriptions of 1 prescriber(s) for 30 patient(s)")
    assert "watched molecules (oxycodone)" in alerts[0]["summary"]


def test_pharmacy_next_to_a_group_practice_and_evenly_shared_towns_are_not_alerts():
    assert detect_pharmacy_collusion(region(with_collusion=False), PharmacyCollusionSettings()).alerts.num_rows == 0


def test_thresholds_and_determinism():
    t = region()
    assert detect_pharmacy_collusion(t, PharmacyCollusionSettings(min_excess=1000)).alerts.num_rows == 0
    a, b = detect_pharmacy_collusion(t, PharmacyCollusionSettings()), detect_pharmacy_collusion(t, PharmacyCollusionSettings())
    assert a.alerts.equals(b.alerts) and a.entities.equals(b.entities)
