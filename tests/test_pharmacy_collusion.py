"""pharmacy_collusion on hand-built dispensings: the colluding flow it finds, and the flows that
geography explains (a pharmacy next to a group practice, towns sharing their pharmacies, a
regional HIV service whose patients fill next to its hospital)."""
import json

import pytest

from graph.pharmacy_collusion import detect_pharmacy_collusion
from graph.settings import PharmacyCollusionSettings

from .builders import Region

OXY, PARA, HIV = "OXY", "PARA", "HIV"
TOWNS = ("69100", "69200", "69300", "01100", "01200", "01300")


def region(with_collusion=True, mules=15, hospital_pharmacy=None, colluders=(), alone=None, treated_at_home=False):
    r = Region()
    r.service(OXY, "drug", "oxycodone", watch=True)
    r.service(PARA, "drug", "paracetamol")
    r.service(HIV, "drug", "HIV triple therapy", watch=True)
    r.add("centres", centre_id="HC", kind="health_centre", postcode="69100")
    r.add("centres", centre_id="HOSP", kind="hospital", postcode="69400")
    # 69100: a group practice (GP1-GP3, at the health centre HC) with the pharmacy next door filling
    # most of its prescriptions, and another pharmacy in town
    for p in ("NEXT", "OTHER"):
        r.provider(p, "pharmacy", postcode="69100")
    for g in ("GP1", "GP2", "GP3"):
        r.provider(g, "physician", "general_practice", "69100")
        r.add("affiliations", provider_id=g, centre_id="HC", role="liberal")
    for i in range(120):
        pt, gp = f"A{i}", f"GP{i % 3 + 1}"
        r.patient(pt, "69100")
        r.claim(pt, "NEXT" if i % 10 else "OTHER", PARA, i % 300, 2.0, prescriber=gp)
        if i % 15 == 0:
            r.claim(pt, "NEXT", OXY, i % 300, 48.0, prescriber=gp)   # some legitimate opioids
    # the other towns: a GP and two pharmacies each, shared evenly by the town's patients
    for t, pc in enumerate(TOWNS[1:], start=1):
        r.provider(f"D{t}", "physician", "general_practice", pc)
        for p in ("X", "Y"):
            r.provider(f"P{p}{t}", "pharmacy", postcode=pc)
        for i in range(80):
            pt = f"B{t}-{i}"
            r.patient(pt, pc)
            r.claim(pt, f"PX{t}" if i % 2 else f"PY{t}", PARA, i, 2.0, prescriber=f"D{t}")
    # 69400: a regional hospital; its specialists see patients from every town, who fill their
    # prescriptions next to it (HOSPPH) more often than not; the HIV service's patients too
    r.provider("HOSPPH", "pharmacy", postcode="69400")
    for s in ("SPEC1", "SPEC2", "HIVDOC"):
        r.provider(s, "physician", "infectious_diseases" if s == "HIVDOC" else "cardiology", "69400")
        r.add("affiliations", provider_id=s, centre_id="HOSP", role="fulltime_hospital")
    def visitor(i, base):      # a patient of the i-th town, and their pharmacy at home
        t, n = i % 6, base + i
        return (f"B{t}-{n}", f"PX{t}" if n % 2 else f"PY{t}") if t else (f"A{n}", "NEXT" if n % 10 else "OTHER")

    for i in range(60):
        pt, home_pharmacy = visitor(i, 10)
        spec = f"SPEC{i % 2 + 1}"
        r.claim(pt, spec, "CS", 200 + i, 30.0, centre="HOSP")
        r.claim(pt, "HOSPPH" if i % 3 else home_pharmacy, PARA, 200 + i, 2.0, prescriber=spec)
    for i in range(30):
        pt, home_pharmacy = visitor(i, 10)
        r.claim(pt, "HIVDOC", "CS", i, 30.0, centre="HOSP")
        for month in range(6):
            r.claim(pt, "HOSPPH" if i % 4 else home_pharmacy, HIV, 30 * month + i, 640.0, prescriber="HIVDOC")
    if hospital_pharmacy is not None:   # the hospital's own pharmacy (billing through `hospital_pharmacy`,
        r.service("EPO", "drug", "epoetin")  # "" for none): its nephrologist's drugs for patients from every town
        r.provider("PUI", "pharmacy", postcode="69400")
        r.provider("NEPHRO", "physician", "nephrology", "69400")
        r.add("affiliations", provider_id="NEPHRO", centre_id="HOSP", role="fulltime_hospital")
        for i in range(30):
            pt, _ = visitor(i, 40)
            r.claim(pt, "NEPHRO", "CS", i, 30.0, centre="HOSP")
            for month in range(6):
                r.claim(pt, "PUI", "EPO", 30 * month + i, 300.0, prescriber="NEPHRO",
                        centre=hospital_pharmacy or None)
    if with_collusion:   # D1 sends patients from other towns to PX1 for oxycodone
        for i in range(mules):
            pt = f"M{i}"
            r.patient(pt, TOWNS[2 + i % 4])
            for month in range(5):
                r.claim(pt, "PX1", OXY, 30 * month + i, 96.0, prescriber="D1", quantity=2)
    if colluders:   # 38000: five GPs, two pharmacies; G1, G2… send colluders[0], colluders[1]… patients
        add_town_of_colluders(r, colluders)           # from other towns to Q1 for oxycodone
    if alone is not None:   # 73000: eight GPs and the town's only pharmacy; H1 sends `alone` patients
        add_town_with_one_pharmacy(r, alone, treated_at_home)   # from other départements there for oxycodone
    return r.tables()


def add_town_with_one_pharmacy(r, mules, treated_at_home=False):
    """A town (another département) of eight GPs (H1-H8) and one pharmacy (R1) that fills every
    prescription made there: each GP's 40 patients of the town and 20 from the other départements
    (one in eight of either on oxycodone); H1 also sends `mules` patients from elsewhere to R1 for
    oxycodone. `treated_at_home`: the mules, and one honest traveller on oxycodone of each GP, are
    also the patients of a GP of their own town, who prescribes them paracetamol filled at home."""
    r.provider("R1", "pharmacy", postcode="73000")
    for g in range(1, 9):
        gp = f"H{g}"
        r.provider(gp, "physician", "general_practice", "73000")
        for i in range(60):
            pt = f"J{g}-{i}"
            r.patient(pt, "73000" if i < 40 else TOWNS[i % 6])
            r.claim(pt, "R1", OXY if i % 8 == 0 else PARA, i, 48.0 if i % 8 == 0 else 2.0, prescriber=gp)
            if treated_at_home and i == 40:     # one honest traveller a GP sees its own GP at home too
                treated_home(r, pt, i % 6, i)
        for i in range(mules if g == 1 else 0):
            pt = f"K{i}"
            r.patient(pt, TOWNS[i % 6])
            for month in range(5):
                r.claim(pt, "R1", OXY, 30 * month + i, 96.0, prescriber=gp, quantity=2)
            if treated_at_home:
                treated_home(r, pt, i % 6, i)


def treated_home(r, pt, t, day):
    """The patient `pt` of the t-th town also sees its town's GP, who prescribes paracetamol
    filled at home."""
    gp, pharmacy = ("GP1", "NEXT") if t == 0 else (f"D{t}", f"PX{t}")
    r.claim(pt, pharmacy, PARA, day, 2.0, prescriber=gp)


def add_town_of_colluders(r, colluders):
    """A town of five GPs (G1-G5) and two pharmacies (Q1, Q2) sharing its patients evenly; each GP
    also sees 20 patients from the other towns, who fill at home but one in five at Q1 or Q2 (an
    honest traveller's habit); the g-th GP sends `colluders[g - 1]` patients from elsewhere to Q1."""
    for p in ("Q1", "Q2"):
        r.provider(p, "pharmacy", postcode="38000")
    for g in range(1, 6):
        gp = f"G{g}"
        r.provider(gp, "physician", "general_practice", "38000")
        for i in range(60):
            pt = f"C{g}-{i}"
            r.patient(pt, "38000")
            r.claim(pt, "Q1" if i % 2 else "Q2", PARA, i, 2.0, prescriber=gp)
        for i in range(20):
            t, n = 1 + (g + i) % 5, 100 + 20 * g + i
            pt = f"T{g}-{i}"
            r.patient(pt, TOWNS[t])
            near = ("Q1" if i % 2 else "Q2") if i % 5 == 0 else (f"PX{t}" if n % 2 else f"PY{t}")
            r.claim(pt, near, OXY if i % 4 == 0 else PARA, 100 + i, 48.0 if i % 4 == 0 else 2.0, prescriber=gp)
        if g <= len(colluders):
            for i in range(colluders[g - 1]):
                pt = f"N{g}-{i}"
                r.patient(pt, TOWNS[1 + i % 5])
                for month in range(5):
                    r.claim(pt, "Q1", OXY, 30 * month + i, 96.0, prescriber=gp, quantity=2)


def run(t=None, settings=PharmacyCollusionSettings()):
    return detect_pharmacy_collusion(t or region(), settings)


def test_finds_the_pharmacy_and_prescriber_moving_watched_drugs_for_patients_from_elsewhere():
    f = run()
    alerts = f.alerts.to_pylist()
    assert [a["alert_id"] for a in alerts] == ["pharmacy_collusion:PX1"]
    roles = {(e["entity_id"], e["role"], e["standing"]) for e in f.entities.to_pylist() if e["entity_type"] == "provider"}
    assert roles == {("PX1", "pharmacy", "accused"), ("D1", "prescriber", "accused")}
    patients = {e["entity_id"]: e["standing"] for e in f.entities.to_pylist() if e["entity_type"] == "patient"}
    assert patients and set(patients) <= {f"M{i}" for i in range(15)} and set(patients.values()) == {"participant"}
    assert alerts[0]["summary"].startswith("Pharmacy PX1 filled the prescriptions of 1 prescriber(s): 15 patient(s) "
                                           "given watched molecules (of the home areas beyond their share) where ")
    # the furthest beyond first; a test combined over home areas is told by its areas beyond their
    # expectation, where its excess lies (its totals may be below: fraudnet's review, 2026-12-02)
    assert "watched molecules (oxycodone)" in alerts[0]["summary"]
    flow = json.loads(alerts[0]["evidence"])["flows"][0]
    assert flow["watched_observed"] == 15 and flow["watched_expected"] < 2 and flow["log10_p"] < -6
    # the travellers' tests have no yardstick here (no other GP's travellers): not judged, neither
    # in the evidence (no expectation, no tail) nor in the summary
    tests = {t["test"]: t for t in flow["tests"]}
    assert tests["travellers"]["expected"] is None and tests["travellers"]["log10_p"] is None
    assert tests["watched"]["observed"] == 15 and tests["watched"]["log10_p"] < -6
    assert "prescribers alike predict" not in alerts[0]["summary"]
    assert flow["unknown_home"] == 0 and flow["unlocated"] == 0


def test_geography_explains_the_group_practice_the_towns_and_the_hiv_service():
    assert run(region(with_collusion=False)).alerts.num_rows == 0


def test_a_hospital_pharmacy_supplying_its_own_physicians_prescriptions_is_no_flow():
    """Billed through the hospital where the nephrologist works, the dispensings never left the
    establishment; the same dispensings billed as a pharmacy's own are a flow far beyond geography."""
    assert run(region(with_collusion=False, hospital_pharmacy="HOSP")).alerts.num_rows == 0
    flagged = run(region(with_collusion=False, hospital_pharmacy="")).alerts.to_pylist()
    assert [a["alert_id"] for a in flagged] == ["pharmacy_collusion:PUI"]


def test_a_handful_of_mules_is_enough_one_is_not():
    assert [a["alert_id"] for a in run(region(mules=8)).alerts.to_pylist()] == ["pharmacy_collusion:PX1"]
    assert run(region(mules=1)).alerts.num_rows == 0


def test_colluders_of_one_town_do_not_hide_each_other():
    """Two GPs of one town send mules to the same pharmacy: the weaker one's yardstick (where the
    town's other prescribers' travelling patients fill) would hold the stronger one's mules; a
    first pass flags the flow far beyond the rest, which then sets nobody's yardstick. The town's
    honest GPs, whose travellers fill at home or now and then in town, are left alone."""
    f = run(region(with_collusion=False, colluders=(30, 12)))
    assert [a["alert_id"] for a in f.alerts.to_pylist()] == ["pharmacy_collusion:Q1"]
    named = {e["entity_id"] for e in f.entities.to_pylist() if e["entity_type"] == "provider"}
    assert named == {"Q1", "G1", "G2"}      # in one pass, G1's 30 mules hid G2's 12 (and inflated τ²)
    assert run(region(with_collusion=False, colluders=(0,))).alerts.num_rows == 0


def test_a_pharmacy_alone_in_its_town_is_judged_on_its_travellers_watched_share():
    """Every patient prescribed in a town of one pharmacy fills there, mules as well: where they
    fill says nothing. What does is the share of watched molecules among a prescriber's patients
    from other areas, against that of the other prescribers of its kind (one in eight here)."""
    f = run(region(with_collusion=False, alone=12))
    assert [a["alert_id"] for a in f.alerts.to_pylist()] == ["pharmacy_collusion:R1"]
    # its score: the euros of the watched molecules beyond the travellers' share (it fills about
    # the patients geography predicts: that excess alone says nothing)
    [alert] = f.alerts.to_pylist()
    [flow] = json.loads(alert["evidence"])["flows"]
    assert abs(flow["observed"] - flow["expected"]) < 1 and flow["travellers_watched"] > 2 * flow["travellers_expected"]
    per_watched = flow["watched_amount"] / flow["watched_observed"]
    excess = max(flow["travellers_watched"] - flow["travellers_expected"],     # of the travellers' tests
                 flow["remote_watched"] - flow["remote_expected"])
    assert alert["score"] == pytest.approx(excess * per_watched, rel=1e-6) and alert["score"] > 0
    # the summary gives the strongest of the tests that count more than they predict (a travellers'
    # test), not the geography that predicts the flow; the five are in the evidence
    said = alert["summary"]
    tests = {t["test"]: t for t in flow["tests"]}
    assert list(tests) == ["all", "watched", "travellers", "elsewhere", "remote"]
    strongest = min((t for t in flow["tests"] if t["log10_p"] is not None and t["observed"] > t["expected"]),
                    key=lambda t: t["log10_p"])
    assert strongest["test"] in ("travellers", "remote")
    assert said.startswith(f"Pharmacy R1 filled the prescriptions of 1 prescriber(s): {strongest['observed']:.0f} "
                           f"patient(s) from another ")
    assert f"predict {strongest['expected']:.1f}; " in said and said.count("predict") == 2   # and "what its tests predict"
    assert "patient(s) in all where their homes" not in said
    assert tests["travellers"]["observed"] == flow["travellers_watched"]
    assert tests["travellers"]["expected"] == pytest.approx(flow["travellers_expected"])
    assert {e["entity_id"] for e in f.entities.to_pylist() if e["entity_type"] == "provider"} == {"R1", "H1"}
    assert run(region(with_collusion=False, alone=0)).alerts.num_rows == 0
    assert run(region(with_collusion=False, alone=2)).alerts.num_rows == 0     # two patients prove nothing


def test_deterministic():
    t = region()
    a, b = run(t), run(t)
    assert a.alerts.equals(b.alerts) and a.entities.equals(b.entities)


def add_border_town(r, mules):
    """A town (74000) of six GPs (E1-E6) and its one pharmacy (S1), near another département:
    each GP's 30 patients of the town and 30 from the other départements, half of whom are given
    oxycodone *beside* the rest of their care (paracetamol) by the GP who follows them; E1 also
    sends `mules` patients from elsewhere to S1 for oxycodone alone."""
    r.provider("S1", "pharmacy", postcode="74000")
    for g in range(1, 7):
        gp = f"E{g}"
        r.provider(gp, "physician", "general_practice", "74000")
        for i in range(60):
            pt = f"F{g}-{i}"
            r.patient(pt, "74000" if i < 30 else TOWNS[i % 6])
            r.claim(pt, "S1", PARA, i, 2.0, prescriber=gp)
            if i >= 30 and i % 2:
                r.claim(pt, "S1", OXY, i + 1, 48.0, prescriber=gp)
        for i in range(mules if g == 1 else 0):
            pt = f"L{i}"
            r.patient(pt, TOWNS[i % 6])
            for month in range(5):
                r.claim(pt, "S1", OXY, 30 * month + i, 96.0, prescriber=gp, quantity=2)


def test_mules_are_given_watched_molecules_alone_honest_travellers_the_rest_of_their_care_too():
    """Half the travellers of a border town's GPs get oxycodone: their share of watched molecules
    cannot tell 10 mules among 40 travellers (25 of 40 where 20 are expected); that the GP
    prescribes them nothing else can (10 where about none is expected)."""
    r = Region()
    r.service(OXY, "drug", "oxycodone", watch=True)
    r.service(PARA, "drug", "paracetamol")
    add_border_town(r, mules=10)
    f = run(r.tables())
    assert [a["alert_id"] for a in f.alerts.to_pylist()] == ["pharmacy_collusion:S1"]
    [flow] = json.loads(f.alerts["evidence"][0].as_py())["flows"]
    assert flow["prescriber_id"] == "E1" and flow["travellers_watched"] == 10 and flow["travellers_expected"] < 2
    for mules in (0, 2):        # the honest town alone, and two mules, which prove nothing
        r = Region()
        r.service(OXY, "drug", "oxycodone", watch=True)
        r.service(PARA, "drug", "paracetamol")
        add_border_town(r, mules=mules)
        assert run(r.tables()).alerts.num_rows == 0


def honest_towns(r, towns, gps=4):
    """Towns of `gps` GPs and two pharmacies each (PX<t>, PY<t>), each GP's 60 patients (B<t>-<i>)
    filling at either evenly: the many honest flows that set the spread of habits."""
    for t, pc in enumerate(towns):
        for p in ("X", "Y"):
            r.provider(f"P{p}{t}", "pharmacy", postcode=pc)
        for g in range(gps):
            r.provider(f"D{t}-{g}", "physician", "general_practice", pc)
            for i in range(60):
                pt = f"B{t}-{i + 60 * g}"
                r.patient(pt, pc)
                r.claim(pt, f"PX{t}" if i % 2 else f"PY{t}", PARA, i, 2.0, prescriber=f"D{t}-{g}")


def hospital_with_hiv_service(second_infectiologist: bool):
    """A regional hospital (HOSP, 69400) whose cardiologists' patients from every town fill at home,
    and whose HIV service's patients fill next to it (HOSPPH) three times in four; the towns of
    `region`."""
    r = Region()
    r.service(PARA, "drug", "paracetamol")
    r.service(HIV, "drug", "HIV triple therapy", watch=True)
    r.add("centres", centre_id="HOSP", kind="hospital", postcode="69400")
    r.provider("HOSPPH", "pharmacy", postcode="69400")
    honest_towns(r, TOWNS)
    doctors = ["CARDIO1", "CARDIO2", "HIV1"] + (["HIV2"] if second_infectiologist else [])
    for s in doctors:
        r.provider(s, "physician", "infectious_diseases" if s.startswith("HIV") else "cardiology", "69400")
        r.add("affiliations", provider_id=s, centre_id="HOSP", role="fulltime_hospital")
    for k, s in enumerate(doctors):
        for i in range(60 if s.startswith("CARDIO") else 40):
            t, n = i % 6, 10 + i + 60 * k
            pt = f"B{t}-{n % 60}"
            home = f"PX{t}" if n % 60 % 2 else f"PY{t}"
            r.claim(pt, s, "CS", i, 30.0, centre="HOSP")
            if s.startswith("CARDIO"):
                r.claim(pt, home if i % 10 else "HOSPPH", PARA, 200 + i, 2.0, prescriber=s)
            else:
                for month in range(4):
                    r.claim(pt, "HOSPPH" if i % 4 else home, HIV, 30 * month + i, 640.0, prescriber=s)
    return r.tables()


def test_a_hospitals_hiv_service_is_judged_against_its_own_infectiologists():
    """Where the hospital's cardiologists' patients fill (next door one time in ten) does not
    predict where its HIV service's do (three in four); its other infectiologist does."""
    assert run(hospital_with_hiv_service(second_infectiologist=True)).alerts.num_rows == 0
    # alone of its specialty, the service is judged against the hospital's other patients: a
    # regional service nobody else in the data resembles stays unexplained
    assert run(hospital_with_hiv_service(second_infectiologist=False)).alerts["alert_id"].to_pylist() == [
        "pharmacy_collusion:HOSPPH"]


def group_practice(billing_entity: str | None, on_call_elsewhere: int = 0):
    """A town (42000) of twelve GPs and two pharmacies: four GPs (K1-K4) of a group practice, whose
    patients fill next door (KNEXT) nine times in ten, the other eight (O1-O8) practising alone,
    whose patients fill there one time in ten; the group bills through `billing_entity` (its
    company), or through none; the honest towns of `honest_towns` beside. With
    `on_call_elsewhere`, as many GPs of other towns take turns on call at the practice's health
    centre (HC42) with the four, their patients filling at home."""
    r = Region()
    r.service(OXY, "drug", "oxycodone", watch=True)
    r.service(PARA, "drug", "paracetamol")
    honest_towns(r, TOWNS[1:])
    for p in ("KNEXT", "KOTHER"):
        r.provider(p, "pharmacy", postcode="42000")
    for g in range(1, 9):
        r.provider(f"O{g}", "physician", "general_practice", "42000")
        for i in range(60):
            r.patient(f"OP{g}-{i}", "42000")
            r.claim(f"OP{g}-{i}", "KNEXT" if i % 10 == 0 else "KOTHER", PARA, i, 2.0, prescriber=f"O{g}")
    for g in range(1, 5):
        r.provider(f"K{g}", "physician", "general_practice", "42000", legal_entity_id=billing_entity)
        for i in range(150):
            r.patient(f"KP{g}-{i}", "42000")
            r.claim(f"KP{g}-{i}", "KNEXT" if i % 10 else "KOTHER", OXY if i % 10 == 1 else PARA, i, 2.0,
                    prescriber=f"K{g}")
    if on_call_elsewhere:
        r.add("centres", centre_id="HC42", kind="health_centre", postcode="42000")
        for g in range(1, 5):
            r.add("affiliations", provider_id=f"K{g}", centre_id="HC42", role="liberal")
        for t in range(on_call_elsewhere):
            pc, gp = TOWNS[1 + t % 5], f"W{t}"
            r.provider(gp, "physician", "general_practice", pc)
            r.add("affiliations", provider_id=gp, centre_id="HC42", role="liberal")
            for i in range(150):
                r.patient(f"WP{t}-{i}", pc)
                r.claim(f"WP{t}-{i}", f"PX{t % 5}" if i % 2 else f"PY{t % 5}", PARA, i, 2.0, prescriber=gp)
    return r.tables()


def test_a_group_practice_is_a_place_its_company_or_its_health_centre():
    """A group practice's patients fill next door: its GPs, billing through one company, set each
    other's yardstick; so do the GPs practising at its health centre, not those of other towns on
    call there (counted at the centre, the latter's patients, filling at home, made the practice's
    four flows look like collusion: log10 p -38)."""
    assert run(group_practice("GROUP-CO")).alerts.num_rows == 0
    assert run(group_practice(None, on_call_elsewhere=4)).alerts.num_rows == 0


def towns_of_one_pharmacy(mules_each: int, senders: int = 3, towns: int = 8):
    """`towns` towns (70000, 71000…) of six GPs and one pharmacy (R<t>) that fills every
    prescription made there: each GP's 40 patients of the town and 20 from the other départements,
    one in eight of either given oxycodone alone; in the first town, GPs H0-1 to H0-`senders` each
    also send `mules_each` patients from elsewhere to R0 for oxycodone."""
    r = Region()
    r.service(OXY, "drug", "oxycodone", watch=True)
    r.service(PARA, "drug", "paracetamol")
    for t in range(towns):
        pc = f"7{t}000"
        r.provider(f"R{t}", "pharmacy", postcode=pc)
        for g in range(1, 7):
            gp = f"H{t}-{g}"
            r.provider(gp, "physician", "general_practice", pc)
            for i in range(60):
                pt = f"J{t}-{g}-{i}"
                r.patient(pt, pc if i < 40 else TOWNS[i % 6])
                r.claim(pt, f"R{t}", OXY if i % 8 == 0 else PARA, i, 48.0 if i % 8 == 0 else 2.0, prescriber=gp)
            for i in range(mules_each if t == 0 and g <= senders else 0):
                pt = f"K{g}-{i}"
                r.patient(pt, TOWNS[i % 6])
                for month in range(5):
                    r.claim(pt, f"R{t}", OXY, 30 * month + i, 96.0, prescriber=gp, quantity=2)
    return r.tables()


def test_several_prescribers_each_too_weak_alone_add_up_at_their_pharmacy():
    """Three GPs of one town each send 8 mules to its only pharmacy: each flow's travellers given
    oxycodone alone (11 of 28 where 4.6 are expected) stay short of the false-discovery bound over
    48 flows (log10 p about -2), so judged flow by flow none was flagged; pooled over the
    pharmacy's flows (42 where 24 are expected), they are beyond it, and the alert names the flows
    carrying the excess — the senders, not the town's three honest GPs."""
    f = run(towns_of_one_pharmacy(8))
    assert f.alerts["alert_id"].to_pylist() == ["pharmacy_collusion:R0"]
    named = {e["entity_id"] for e in f.entities.to_pylist() if e["entity_type"] == "provider"} - {"R0"}
    assert len(named) >= 2 and named <= {"H0-1", "H0-2", "H0-3"}
    evidence = json.loads(f.alerts["evidence"][0].as_py())
    assert all(x["log10_p"] > -3 for x in evidence["flows"])         # none beyond doubt alone
    pooled = evidence["pharmacy_travellers"]
    assert pooled["observed"] > pooled["expected"] + 10 and pooled["log10_p"] < -3
    assert run(towns_of_one_pharmacy(0)).alerts.num_rows == 0             # the honest towns
    assert run(towns_of_one_pharmacy(2)).alerts.num_rows == 0             # two mules each prove nothing


def test_travellers_given_watched_molecules_alone_by_a_doctor_who_is_not_their_treating_one():
    """A mule keeps its own GP at home, who prescribes the rest of its care; the colluding GP gives
    it the watched molecule alone. An honest traveller given a watched molecule by a distant GP is
    mostly that GP's patient (here one in twenty of each GP's travellers also sees a GP at home).
    Eight mules treated at home stand out against that share, eight who see no other doctor do not
    (one in eight of every GP's travellers gets oxycodone alone), nor do six treated at home."""
    def flagged(mules, home):
        return [a["alert_id"] for a in run(region(with_collusion=False, alone=mules, treated_at_home=home)).alerts.to_pylist()]

    assert flagged(8, True) == ["pharmacy_collusion:R1"]
    [flow] = json.loads(run(region(with_collusion=False, alone=8, treated_at_home=True)).alerts.to_pylist()[0]["evidence"])["flows"]
    assert flow["prescriber_id"] == "H1" and flow["elsewhere_watched"] == 9 and flow["elsewhere_expected"] < 2
    assert flagged(8, False) == [] and flagged(6, True) == []
    assert flagged(0, True) == []       # the honest GPs' travellers seen by a GP at home too are left alone


def hospital_town(mules: int = 0):
    """A town (69400) with a hospital (HOSP) and five pharmacies: its four cardiologists (CARD1-CARD4,
    at the hospital) see 300 patients of the town each, who fill near home (T1-T4 evenly, next to
    the hospital, HOSPPH, one time in fifty), and 40 from the other towns each, who fill next to
    the hospital nine times in ten, at home otherwise; a cardiologist practising privately in the
    town (CARD5) sees 300 of its patients, who fill alike; the honest towns of `honest_towns` beside.
    CARD1 also sends `mules` patients from the other towns to T1 for oxycodone."""
    r = Region()
    r.service(OXY, "drug", "oxycodone", watch=True)
    r.service(PARA, "drug", "paracetamol")
    honest_towns(r, TOWNS)
    r.add("centres", centre_id="HOSP", kind="hospital", postcode="69400")
    for p in ("HOSPPH", "T1", "T2", "T3", "T4"):
        r.provider(p, "pharmacy", postcode="69400")
    for c in range(1, 6):
        doc = f"CARD{c}"
        r.provider(doc, "physician", "cardiology", "69400")
        if c < 5:
            r.add("affiliations", provider_id=doc, centre_id="HOSP", role="fulltime_hospital")
        for i in range(300):
            pt = f"L{c}-{i}"
            r.patient(pt, "69400")
            r.claim(pt, doc, "CS", i, 30.0, centre="HOSP" if c < 5 else None)
            r.claim(pt, "HOSPPH" if i % 50 == 0 else f"T{i % 4 + 1}", PARA, i, 2.0, prescriber=doc)
        for i in range(40 if c < 5 else 0):
            t, n = i % 6, (i + 40 * c) % 240
            pt, home = f"B{t}-{n}", f"PX{t}" if n % 2 else f"PY{t}"
            r.claim(pt, doc, "CS", 100 + i, 30.0, centre="HOSP")
            r.claim(pt, "HOSPPH" if i % 10 else home, PARA, 100 + i, 2.0, prescriber=doc)
    for i in range(mules):
        pt = f"M{i}"
        r.patient(pt, TOWNS[i % 6])
        for month in range(5):
            r.claim(pt, "T1", OXY, 30 * month + i, 96.0, prescriber="CARD1", quantity=2)
    return r.tables()


def test_a_hospitals_patients_from_elsewhere_fill_next_to_it_its_towns_patients_near_home():
    """A hospital's patients who came from other towns fill next to it, its own town's near home:
    those from elsewhere are judged against the hospital's other patients from elsewhere (judged
    against all its patients, mostly of its town, the four cardiologists were flagged at the
    pharmacy next door: 168 patients where 24 were predicted, log10 p -251 each); a cardiologist
    sending patients of other towns to another pharmacy of the town is still found."""
    assert run(hospital_town()).alerts.num_rows == 0
    found = run(hospital_town(mules=12))
    assert found.alerts["alert_id"].to_pylist() == ["pharmacy_collusion:T1"]
    accused = {e["entity_id"] for e in found.entities.to_pylist() if e["role"] == "prescriber"}
    assert accused == {"CARD1"}


def remote_mules(mules: int, hiv_service: bool = False):
    """A town (50000) of five GPs (V1-V5) and two pharmacies (U1, U2): each GP's 40 patients of
    the town and 40 from two towns of the next département (51100, 51200), which come to 50000 for
    care (its laboratory, LAB, bills most of their people), one in ten of those travellers given
    oxycodone alone; all fill at U1 or U2 evenly. A remote town (59900) whose 200 people get their
    care at home. V1 also sends `mules` patients of the remote town (M0, M1…, who see no other
    doctor) to U1 for oxycodone alone. With
    `hiv_service`, a regional HIV service (two infectiologists at HOSP, 69400) whose patients of
    every town, the remote one too, fill next to it (HOSPPH) three times in four."""
    r = Region()
    r.service(OXY, "drug", "oxycodone", watch=True)
    r.service(PARA, "drug", "paracetamol")
    r.service(HIV, "drug", "HIV triple therapy", watch=True)
    r.provider("LAB", "laboratory", postcode="50000")
    for p in ("U1", "U2"):
        r.provider(p, "pharmacy", postcode="50000")
    for t, pc in enumerate(("51100", "51200", "59900")):     # each town's own GP and pharmacy
        r.provider(f"W{t}", "physician", "general_practice", pc)
        r.provider(f"WP{t}", "pharmacy", postcode=pc)
        for i in range(200):
            pt = f"Z{t}-{i}"
            r.patient(pt, pc)
            r.claim(pt, f"WP{t}", PARA, i % 300, 2.0, prescriber=f"W{t}")
            if t < 2 and i % 5:
                r.claim(pt, "LAB", "LB", i % 300, 10.0)
    for g in range(1, 6):
        gp = f"V{g}"
        r.provider(gp, "physician", "general_practice", "50000")
        for i in range(80):
            pt = f"Y{g}-{i}"
            r.patient(pt, "50000" if i < 40 else ("51100", "51200")[i % 2])
            r.claim(pt, "U1" if i % 2 else "U2", OXY if i >= 40 and i % 20 in (4, 5) else PARA, i, 2.0, prescriber=gp)
            if i >= 40 and i % 5:
                r.claim(pt, "LAB", "LB", i, 10.0)
    for i in range(mules):
        pt = f"M{i}"
        r.patient(pt, "59900")
        for month in range(5):
            r.claim(pt, "U1", OXY, 30 * month + i, 96.0, prescriber="V1", quantity=2)
    if hiv_service:
        r.add("centres", centre_id="HOSP", kind="hospital", postcode="69400")
        r.provider("HOSPPH", "pharmacy", postcode="69400")
        for k, s in enumerate(("HIV1", "HIV2")):
            r.provider(s, "physician", "infectious_diseases", "69400")
            r.add("affiliations", provider_id=s, centre_id="HOSP", role="fulltime_hospital")
            for i in range(30):
                t = i % 3
                pt = f"Z{t}-{100 + i + 30 * k}"
                r.claim(pt, s, "CS", i, 30.0, centre="HOSP")
                for month in range(4):
                    r.claim(pt, "HOSPPH" if i % 4 else f"WP{t}", HIV, 30 * month + i, 640.0, prescriber=s)
    return r.tables()


def test_mules_from_a_town_that_never_comes_weigh_more_than_travellers_from_the_towns_that_do():
    """V1's six mules and two honest travellers are 8 of 26 travellers at U1 given oxycodone alone,
    where one in ten of the town's travellers is (2.7 expected: log10 p -2.5, short of the bound
    once the five tests are corrected); but the six come from a town
    none of whose other people gets care in 50000, where the honest travellers come from the towns
    whose people do: weighed by 1 / tie, they are far beyond. The HIV service's patients of the
    same remote town, given HIV drugs alone, are judged against its other infectiologist and left
    alone; two mules prove nothing."""
    f = run(remote_mules(6, hiv_service=True))
    assert f.alerts["alert_id"].to_pylist() == ["pharmacy_collusion:U1"]
    assert {e["entity_id"] for e in f.entities.to_pylist() if e["role"] == "prescriber"} == {"V1"}
    [flow] = json.loads(f.alerts["evidence"][0].as_py())["flows"]
    assert flow["travellers_watched"] == 8 and flow["travellers_watched"] < 4 * flow["travellers_expected"]
    assert flow["remote_watched"] == 8 and flow["remote_expected"] < 1 and flow["log10_p"] < -4
    assert "weighed by how remote their homes are" in f.alerts["summary"][0].as_py()
    assert run(remote_mules(0, hiv_service=True)).alerts.num_rows == 0
    assert run(remote_mules(2, hiv_service=True)).alerts.num_rows == 0


def blank_postcodes(t, ids, table="providers", key="provider_id"):
    """The tables `t` with the postcode of the rows of `table` whose `key` is in `ids` unknown."""
    import pyarrow as pa
    import pyarrow.compute as pc
    t, rows = dict(t), t[table]
    gone = pc.if_else(pc.is_in(rows[key], pa.array(ids)), pa.scalar(None, pa.string()), rows["postcode"])
    t[table] = rows.set_column(rows.schema.get_field_index("postcode"), "postcode", gone)
    return t


@pytest.mark.parametrize("blanked", [
    ("providers", ["D2", "D3"]),            # two towns' GPs: their own towns' patients counted as travellers
    ("providers", ["HOSPPH"]),              # the pharmacy next to the hospital: never near it
    ("centres", ["HOSP"]),                  # the hospital: its patients filling next to it unexplained
    ("patients", [f"B2-{i}" for i in range(80)]),   # a town's patients: one pseudo-area of unknown homes
])
def test_an_unknown_postcode_is_neither_travel_nor_the_same_place(blanked):
    """A provider's, a centre's or a patient's blank postcode is an unknown place: not another
    area (a traveller), nor one area with every other blank (the same place). Such relations are
    left out of the tests of geography and of travel and counted in the evidence. Before
    (2026-12-02), the honest region gave 2 false alerts with D2 and D3's postcodes blank (log10 p
    -260), 1 with HOSPPH's or HOSP's (-249)."""
    table, ids = blanked
    key = {"providers": "provider_id", "centres": "centre_id", "patients": "patient_id"}[table]
    assert run(blank_postcodes(region(with_collusion=False), ids, table, key)).alerts.num_rows == 0


def test_an_unknown_postcode_in_a_group_practice_or_a_town_of_colluders_makes_no_alert():
    """A group practice's GP and a GP of the town with a blank postcode (before: KNEXT flagged,
    log10 p -11.5); the patients of a GP of a town of two pharmacies with blank postcodes (before:
    Q1 and Q2 flagged, -7.7)."""
    assert run(blank_postcodes(group_practice("GROUP-CO"), ["K1", "O1"])).alerts.num_rows == 0
    town = region(with_collusion=False, colluders=(0,))
    unknown = [f"T3-{i}" for i in range(20)] + [f"C3-{i}" for i in range(60)]
    assert run(blank_postcodes(town, unknown, "patients", "patient_id")).alerts.num_rows == 0


def test_a_ring_is_still_found_beside_unknown_postcodes_and_its_unknown_homes_are_counted():
    """Unrelated providers with blank postcodes leave the ring alone; three of its fifteen mules
    with a blank home are left out of its tests and counted in the evidence and the summary."""
    f = run(blank_postcodes(region(), ["D2", "D3", "PY2"]))
    assert f.alerts["alert_id"].to_pylist() == ["pharmacy_collusion:PX1"]
    f = run(blank_postcodes(region(), ["M0", "M1", "M2"], "patients", "patient_id"))
    assert f.alerts["alert_id"].to_pylist() == ["pharmacy_collusion:PX1"]
    [flow] = json.loads(f.alerts["evidence"][0].as_py())["flows"]
    assert flow["unknown_home"] == 3 and flow["unlocated"] == 3
    assert flow["watched_observed"] == 12 and flow["log10_p"] < -6      # the twelve mules of a known home
    assert "; 3 patient(s) of an unknown location left out of the tests of geography; " in f.alerts["summary"][0].as_py()


def test_without_any_home_the_region_is_one_area_without_any_place_nothing_is_near_or_far():
    """No patients table: every patient is of one area, the region, and the ring is still found
    (as before homes could be unknown). No provider or centre postcode at all: no pharmacy is near
    a prescriber and no patient travels — nothing to judge on where care happens (before, taken as
    one place '?', eight alerts, seven of them honest towns' pharmacies)."""
    import pyarrow as pa
    from contract.tables import empty_table
    t = dict(region())
    t["patients"] = empty_table("patients")
    assert run(t).alerts["alert_id"].to_pylist() == ["pharmacy_collusion:PX1"]
    assert run(dict(region(with_collusion=False), patients=empty_table("patients"))).alerts.num_rows == 0
    t = dict(region())
    for name in ("providers", "centres"):
        rows = t[name]
        t[name] = rows.set_column(rows.schema.get_field_index("postcode"), "postcode", pa.nulls(rows.num_rows, pa.string()))
    assert run(t).alerts.num_rows == 0


def test_the_summary_tells_the_strongest_test_by_where_its_excess_lies():
    """A ring's flow whose watched molecules, combined over home areas, are far beyond (log10 p
    −8.4) while its total is below the total its areas predict (10 where 32: its prescriber's
    patients of other areas fill elsewhere) is told by its areas beyond their share (8 where 0.5),
    not by a weak test that happens to count more in all (9 where 7.5, log10 p −0.85): a fresh
    user's review found the ring summarised by the weak one."""
    from graph.pharmacy_collusion import _strongest
    t = lambda name, o, e, p, **beyond: {"test": name, "observed": o, "expected": e, "log10_p": p, **beyond}
    flow = {"tests": [t("all", 10, 603, -0.1, areas_beyond_observed=2, areas_beyond_expected=1.9),
                      t("watched", 10, 32, -8.4, areas_beyond_observed=8, areas_beyond_expected=0.5),
                      t("travellers", 0, None, None), t("elsewhere", 9, 7.5, -0.85), t("remote", 0, None, None)]}
    assert _strongest([flow], None) == ("8 patient(s) given watched molecules (of the home areas beyond their share) "
                                        "where their homes and where they were prescribed predict 0.5")
