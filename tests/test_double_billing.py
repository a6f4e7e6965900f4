"""double_billing on hand-built claims: what it must find and what it must not flag."""
from datetime import date, timedelta

import pyarrow as pa

from graph.double_billing import detect_double_billing
from graph.settings import DoubleBillingSettings
from contract.tables import TABLES

from .conftest import tables_of

D0 = date(2025, 1, 1)


def claims(rows):
    cols = ("claim_id", "patient_id", "provider_id", "prescriber_id", "centre_id", "service_code",
            "service_date", "amount", "quantity")
    data = [dict(zip(cols, (f"C{i:05d}", *r))) for i, r in enumerate(rows)]
    return pa.Table.from_pylist(data, TABLES["claims"].schema)


def day(k):
    return D0 + timedelta(days=k)


def region():
    """Three honest dentists, a re-billing dentist, twice-daily nurses, a hospital and its doctors."""
    rows = []
    for dentist in ("DENT1", "DENT2", "DENT3"):                # honest: one crown per patient-day
        rows += [(f"P{k}", dentist, None, None, "CROWN", day(k), 120.0, 1) for k in range(40)]
    rows += [(f"P{k}", "CHEAT", None, None, "CROWN", day(k), 120.0, 1) for k in range(40)]
    rows += [(f"P{k}", "CHEAT", None, None, "CROWN", day(k), 120.0, 1) for k in range(0, 40, 4)]  # 10 re-billed
    for nurse in ("NURSE1", "NURSE2", "NURSE3"):               # honest: injections twice a day
        for k in range(30):
            rows += [(f"Q{k}", nurse, "GP1", None, "AMI1", day(k), 3.15, 1)] * 2
    # the hospital billed patients R0..R19 through full-time DOC1 and part-time DOC2
    rows += [(f"R{k}", "DOC1", None, "H1", "CS", day(k), 30.0, 1) for k in range(20)]
    rows += [(f"R{k}", "DOC2", None, "H1", "CS", day(k), 30.0, 1) for k in range(20, 30)]
    rows += [(f"R{k}", "DOC1", None, None, "CS", day(k), 30.0, 1) for k in (3, 7, 11)]   # DOC1 bills privately
    rows += [(f"R{k}", "DOC2", None, None, "CS", day(k), 30.0, 1) for k in (20, 21)]     # DOC2 is part-time
    rows += [("R5", "DOC1", None, None, "CS", day(100), 30.0, 1)]   # private, but not a hospital day
    return claims(rows)


AFFILIATIONS = pa.Table.from_pylist([
    {"provider_id": "DOC1", "centre_id": "H1", "role": "fulltime_hospital", "start_date": None, "end_date": None},
    {"provider_id": "DOC2", "centre_id": "H1", "role": "parttime_hospital", "start_date": None, "end_date": None},
], TABLES["affiliations"].schema)


def run(c=None, settings=DoubleBillingSettings(), affiliations=AFFILIATIONS):
    return detect_double_billing(tables_of(claims=region() if c is None else c, affiliations=affiliations), settings)


def test_finds_the_rebilling_dentist_and_not_honest_dentists_or_twice_daily_nurses():
    f = run()
    rebilled = [a for a in f.alerts.to_pylist() if a["alert_id"].startswith("double_billing:rebilled:")]
    assert [a["alert_id"] for a in rebilled] == ["double_billing:rebilled:CHEAT"]
    a = rebilled[0]
    assert a["score"] == 1200.0
    assert a["summary"] == ("Provider CHEAT billed 10 line(s) twice for the same patient, act and day (€1,200.00); "
                            "on act CROWN 10 of 40 patient-days repeat, against a usual rate of 0.2%.")
    flagged = {e["entity_id"] for e in f.entities.to_pylist() if e["entity_type"] == "provider"}
    assert not flagged & {"DENT1", "DENT2", "DENT3", "NURSE1", "NURSE2", "NURSE3"}


def test_rebilled_evidence_lists_the_claim_pairs():
    import json
    f = run()
    ev = json.loads(next(a for a in f.alerts.to_pylist() if a["alert_id"] == "double_billing:rebilled:CHEAT")["evidence"])
    assert ev["kind"] == "rebilled"
    assert ev["acts"][0]["repeated"] == 10 and ev["acts"][0]["groups"] == 40
    first = ev["examples"][0]
    assert first["patient_id"] == "P0" and first["service_date"] == "2025-01-01" and len(first["claim_ids"]) == 2


def test_a_repeat_as_common_as_among_peers_is_not_flagged():
    """If every dentist repeated crowns as often as CHEAT, the usual rate explains it."""
    rows = []
    for dentist in ("DENT1", "DENT2", "DENT3", "CHEAT"):
        rows += [(f"P{k}", dentist, None, None, "CROWN", day(k), 120.0, 1) for k in range(40)]
        rows += [(f"P{k}", dentist, None, None, "CROWN", day(k), 120.0, 1) for k in range(0, 40, 4)]
    assert run(claims(rows)).alerts.num_rows == 0


def test_cross_channel_full_time_practitioner_with_the_path_and_both_claims():
    import json
    f = run()
    alerts = {a["alert_id"]: a for a in f.alerts.to_pylist()}
    assert "double_billing:hospital:DOC1:H1" in alerts
    assert not [k for k in alerts if "DOC2" in k]          # part-time practitioners may bill privately
    a = alerts["double_billing:hospital:DOC1:H1"]
    assert a["summary"] == ("Full-time hospital practitioner DOC1 billed privately 3 service(s) (€90.00) to patients "
                            "that hospital H1 billed the same day (3 for the same act).")
    ev = json.loads(a["evidence"])
    assert ev["matches"] == 3
    path = ev["paths"][0]
    assert path["nodes"] == ["provider:DOC1", "centre:H1", "patient:R3", "provider:DOC1"]
    assert path["rels"] == ["WORKS_AT", "BILLED", "BILLED"]
    src = {r["claim_id"]: r for r in region().to_pylist()}
    assert src[path["hospital_claim_id"]]["centre_id"] == "H1"
    assert src[path["private_claim_id"]]["centre_id"] is None
    roles = {(e["entity_type"], e["entity_id"], e["role"]) for e in f.entities.to_pylist()
             if e["alert_id"] == "double_billing:hospital:DOC1:H1"}
    assert {("provider", "DOC1", "biller"), ("centre", "H1", "hospital")} <= roles


def test_settings_thresholds_are_honoured():
    assert not [a for a in run(settings=DoubleBillingSettings(min_repeats=11)).alerts.to_pylist()
                if "rebilled" in a["alert_id"]]
    assert not [a for a in run(settings=DoubleBillingSettings(min_cross_channel=4)).alerts.to_pylist()
                if "hospital" in a["alert_id"]]


def test_deterministic():
    a, b = run(), run()
    assert a.alerts.equals(b.alerts) and a.entities.equals(b.entities)
