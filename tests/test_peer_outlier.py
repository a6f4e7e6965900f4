"""peer_outlier on hand-built claims: the outliers it finds, large and small, and the honest heavy
care it leaves alone (a busy practice, twice-a-day billing, a nursing-home team, long courses
prescribed by a neurologist)."""
import json

from graph.model import build_graph
from graph.peer_outlier import detect_peer_outliers
from graph.settings import PeerOutlierSettings
from graph.shared import build_shared

from .builders import Region


def region():
    r = Region()
    r.service("AMK8", "act", "physiotherapy session")
    r.service("AMI1", "act", "nursing: injection")
    r.service("VG", "act", "GP home visit")
    r.service("DRUG", "drug", "a drug")
    r.provider("GP", "physician", "general_practice")
    r.provider("NEURO", "physician", "neurology")
    for i in range(8):                       # peers: 12 to 14 sessions per patient, prescribed by the GP
        r.provider(f"K{i}", "physiotherapist")
        for p in range(15):
            for k in range(12 + (p + i) % 3):
                r.claim(f"P{i}-{p}", f"K{i}", "AMK8", 2 * k, 17.2, prescriber="GP")
    r.provider("BUSY", "physiotherapist")    # many patients, usual volume each
    for p in range(100):
        for k in range(13):
            r.claim(f"B{p}", "BUSY", "AMK8", 2 * k, 17.2, prescriber="GP")
    r.provider("OUT", "physiotherapist")     # 45 sessions per patient
    for p in range(20):
        for k in range(45):
            r.claim(f"O{p}", "OUT", "AMK8", 3 * k, 17.2, prescriber="GP")
    r.provider("SIX", "physiotherapist")     # a small practice: six patients, 45 sessions each
    r.provider("TWO", "physiotherapist")     # two patients only: 45 sessions each
    for pid, n in (("SIX", 6), ("TWO", 2)):
        for p in range(n):
            for k in range(45):
                r.claim(f"{pid}{p}", pid, "AMK8", 3 * k, 17.2, prescriber="GP")
    r.provider("TWICE", "physiotherapist")   # 13 days per patient, billed twice a day: double billing's business
    for p in range(15):
        for k in range(13):
            r.claim(f"W{p}", "TWICE", "AMK8", 2 * k, 17.2, prescriber="GP")
            r.claim(f"W{p}", "TWICE", "AMK8", 2 * k, 17.2, prescriber="GP")
    r.provider("REHAB", "physiotherapist")   # neuro-rehabilitation: 90 sessions a stroke patient, on a neurologist's prescription
    for p in range(12):
        for k in range(90):
            r.claim(f"S{p}", "REHAB", "AMK8", 7 * (k // 3) + 2 * (k % 3), 17.2, prescriber="NEURO")
    for i in range(6):                       # nurses: injections for 10 to 20 days
        r.provider(f"N{i}", "nurse")
        for p in range(20):
            for k in range(10 + (p * 7 + i) % 11):
                r.claim(f"Q{i}-{p}", f"N{i}", "AMI1", 5 + k, 3.15, prescriber="GP")
    for i in range(3):                       # a nursing home's team: its 25 residents nursed daily in turn,
        r.provider(f"HOME{i}", "nurse")      # and the team's physiotherapist twice a week
    r.provider("HOMEK", "physiotherapist")
    for p in range(25):
        for d in range(300):
            r.claim(f"R{p}", f"HOME{(d + p) % 3}", "AMI1", d, 3.15, prescriber="GP")
        for d in range(0, 300, 3):
            r.claim(f"R{p}", "HOMEK", "AMK8", d, 17.2, prescriber="GP")
    for i in range(8):                       # pharmacies: one dispenses far more per patient
        r.provider(f"PH{i}", "pharmacy")
        for p in range(20):
            for k in range(30 if i == 0 else 2):
                r.claim(f"D{i}-{p}", f"PH{i}", "DRUG", k, 5.0)
    return r.tables()


def run(settings=PeerOutlierSettings(), t=None):
    t = t or region()
    return detect_peer_outliers(t, build_shared(t, build_graph(t)), settings)


def test_finds_the_outliers_large_and_small_and_not_the_honest_heavy_care():
    f = run()
    assert [a["alert_id"] for a in f.alerts.to_pylist()] == ["peer_outlier:OUT", "peer_outlier:SIX"]
    # left alone: BUSY, TWICE (days, not lines), TWO (two patients cannot be told from chance),
    # REHAB (a neurologist's courses), the nursing-home team HOME0-2 and HOMEK (residents cared
    # for by several providers), the nurses


def test_the_alert_states_the_test_and_the_excess():
    a = run().alerts.to_pylist()[0]
    assert a["summary"].startswith("Provider OUT billed physiotherapy session on 45.0 days per patient to 20 patients; "
                                   "20 of them beyond the 90.0% quantile of physiotherapist peers' patients alike, "
                                   "where ")
    act = json.loads(a["evidence"])["acts"][0]
    assert (act["patients"], act["beyond"], act["quantile"]) == (20, 20, 0.9)
    assert act["log10_p"] < -6
    # 45 days against the peers' median of 13, for 20 patients, at 17.20 a day
    assert a["score"] == a["excess_euros"] == round((45 - 13) * 20 * 17.2, 2)


def test_small_counts_six_patients_are_enough_two_are_not():
    """All six beyond the peers' 90 % quantile: about 10⁻⁶ under the null; two: 10⁻²."""
    ev = {a["alert_id"]: json.loads(a["evidence"]) for a in run().alerts.to_pylist()}
    assert ev["peer_outlier:SIX"]["acts"][0]["patients"] == 6
    assert "peer_outlier:TWO" not in ev


def test_drugs_are_judged_only_when_asked():
    ids = {a["alert_id"] for a in run(PeerOutlierSettings(acts_only=False)).alerts.to_pylist()}
    assert ids == {"peer_outlier:OUT", "peer_outlier:SIX", "peer_outlier:PH0"}


def test_too_few_peers_judges_nothing():
    assert run(PeerOutlierSettings(min_peers=30)).alerts.num_rows == 0


def test_standing_and_determinism():
    a, b = run(), run()
    assert a.alerts.equals(b.alerts) and a.entities.equals(b.entities)
    assert {(e["entity_id"], e["standing"]) for e in a.entities.to_pylist()} == {("OUT", "accused"), ("SIX", "accused")}


def physio_peers() -> Region:
    """A region of eight physiotherapists billing 12 to 14 sessions a patient through four centres
    C0 to C3 (15 patients each, prescribed by GP)."""
    r = Region()
    r.service("AMK8", "act", "physiotherapy session")
    r.provider("GP", "physician", "general_practice")
    for i in range(8):
        r.provider(f"K{i}", "physiotherapist")
        for p in range(15):
            for k in range(12 + (p + i) % 3):
                r.claim(f"P{i}-{p}", f"K{i}", "AMK8", 2 * k, 17.2, prescriber="GP", centre=f"C{i % 4}")
    return r


def test_the_centre_billed_through_is_named_as_a_participant():
    """A physiotherapist of a centre billing 45 sessions per patient through it, against peers of
    other centres billing 12 to 14: the alert accuses the provider and names the centre paid for
    the excess (the lead to whoever runs it); a provider billing privately names no centre."""
    r = physio_peers()
    r.provider("CEN", "physiotherapist")
    for p in range(20):
        for k in range(45):
            r.claim(f"O{p}", "CEN", "AMK8", 3 * k, 17.2, prescriber="GP", centre="CX")
    f = run(t=r.tables())
    assert [a["alert_id"] for a in f.alerts.to_pylist()] == ["peer_outlier:CEN"]
    named = {(e["entity_type"], e["entity_id"], e["standing"], e["excess_euros"]) for e in f.entities.to_pylist()}
    excess = f.alerts["excess_euros"][0].as_py()
    assert named == {("provider", "CEN", "accused", None), ("centre", "CX", "participant", excess)}
    assert json.loads(f.alerts["evidence"][0].as_py())["acts"][0]["centre_id"] == "CX"


def centre_region(beyond_at_cy: int, own_act: bool = False, own: str = "OWN"):
    """Eight physiotherapists billing 12 to 14 sessions a patient through four centres; centre CY,
    whose three physiotherapists bill through it, `beyond_at_cy` of them 45 sessions a patient
    and the others 13; OWN, alone beyond its two honest colleagues at centre CZ. With `own_act`,
    a second act (AMK9, a balneotherapy session) the eight bill privately on 2 or 3 days a
    patient, and Y0 on 20. `own`: OWN's id."""
    r = physio_peers()
    for centre, staff in (("CY", [(f"Y{j}", 45 if j < beyond_at_cy else 13) for j in range(3)]),
                          ("CZ", [(own, 45), ("Z1", 13), ("Z2", 13)])):
        for pid, sessions in staff:
            r.provider(pid, "physiotherapist")
            for p in range(20):
                for k in range(sessions):
                    r.claim(f"{pid}-{p}", pid, "AMK8", 3 * k, 17.2, prescriber="GP", centre=centre)
    if own_act:
        r.service("AMK9", "act", "balneotherapy session")
        for pid, sessions in [(f"K{i}", 2 + i % 2) for i in range(8)] + [("Y0", 20)]:
            for p in range(15):
                for k in range(sessions):
                    r.claim(f"{pid}-bath-{p}", pid, "AMK9", 5 * k + 1, 12.0, prescriber="GP")
    return r.tables()


def test_an_excess_shared_by_a_centres_practitioners_accuses_the_centre():
    """Two of a centre's three physiotherapists 45 sessions a patient through it: the centre's
    billing, one alert about the centre (`peer_outlier:centre:CY`), the centre accused and each
    practitioner a participant with its own part; its score the sum of theirs. OWN, beyond its two
    honest colleagues at its centre, stays accused, its centre a participant. One of CY's three
    beyond alone is its own excess (at least two, and half, of a centre's practitioners make it
    the centre's). Honest Y2, Z1 and Z2 are named nowhere."""
    f = run(t=centre_region(2))
    assert [a["alert_id"] for a in f.alerts.to_pylist()] == ["peer_outlier:centre:CY", "peer_outlier:OWN"]
    named = {(e["alert_id"].split(":", 1)[1], e["entity_id"], e["standing"], e["excess_euros"])
             for e in f.entities.to_pylist()}
    cy, own = f.alerts.to_pylist()
    each = own["score"]                          # 45 sessions against 13, 20 patients: the same excess each
    assert cy["score"] == cy["excess_euros"] == 2 * each
    assert named == {("OWN", "OWN", "accused", None), ("OWN", "CZ", "participant", each),
                     ("centre:CY", "CY", "accused", 2 * each),
                     ("centre:CY", "Y0", "participant", each), ("centre:CY", "Y1", "participant", each)}
    acts = json.loads(cy["evidence"])["acts"]
    assert [(a["provider_id"], a["service_code"], a["centre_colleagues"], a["centre_beyond"], a["centre_billing"])
            for a in acts] == [("Y0", "AMK8", 3, 2, True), ("Y1", "AMK8", 3, 2, True)]
    assert cy["summary"].startswith("Centre CY: 2 of the 3 practitioners (physiotherapist) billing physiotherapy "
                                    "session through it are beyond their peers on it, the centre's billing; provider "
                                    "Y1 billed it on 45.0 days per patient to 20 patients; ")
    one = run(t=centre_region(1))
    assert {(e["alert_id"], e["entity_id"], e["standing"]) for e in one.entities.to_pylist()} == {
        ("peer_outlier:OWN", "OWN", "accused"), ("peer_outlier:OWN", "CZ", "participant"),
        ("peer_outlier:Y0", "Y0", "accused"), ("peer_outlier:Y0", "CY", "participant")}


def test_a_practitioner_of_an_accused_centre_keeps_its_own_alert_for_its_own_excess():
    """Y0 takes part in its centre's excess (AMK8, with Y1) and stands out alone on an act it bills
    privately (AMK9, 20 sessions where peers bill 2 or 3): two alerts, the centre's naming Y0 a
    participant on AMK8 only, and Y0's own accusing it on AMK9 only, with no centre."""
    f = run(t=centre_region(2, own_act=True))
    ids = [a["alert_id"] for a in f.alerts.to_pylist()]
    assert sorted(ids) == ["peer_outlier:OWN", "peer_outlier:Y0", "peer_outlier:centre:CY"]
    ev = {a["alert_id"]: json.loads(a["evidence"])["acts"] for a in f.alerts.to_pylist()}
    assert [(a["provider_id"], a["service_code"]) for a in ev["peer_outlier:Y0"]] == [("Y0", "AMK9")]
    assert [(a["provider_id"], a["service_code"]) for a in ev["peer_outlier:centre:CY"]] == [("Y0", "AMK8"),
                                                                                             ("Y1", "AMK8")]
    assert {(e["entity_id"], e["standing"]) for e in f.entities.to_pylist() if e["alert_id"] == "peer_outlier:Y0"} \
        == {("Y0", "accused")}


def test_a_provider_whose_id_reads_as_a_centres_alert_keeps_an_alert_of_its_own():
    """A provider id is the data's: OWN named `centre:CY` (a mapped extract's id) would have had
    the alert id of centre CY's alert, the two alerts one in every file. Its own alert is
    `peer_outlier:provider:centre:CY`, beside the centre's; its entities are its own."""
    f = run(t=centre_region(2, own="centre:CY"))
    assert [a["alert_id"] for a in f.alerts.to_pylist()] == ["peer_outlier:centre:CY", "peer_outlier:provider:centre:CY"]
    assert {(e["entity_id"], e["standing"]) for e in f.entities.to_pylist()
            if e["alert_id"] == "peer_outlier:provider:centre:CY"} == {("centre:CY", "accused"), ("CZ", "participant")}
    assert {(e["entity_id"], e["standing"]) for e in f.entities.to_pylist()
            if e["alert_id"] == "peer_outlier:centre:CY"} == {("CY", "accused"), ("Y0", "participant"),
                                                              ("Y1", "participant")}


def forfait_region(over: bool = True):
    """Daily nursing forfaits: twelve home-nursing practices of two nurses, each with ten dependent
    patients nursed on 300 days, the main nurse on three or four days in five and her colleague on
    the others (60 or 75 days); a nursing home whose two nurses share its 20 residents' 300 days
    (every other day each); with `over`, OVER, the second nurse of 10 patients whose main nurse
    already bills them 240 days, adding 200 days of her own."""
    r = Region()
    r.service("FORF", "act", "daily nursing forfait")
    r.provider("GP", "physician", "general_practice")
    for i in range(12):
        r.provider(f"A{i}", "nurse")
        r.provider(f"B{i}", "nurse")
        for p in range(10):
            every = 4 + (p + i) % 2                     # the colleague: every 4th or 5th day
            for d in range(300):
                r.claim(f"H{i}-{p}", f"B{i}" if d % every == 0 else f"A{i}", "FORF", d, 20.0, prescriber="GP")
    r.provider("NH1", "nurse")
    r.provider("NH2", "nurse")
    for p in range(20):
        for d in range(300):
            r.claim(f"R{p}", "NH2" if (d + p) % 2 == 0 else "NH1", "FORF", d, 20.0, prescriber="GP")
    if not over:
        return r.tables()
    r.provider("MAIN", "nurse")
    r.provider("OVER", "nurse")
    for p in range(10):
        for d in range(300):
            if d % 5:
                r.claim(f"V{p}", "MAIN", "FORF", d, 20.0, prescriber="GP")
            if d % 3:
                r.claim(f"V{p}", "OVER", "FORF", d, 20.0, prescriber="GP")
    return r.tables()


def test_a_daily_forfait_shared_by_a_team_is_not_an_outlier_but_one_added_on_top_is():
    """A nursing home's second nurse bills a resident 150 days of a daily forfait where home
    practices' second nurses bill 60 or 75: beyond them, but the resident's own days (300, every
    day) are those of every dependent patient — a team sharing the days, not more care (the
    nursing home's 150 days stay in the others' yardstick). OVER's patients get 440 provider-days
    of forfait where others get 300: both its own days and its patients' are beyond, and it is
    found."""
    assert run(t=forfait_region(over=False)).alerts.num_rows == 0
    assert [a["alert_id"] for a in run(t=forfait_region()).alerts.to_pylist()] == ["peer_outlier:OVER"]



def tied_region():
    """Dentists filling teeth: 20 peers of 30 patients each, most patients filled on 1 or 2 days,
    4 to 6 of each peer's on 3 days, one on 4 — the peers' 90 % quantile is 3 days, a value a
    fifth of their patients reach; ALL3 fills each of its 30 patients on exactly 3 days; HEAVY,
    honest, has 9 of 30 on 3 days; BIG, honest, 300 patients of whom a quarter on 3 days."""
    r = Region()
    r.service("FILL", "act", "filling")
    mixes = {f"D{i}": [1] * (18 - i % 3) + [2] * 6 + [3] * (5 + i % 3) + [4] for i in range(20)}
    mixes["ALL3"] = [3] * 30
    mixes["HEAVY"] = [1] * 12 + [2] * 8 + [3] * 9 + [4]
    mixes["BIG"] = ([1] * 15 + [2] * 7 + [3] * 7 + [4]) * 10
    for dentist, days in mixes.items():
        r.provider(dentist, "dentist", "general_dentistry")
        for p, n in enumerate(days):
            for d in range(n):
                r.claim(f"{dentist}-{p}", dentist, "FILL", 30 * d, 25.0)
    return r.tables()


def test_patients_tied_at_the_peers_quantile_count_and_honest_heavier_mixes_are_left_alone():
    """Days are whole numbers: where the peers' 90 % quantile is a value a fifth of their patients
    share (3 days), ALL3, whose every patient sits exactly there, is beyond no one, yet all 30 of
    its patients are in the peers' top fifth (0.2³⁰): found, counted at or beyond the quantile.
    HEAVY (9 of 30 there) and BIG (75 of 300, a list ten times as long) differ from their peers as
    honest practices do: left alone."""
    f = run(t=tied_region())
    assert [a["alert_id"] for a in f.alerts.to_pylist()] == ["peer_outlier:ALL3"]
    act = json.loads(f.alerts["evidence"][0].as_py())["acts"][0]
    assert (act["patients"], act["beyond"], act["quantile"], act["at_quantile"]) == (30, 30, 0.9, True)
    assert "30 of them at or beyond the 90.0% quantile" in f.alerts["summary"][0].as_py()


def rota_region():
    """Home nursing: twelve nurses N0-N11 dressing wounds of 15 patients each on 10 to 14 days, and
    3 to 5 days of each of the next nurse's patients (a second nurse, not the main one); a
    practice of two nurses R1 and R2 who take turns on their 15 patients' daily care (CARE, one of
    them a day, 300 days: each the other's weekly carer) and each dress their wounds on 60 days
    of its own, drawn apart from the other's (the same day as often as chance)."""
    import random
    rnd = random.Random(7)
    r = Region()
    r.service("WOUND", "act", "nursing: wound dressing")
    r.service("CARE", "act", "nursing: daily care forfait")
    r.provider("GP", "physician", "general_practice")
    for i in range(12):
        r.provider(f"N{i}", "nurse", "home_nursing")
    for i in range(12):
        for p in range(15):
            for k in range(10 + (p + i) % 5):
                r.claim(f"W{i}-{p}", f"N{i}", "WOUND", 3 * k, 6.3, prescriber="GP")
            for k in range(3 + p % 3):
                r.claim(f"W{i}-{p}", f"N{(i + 1) % 12}", "WOUND", 3 * k + 1, 6.3, prescriber="GP")
    r.provider("R1", "nurse", "home_nursing")
    r.provider("R2", "nurse", "home_nursing")
    for p in range(15):
        for d in range(300):
            r.claim(f"R-{p}", "R1" if (d + p) % 2 else "R2", "CARE", d, 13.0, prescriber="GP")
        for nurse in ("R1", "R2"):
            for d in sorted(rnd.sample(range(300), 60)):
                r.claim(f"R-{p}", nurse, "WOUND", d, 6.3, prescriber="GP")
    return r.tables()


def test_colleagues_adding_days_to_each_others_do_not_corroborate_each_other():
    """R1 and R2 take turns on their patients' daily care (a rota: never the same day), so each is
    the other's weekly carer; on wound dressing they bill the same patients on the same days as
    often as independent carers would — each adds days to the other's, not one replacing the
    other — and neither counts as an independent carer corroborating the patients' heavy use:
    their 60 days are judged against the peers' patients without other carers (10 to 14 days for
    the main nurse, 3 to 5 for a second) and both are found. Counted as each other's carer, their
    patients would be alone in their stratum, too few to judge. The twelve peers are left alone;
    the nursing home's nurses taking turns on a forfait stay each other's carers
    (`test_a_daily_forfait_shared_by_a_team_is_not_an_outlier_but_one_added_on_top_is`)."""
    f = run(t=rota_region())
    assert sorted(a["alert_id"] for a in f.alerts.to_pylist()) == ["peer_outlier:R1", "peer_outlier:R2"]
    for a in f.alerts.to_pylist():
        [act] = json.loads(a["evidence"])["acts"]
        assert (act["service_code"], act["patients"], act["days"]) == ("WOUND", 15, 900)


def scaling_region():
    """Dentists scaling teeth, most patients once a year: twenty peers of 300 patients, of whom 2 %
    to 11 % are scaled twice (a practice's habit: patients of a small town come back); HABIT, 750
    patients, 16 % of them twice; TWICE, 200 patients, 60 % of them twice. The peers' 90 % quantile
    is one day, their median's value: beyond it is at or beyond two days."""
    r = Region()
    r.service("SCALE", "act", "dental scaling")
    shares = {f"D{i}": (300, 2 + i // 2) for i in range(20)}      # percent scaled twice
    shares.update(HABIT=(750, 16), TWICE=(200, 60))
    for dentist, (patients, pct) in shares.items():
        r.provider(dentist, "dentist", "dental_surgery")
        for p in range(patients):
            for d in range(2 if p % 100 < pct else 1):
                r.claim(f"{dentist}-{p}", dentist, "SCALE", 40 + 180 * d, 28.9)
    return r.tables()


def test_beyond_a_quantile_tied_with_the_median_is_judged_with_the_practices_spread():
    """Where the peers' 90 % quantile is one day, as their median, the patients beyond it are
    those scaled twice, a share that differs between honest practices (2 % to 11 %) more than
    chance: it is judged beta-binomial with that spread. HABIT (16 % of 750, binomially far beyond
    the peers' 6 %) is left alone; TWICE (60 % of 200) is found."""
    f = run(t=scaling_region())
    assert [a["alert_id"] for a in f.alerts.to_pylist()] == ["peer_outlier:TWICE"]
    [act] = json.loads(f.alerts["evidence"][0].as_py())["acts"]
    assert (act["patients"], act["beyond"], act["quantile"], act["at_quantile"]) == (200, 120, 0.9, False)
