"""graph.evidence: every claim line behind an alert — all of them, and only those."""
import pyarrow as pa

from graph.evidence import evidence_lines

from .builders import Region


def alerts_of(*rows):
    """(alert_id, pattern, [(entity_type, entity_id), …]) → alerts and alert_entities tables."""
    alerts = pa.table({"alert_id": [r[0] for r in rows], "pattern": [r[1] for r in rows]})
    ents = [(r[0], t, i) for r in rows for t, i in r[2]]
    return alerts, pa.table({"alert_id": [e[0] for e in ents], "entity_type": [e[1] for e in ents],
                             "entity_id": [e[2] for e in ents], "role": ["x"] * len(ents)})


def by_alert(lines: pa.Table) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in lines.to_pylist():
        out.setdefault(r["alert_id"], []).append(r)
    return out


def test_double_billing_evidence_has_every_line_billed_twice_not_a_few_examples():
    r = Region()
    r.provider("D1", "dentist", "dental_surgery", "69001")
    r.provider("N1", "nurse", None, "69001")
    for k in range(200):                       # 200 scalings, each billed twice: 400 lines
        r.claim(f"P{k:03d}", "D1", "HBBD001", k % 300, 28.92)
        r.claim(f"P{k:03d}", "D1", "HBBD001", k % 300, 28.92)
    r.claim("P999", "D1", "HBBD001", 5, 28.92)          # billed once: not evidence
    r.claim("P999", "D1", "HBMD049", 5, 40.97)          # another act the same day: not a repeat
    for k in range(50):                        # twice-daily insulin of another provider
        r.claim("P500", "N1", "AMI1", k, 3.15)
        r.claim("P500", "N1", "AMI1", k, 3.15)
    alerts, ents = alerts_of(("db1", "double_billing", [("provider", "D1"), ("patient", "P000")]))
    lines = by_alert(evidence_lines(r.tables(), alerts, ents))["db1"]
    assert len(lines) == 400 and len({x["item"] for x in lines}) == 200
    assert {x["provider_id"] for x in lines} == {"D1"} and "P999" not in {x["patient_id"] for x in lines}
    assert {x["note"] for x in lines} == {"2 lines for the same patient, act and day (private practice)"}
    assert round(sum(x["amount"] for x in lines), 2) == round(400 * 28.92, 2)


def test_cross_channel_lines_name_both_channels():
    r = Region()
    r.provider("H1", "physician", "cardiology", "69001")
    for k in range(3):
        r.claim(f"P{k}", "H1", "CS", k, 30.0, centre="HOSP")
        r.claim(f"P{k}", "H1", "CS", k, 30.0)
    alerts, ents = alerts_of(("h", "double_billing", [("provider", "H1"), ("centre", "HOSP")]))
    lines = evidence_lines(r.tables(), alerts, ents).to_pylist()
    assert len(lines) == 6
    assert {x["note"] for x in lines} == {"2 lines for the same patient, act and day (centre HOSP and private practice)"}


def test_pharmacy_and_shopping_and_block_evidence():
    r = Region()
    r.provider("PH", "pharmacy", None, "69001")
    r.provider("DOC", "physician", "general_practice", "69001")
    r.provider("OTHER", "physician", "general_practice", "69001")
    r.service("OXY", "drug", "oxycodone", watch=True)
    for p in range(5):
        r.patient(f"M{p}", "01000")
        r.claim(f"M{p}", "PH", "OXY", p, 48.0, prescriber="DOC")
    r.patient("L0", "69001")
    r.claim("L0", "PH", "OXY", 1, 48.0, prescriber="DOC")       # the flow's local patient: evidence, said local
    r.claim("L0", "PH", "OXY", 2, 48.0, prescriber="OTHER")     # another prescriber's: not this flow
    for k, day_ in enumerate((0, 7, 14, 60)):                  # a shopper: three overlapping, one not
        r.claim("S", "PH", "OXY", day_, 48.0, prescriber="DOC" if k % 2 else "OTHER")
    for i in range(3):                                          # a block of three nurses, 4 shared patients
        r.provider(f"N{i}", "nurse", None, "69001")
        for p in range(4):
            r.claim(f"B{p}", f"N{i}", "AMI4", p + i, 12.6)
        r.claim(f"OWN{i}", f"N{i}", "AMI4", 9, 12.6)            # each nurse's own patient: not evidence
    alerts, ents = alerts_of(("rx", "pharmacy_collusion", [("provider", "PH"), ("provider", "DOC")]),
                             ("sh", "doctor_shopping", [("patient", "S"), ("provider", "PH")]),
                             ("bl", "dense_block", [("provider", f"N{i}") for i in range(3)]))
    got = by_alert(evidence_lines(r.tables(), alerts, ents))
    rx = got["rx"]
    assert sorted(x["patient_id"] for x in rx) == ["L0", "M0", "M1", "M2", "M3", "M4", "S", "S"]
    assert [x["note"] for x in rx if x["patient_id"] == "S"] == ["patient's home area unknown"] * 2
    assert {x["prescriber_id"] for x in rx} == {"DOC"}
    assert [x["note"] for x in rx if x["patient_id"] == "L0"] == ["patient from the pharmacy's area"]
    assert {x["note"] for x in rx if x["patient_id"].startswith("M")} == {"patient from outside the pharmacy's area"}
    # a pharmacy at an unknown postcode: its patients are neither from outside its area nor from it
    t = r.tables()
    t["providers"] = t["providers"].set_column(
        t["providers"].schema.get_field_index("postcode"), "postcode",
        pa.array([None if p == "PH" else c for p, c in zip(t["providers"]["provider_id"].to_pylist(),
                                                           t["providers"]["postcode"].to_pylist())], pa.string()))
    unknown = by_alert(evidence_lines(t, alerts, ents))["rx"]
    assert {x["note"] for x in unknown if x["patient_id"] != "S"} == {"pharmacy's area unknown"}
    sh = got["sh"]
    assert [x["note"] for x in sh] == ["no supply running", "overlaps a supply running until 2025-01-28",
                                       "overlaps a supply running until 2025-02-04", "no supply running"]
    bl = got["bl"]
    assert len(bl) == 12 and {x["patient_id"] for x in bl} == {"B0", "B1", "B2", "B3"}
    assert {x["note"] for x in bl} == {"patient billed by 3 of the block's 3 providers"}


def test_peer_outlier_and_entity_network_evidence():
    r = Region()
    r.provider("PT", "physiotherapist", None, "69001")
    r.provider("DEN", "dentist", "dental_surgery", "69001")
    for p in range(3):
        r.claim(f"P{p}", "PT", "AMK8", p, 17.2)
        r.claim(f"P{p}", "PT", "VISIT", p, 20.0)                # another act: not this alert's
        r.claim(f"P{p}", "DEN", "HBLD036", p, 120.0, centre="C1")
        r.claim(f"Q{p}", "OUT", "HBLD036", p, 120.0, centre="C1")   # a provider outside billing at its centre
    alerts, ents = alerts_of(("po", "peer_outlier", [("provider", "PT")]),
                             ("en", "entity_network", [("provider", "DEN"), ("centre", "C1"), ("legal_entity", "L1")]))
    acts = pa.table({"alert_id": ["po"], "service_code": ["AMK8"]})
    got = by_alert(evidence_lines(r.tables(), alerts, ents, acts))
    assert [x["service_code"] for x in got["po"]] == ["AMK8"] * 3
    assert len(got["en"]) == 6 and len({x["claim_id"] for x in got["en"]}) == 6    # each line once
    assert {x["note"] for x in got["en"]} == {"billed through centre C1"}
