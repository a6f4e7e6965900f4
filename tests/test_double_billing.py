"""double_billing on hand-built claims: what it must find, the honest look-alikes it must leave
alone, and how it judges small counts."""
import json
from datetime import date, timedelta

import pyarrow as pa

from contract.tables import TABLES
from graph.double_billing import detect_double_billing
from graph.model import build_graph
from graph.settings import DoubleBillingSettings
from graph.shared import build_shared

from .conftest import tables_of

D0 = date(2025, 1, 1)


def day(k):
    return D0 + timedelta(days=k)


def claims(rows):
    cols = ("claim_id", "patient_id", "provider_id", "prescriber_id", "centre_id", "service_code",
            "service_date", "amount", "quantity")
    data = [dict(zip(cols, (f"C{i:05d}", *r))) for i, r in enumerate(rows)]
    return pa.Table.from_pylist(data, TABLES["claims"].schema)


def line(patient, provider, code, k, amount, prescriber=None, centre=None):
    return (patient, provider, prescriber, centre, code, day(k), amount, 1)


def region():
    """Dentists, GPs, nurses and laboratories with their honest same-day habits, a re-billing
    dentist, a re-billing GP, small dentists, and a hospital with its doctors."""
    rows = []
    for d in range(14):                                  # honest dentists: one crown a patient-day
        rows += [line(f"P{d}-{k}", f"DENT{d}", "CROWN", k, 120.0) for k in range(60)]
    rows += [line(f"PX-{k}", "CHEAT", "CROWN", k, 120.0) for k in range(60)]
    rows += [line(f"PX-{k}", "CHEAT", "CROWN", k, 120.0) for k in range(0, 60, 4)]      # 15 re-billed
    rows += [line(f"PS-{k}", "SMALL4", "CROWN", k, 120.0) for k in range(6)]            # 4 of 6 re-billed
    rows += [line(f"PS-{k}", "SMALL4", "CROWN", k, 120.0) for k in range(4)]
    rows += [line(f"PT-{k}", "SMALL1", "CROWN", k, 120.0) for k in range(5)]            # 1 of 5 re-billed
    rows += [line("PT-0", "SMALL1", "CROWN", 0, 120.0)]
    for g in range(6):                                   # GPs seeing 0 to 3 % of patients twice a day
        rows += [line(f"G{g}-{k}", f"GP{g}", "G", k % 300, 26.5) for k in range(400)]
        rows += [line(f"G{g}-{k}", f"GP{g}", "G", k % 300, 26.5) for k in range(0, 2 * g + 1)]
    rows += [line(f"GX-{k}", "GPX", "G", k % 300, 26.5) for k in range(400)]
    rows += [line(f"GX-{k}", "GPX", "G", k % 300, 26.5) for k in range(0, 400, 8)]     # 50 re-billed
    for n, share in ((1, 1.0), (2, 1.0), (3, 0.6), (4, 0.0)):   # insulin twice a day, or not at all
        for k in range(60):
            rows += [line(f"I{n}-{k // 20}", f"NURSE{n}", "AMI1", k, 3.15, prescriber="GP0")]
            if k < 60 * share:
                rows += [line(f"I{n}-{k // 20}", f"NURSE{n}", "AMI1", k, 3.15, prescriber="GP0")]
    for lab, curves in (("LAB1", 6), ("LAB2", 12), ("LAB3", 30), ("LAB4", 3)):   # glucose curves: 3 tests a day
        rows += [line(f"{lab}-{k}", lab, "GLU", k % 300, 2.7, prescriber="GP0") for k in range(300)]
        rows += [line(f"{lab}-{k}", lab, "GLU", k % 300, 2.7, prescriber="GP0") for k in range(curves) for _ in range(2)]
    # the hospital billed patients R0..R39 through full-time DOC1, DOC3 and part-time DOC2
    rows += [line(f"R{k}", "DOC1", "CS", k, 30.0, centre="H1") for k in range(20)]
    rows += [line(f"R{k}", "DOC2", "CS", k, 30.0, centre="H1") for k in range(20, 30)]
    rows += [line("R40", "DOC3", "CS", k, 30.0, centre="H1") for k in range(0, 300, 2)]   # a patient there every other day
    rows += [line(f"R{k}", "DOC1", "CS", k, 30.0) for k in (3, 7, 11, 13, 17)]            # DOC1 bills them privately
    rows += [line(f"R{k}", "DOC2", "CS", k, 30.0) for k in (20, 21, 22)]                 # DOC2 is part-time
    rows += [line("R40", "DOC3", "CS", 10, 30.0)]      # DOC3 sees that patient privately once, on a hospital day
    rows += [line("R5", "DOC1", "CS", 100, 30.0)]                                        # private, not a hospital day
    return claims(rows)


AFFILIATIONS = pa.Table.from_pylist([
    {"provider_id": p, "centre_id": "H1", "role": role, "start_date": None, "end_date": None}
    for p, role in (("DOC1", "fulltime_hospital"), ("DOC2", "parttime_hospital"), ("DOC3", "fulltime_hospital"))
], TABLES["affiliations"].schema)


def run(c=None, settings=DoubleBillingSettings()):
    t = tables_of(claims=region() if c is None else c, affiliations=AFFILIATIONS)
    return detect_double_billing(t, build_shared(t, build_graph(t)), settings)


def billers(f):
    return {e["entity_id"] for e in f.entities.to_pylist() if e["role"] == "biller"}


def test_finds_the_rebilling_dentist_and_gp_and_not_the_honest_repeats():
    f = run()
    rebilled = {a["alert_id"] for a in f.alerts.to_pylist() if a["alert_id"].startswith("double_billing:rebilled:")}
    assert rebilled == {"double_billing:rebilled:CHEAT", "double_billing:rebilled:GPX", "double_billing:rebilled:SMALL4"}
    # look-alikes: twice-daily insulin (nurses 1-3), a GP's occasional second visit (GP0-GP5),
    # glucose curves (three tests a day, one laboratory doing ten times as many as another)
    assert not billers(f) & {"NURSE1", "NURSE2", "NURSE3", "NURSE4", "LAB1", "LAB2", "LAB3", "LAB4",
                             *(f"GP{g}" for g in range(6)), *(f"DENT{d}" for d in range(14))}


def test_the_alert_states_the_test_and_scores_the_euros_beyond_the_usual_rate():
    a = next(a for a in run().alerts.to_pylist() if a["alert_id"] == "double_billing:rebilled:CHEAT")
    ev = json.loads(a["evidence"])
    act = ev["acts"][0]
    assert (act["service_code"], act["groups"], act["repeated"]) == ("CROWN", 60, 15)
    assert act["usual_rate"] < 0.01 and act["log10_p"] < -10
    assert a["score"] == round((15 - act["expected"]) * 120.0, 4) and a["excess_euros"] == round(a["score"], 2)
    assert a["summary"].startswith("Provider CHEAT billed 15 line(s) twice for the same patient, act and day; on act "
                                   "CROWN 15 of 60 patient-days repeat where peers' usual rate predicts 0.")
    first = ev["examples"][0]
    assert first["patient_id"] == "PX-0" and first["service_date"] == "2025-01-01" and len(first["claim_ids"]) == 2
    roles = {(e["entity_id"], e["role"], e["standing"]) for e in run().entities.to_pylist()
             if e["alert_id"] == "double_billing:rebilled:CHEAT"}
    assert ("CHEAT", "biller", "accused") in roles and ("PX-0", "billed_twice", "victim") in roles


def test_small_counts_are_judged_with_their_uncertainty():
    """Four re-billed of six patient-days is beyond doubt; one of five is not (still reported
    nowhere, since a crown repeats by chance now and then)."""
    flagged = billers(run())
    assert "SMALL4" in flagged and "SMALL1" not in flagged


def test_a_repeat_as_common_as_among_peers_is_not_flagged():
    """If every dentist repeated crowns as often as CHEAT, the usual rate explains it."""
    rows = []
    for dentist in ("DENT1", "DENT2", "DENT3", "CHEAT"):
        rows += [line(f"P{k}", dentist, "CROWN", k, 120.0) for k in range(40)]
        rows += [line(f"P{k}", dentist, "CROWN", k, 120.0) for k in range(0, 40, 4)]
    assert run(claims(rows)).alerts.num_rows == 0


def test_cross_channel_full_time_practitioner_with_the_path_and_both_claims():
    f = run()
    alerts = {a["alert_id"]: a for a in f.alerts.to_pylist()}
    assert [k for k in alerts if k.startswith("double_billing:hospital:")] == ["double_billing:hospital:DOC1:H1"]
    # DOC2 is part-time; DOC3's one private visit of a patient at the hospital every other day is
    # a coincidence half the time: one match cannot be told from chance
    a = alerts["double_billing:hospital:DOC1:H1"]
    assert a["summary"].startswith("Full-time hospital practitioner DOC1 billed privately 5 service(s) (€150.00) to "
                                   "patients that hospital H1 billed the same day (5 for the same act), where "
                                   "coincidence predicts 0.")
    ev = json.loads(a["evidence"])
    assert ev["matches"] == 5 and ev["private_claims"] == 6
    path = ev["paths"][0]
    assert path["nodes"] == ["provider:DOC1", "centre:H1", "patient:R3", "provider:DOC1"]
    assert path["rels"] == ["WORKS_AT", "BILLED", "BILLED"]
    src = {r["claim_id"]: r for r in region().to_pylist()}
    assert src[path["hospital_claim_id"]]["centre_id"] == "H1"
    assert src[path["private_claim_id"]]["centre_id"] is None
    roles = {(e["entity_type"], e["entity_id"], e["role"], e["standing"]) for e in f.entities.to_pylist()
             if e["alert_id"] == "double_billing:hospital:DOC1:H1"}
    assert {("provider", "DOC1", "biller", "accused"), ("centre", "H1", "hospital", "victim")} <= roles


def test_a_stricter_false_discovery_rate_keeps_only_the_strongest():
    ids = {a["alert_id"] for a in run(settings=DoubleBillingSettings(fdr=1e-12)).alerts.to_pylist()}
    assert "double_billing:rebilled:CHEAT" in ids and "double_billing:rebilled:SMALL4" not in ids


def test_deterministic():
    a, b = run(), run()
    assert a.alerts.equals(b.alerts) and a.entities.equals(b.entities)


def stays():
    """Hospital attending physicians billing one visit a day of each stay (five days, a patient
    each), every one of them with one patient's two overlapping stays (3 days billed twice: an
    episode of one patient, honest); STAY's overlap is 15 days (one longer episode: 15 repeats
    where its peers' rate predicts 3, all one patient's); CHEAT re-bills 5 days of each of 7
    patients besides its own episode.
    Home nurses billing a daily forfait to three patients each for 100 days, re-billing none;
    NURSEX re-bills 15 scattered days of each of its three patients; NURSE1 bills every day of
    one patient twice (100 repeats, all one patient's)."""
    rows = []
    for doc in [f"ATT{a}" for a in range(10)] + ["STAY", "CHEAT"]:
        rows += [line(f"{doc}-{p}", doc, "VIS", 5 * p + j, 22.0, centre="H2") for p in range(100) for j in range(5)]
        rows += [line(f"{doc}-S", doc, "VIS", 200 + j, 22.0, centre="H2")
                 for j in range(15 if doc == "STAY" else 3) for _ in range(2)]
    rows += [line(f"CHEAT-{p}", "CHEAT", "VIS", 5 * p + j, 22.0, centre="H2") for p in range(0, 70, 10) for j in range(5)]
    for nurse in [f"NF{a}" for a in range(12)] + ["NURSEX", "NURSE1"]:
        rows += [line(f"{nurse}-{p}", nurse, "AMI4", k, 13.0) for p in range(3) for k in range(100)]
    rows += [line(f"NURSEX-{p}", "NURSEX", "AMI4", k, 13.0) for p in range(3) for k in range(p, 100, 7)]
    rows += [line("NURSE1-0", "NURSE1", "AMI4", k, 13.0) for k in range(100)]
    return claims(rows)


def test_repeats_in_episodes_are_judged_as_the_peers_episodes_come():
    """On an act whose providers' honest repeats come in one patient's episodes (overlapping
    stays), a provider with the same episode is left alone and one re-billing seven patients'
    stays is found (the peers' design effect, about their mean stay); on an act whose providers'
    repeats are never one patient's, a nurse billing every day of one patient twice is found —
    its own clustering never excuses it (the fresh user's review of 2026-12-02: a physiotherapist
    re-billing all 63 sessions of one patient went unflagged when the design effect was the
    provider's own) — and so is one re-billing scattered days of each of her patients."""
    f = run(stays())
    assert billers(f) == {"CHEAT", "NURSEX", "NURSE1"}       # STAY's counts alone were beyond (its 15 of 515)
    acts = {a["alert_id"]: json.loads(a["evidence"])["acts"][0] for a in f.alerts.to_pylist()}
    cheat = acts["double_billing:rebilled:CHEAT"]
    assert cheat["repeated"] == 38 and cheat["patients"] == 101 and 3 < cheat["design_effect"] < 5.5
    one, nurse = acts["double_billing:rebilled:NURSE1"], acts["double_billing:rebilled:NURSEX"]
    assert (one["repeated"], one["patients"], one["design_effect"]) == (100, 3, 1.0)
    assert (nurse["repeated"], nurse["patients"], nurse["design_effect"]) == (44, 3, 1.0)


HOSPITAL = pa.Table.from_pylist([{"centre_id": "H3", "kind": "hospital"}], TABLES["centres"].schema)


def hospital_stays(centres=HOSPITAL, keep=lambda provider: True):
    """Attending physicians of hospital H3 billing one visit a day (VIS) of each stay: 60 patients
    each, a 5-day stay a patient, none of them ever billing a day twice (the act's providers show
    no episodes). TWIN's patient had two stays there that overlap (days 200-206 and 200-208: 7
    days billed twice) and PAIR's two identical 3-day stays: one patient's stay each, billed
    twice (the claims cannot tell two overlapping stays from one). REBILL bills a day of each of
    10 patients' stays twice; WHOLE bills every day of 8 patients' stays twice (40 repeats, as many
    as 8 overlapping stays). A private physiotherapist (no centre) bills every one of 63 sessions
    of one patient twice, among honest ones who never do: private practice bills each session."""
    rows = []
    for doc in [f"ATT{a}" for a in range(10)] + ["TWIN", "PAIR", "REBILL", "WHOLE"]:
        rows += [line(f"{doc}-{p}", doc, "VIS", 5 * p + j, 22.0, centre="H3") for p in range(60) for j in range(5)]
    rows += [line("TWIN-S", "TWIN", "VIS", k, 22.0, centre="H3") for k in range(200, 207)]
    rows += [line("TWIN-S", "TWIN", "VIS", k, 22.0, centre="H3") for k in range(200, 209)]
    rows += [line("PAIR-S", "PAIR", "VIS", k, 22.0, centre="H3") for k in range(250, 253) for _ in range(2)]
    rows += [line("TWIN-S", "RAD1", "XRAY", 200, 40.0, prescriber="TWIN", centre="H3")]   # imaging at admission
    rows += [line(f"REBILL-{p}", "REBILL", "VIS", 5 * p + 2, 22.0, centre="H3") for p in range(0, 60, 6)]
    rows += [line(f"WHOLE-{p}", "WHOLE", "VIS", 5 * p + j, 22.0, centre="H3") for p in range(3, 59, 7) for j in range(5)]
    for physio in [f"PT{a}" for a in range(8)] + ["PTX"]:
        rows += [line(f"{physio}-{p}", physio, "AMK", 7 * s + p % 3, 18.0) for p in range(6) for s in range(40)]
    rows += [line("PTX-S", "PTX", "AMK", 2 + 3 * s + s // 2, 18.0) for s in range(63) for _ in range(2)]
    t = tables_of(claims=claims([r for r in rows if keep(r[1])]), affiliations=AFFILIATIONS, centres=centres)
    return detect_double_billing(t, build_shared(t, build_graph(t)), DoubleBillingSettings())


def test_a_hospital_stay_billed_twice_is_one_repeat_and_private_sessions_each_count():
    """In a hospital the billing unit is the stay (an invoice per admission; the stay the T2A
    control judges): one patient's stay billed twice — two overlapping stays — is one repeat of
    60 stays, as chance allows when the act's peers never repeat (third region 80000:2's two
    attending physicians, 7 and 3 days billed twice on one patient each); re-billing a day of 10
    stays, or every day of 8, is found. A private physiotherapist's 63 re-billed sessions of one
    patient are 63 repeats (private practice bills each session: its own clustering never excuses
    it, the fresh user's review of 2026-12-02)."""
    f = hospital_stays()
    assert billers(f) == {"REBILL", "WHOLE", "PTX"}
    acts = {a["alert_id"]: json.loads(a["evidence"])["acts"][0] for a in f.alerts.to_pylist()}
    whole, rebill = acts["double_billing:rebilled:WHOLE"], acts["double_billing:rebilled:REBILL"]
    assert (whole["groups"], whole["repeated"], whole["patient_days"], whole["repeated_days"]) == (60, 8, 300, 40)
    assert (rebill["groups"], rebill["repeated"], rebill["repeated_days"]) == (60, 10, 10)
    pt = acts["double_billing:rebilled:PTX"]
    assert (pt["groups"], pt["repeated"], pt["patients"]) == (303, 63, 7)
    a = next(a for a in f.alerts.to_pylist() if a["alert_id"] == "double_billing:rebilled:WHOLE")
    assert "on act VIS 8 of 60 stays and patient-days (a hospital stay counted once; 40 of 300 patient-days) " \
           "repeat" in a["summary"]


def test_which_centre_is_a_hospital_comes_from_the_centres_table():
    """Third region 80000:2's shape, the attending physicians and TWIN alone: TWIN's stay billed
    twice is one repeat of 61 stays in hospital H3; without `centres` saying H3 is a hospital its
    7 days count one by one (as before 2026-12-02 16:00 UTC) and are beyond chance, since the
    act's other providers never repeat."""
    keep = lambda provider: provider.startswith("ATT") or provider in ("TWIN", "RAD1")
    assert billers(hospital_stays(keep=keep)) == set()
    assert billers(hospital_stays(centres=HOSPITAL.slice(0, 0), keep=keep)) == {"TWIN"}
