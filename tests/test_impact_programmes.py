"""The control programmes' statistics (graph.impact): the case file's chart of each new pattern's
statistic among its peers, with the unit marked, and the impact of a decision measured on it.

The hand-built regions are the detectors' own (tests/test_mega_consumer.py,
tests/test_atypical_private_practice.py, tests/test_campaigns.py): each alert's subjects must
stand beyond their peers, and the honest look-alikes among those peers must stay inside them."""
import pyarrow as pa

from graph.atypical_private_practice import detect_atypical_private_practice
from graph.campaigns import detect_indicator_outliers
from graph.evidence import evidence_lines
from graph.impact import measure, peer_distribution
from graph.settings import AtypicalPrivatePracticeSettings

from .builders import Region, day
from .test_atypical_private_practice import region as hospital
from .test_campaigns import C02A, COURSES, antihypertensives, physiotherapy
from .test_mega_consumer import region as patients, run as mega


def charts(tables, findings, **kw):
    return {d["alert_id"]: d for d in peer_distribution(tables, findings.alerts, findings.entities, **kw).to_pylist()}


def test_a_mega_consumer_is_charted_on_the_care_among_patients_alike():
    t = patients()
    f = mega(t)
    dist = charts(t, f)
    assert set(dist) == set(f.alerts["alert_id"].to_pylist()) and len(dist) == 2
    for d in dist.values():
        assert d["unit"] == "provider-days a year" and d["detail"] in ("AMI1", "G", "VG")
        assert len(d["subject_units"]) == 1 and d["subject_units"][0].startswith("MEGA")
        assert d["subject_value"] > 2 * d["peer_p90"] and d["share_below"] == 1.0
        assert d["bin_edges"][-1] >= d["subject_value"] and sum(d["bin_counts"]) == d["peers"]


def test_a_full_timer_is_charted_against_the_other_full_timers_of_its_specialty():
    t = hospital()
    f = detect_atypical_private_practice(t, AtypicalPrivatePracticeSettings())
    d = charts(t, f)["atypical_private_practice:FT_BIG"]
    assert d["unit"] == "% of its acts" and d["subject_units"] == ["FT_BIG"] and d["subject_value"] == 50.0
    # the small and the empty private activities; not the part-timer, the private cardiologists, nor
    # the full-timer with no act through a centre (its post is not measured)
    assert d["peers"] == 2 and d["share_below"] == 1.0 and d["peer_p90"] < 5


def test_an_indicator_outlier_is_charted_on_its_own_campaign_in_its_unit():
    t = antihypertensives()
    f = detect_indicator_outliers(t, (C02A, COURSES))
    d = charts(t, f, campaigns=(C02A, COURSES))["indicator_outlier:c02a:OUT"]
    assert (d["statistic"], d["unit"], d["detail"]) == (C02A.label, "% of patients", "c02a")
    assert d["subject_value"] == 50.0 and d["peers"] == 11 and d["peer_median"] <= 10
    # the small prescriber (2 of 3) is a peer above the outlier: the chart shows it, it is not judged
    assert abs(d["share_below"] - 10 / 11) < 1e-6 and sum(d["bin_counts"]) == 11
    t = physiotherapy()
    f = detect_indicator_outliers(t, (COURSES,))
    d = charts(t, f, campaigns=(COURSES,))["indicator_outlier:physio:LONG"]
    assert d["unit"] == "sessions per course" and d["subject_value"] == 35.0 and d["peer_p90"] <= 14
    assert not charts(t, f)      # without the scan's campaigns there is nothing to chart


def lines(tables, findings, campaigns=()):
    """Every evidence line per alert, the chart's detail (the care) as the act."""
    peers = peer_distribution(tables, findings.alerts, findings.entities, campaigns=campaigns)
    acts = peers.select(["alert_id", "detail"]).rename_columns(["alert_id", "service_code"])
    out = {}
    for r in evidence_lines(tables, findings.alerts, findings.entities, acts, campaigns=campaigns).to_pylist():
        out.setdefault(r["alert_id"], []).append(r)
    return out


def test_the_evidence_is_every_line_behind_each_programme():
    t = patients()
    f = mega(t)
    detail = {d["alert_id"]: d for d in peer_distribution(t, f.alerts, f.entities).to_pylist()}
    for aid, rows in lines(t, f).items():
        who = detail[aid]["subject_units"][0]
        care = [c for c in t["claims"].to_pylist() if c["patient_id"] == who
                and c["service_code"] == detail[aid]["detail"]]
        assert sorted(r["claim_id"] for r in rows) == sorted(c["claim_id"] for c in care)
        assert {r["patient_id"] for r in rows} == {who}
    t = hospital()
    got = lines(t, detect_atypical_private_practice(t, AtypicalPrivatePracticeSettings()))
    rows = got["atypical_private_practice:FT_BIG"]
    assert len(rows) == 300 and {r["centre_id"] for r in rows} == {None} and {r["provider_id"] for r in rows} == {"FT_BIG"}
    assert len({r["item"] for r in rows}) == 50                  # one item a week: 50 weeks with private acts
    t = antihypertensives()
    got = lines(t, detect_indicator_outliers(t, (C02A,)), (C02A,))
    rows = got["indicator_outlier:c02a:OUT"]
    assert len(rows) == 15 and {r["service_code"] for r in rows} == {"C02AC05"} and {r["prescriber_id"] for r in rows} == {"OUT"}


def watch(pattern, *entities):
    return pa.Table.from_pylist([{"case_id": "C-00001", "pattern": pattern, "decided_on": day(182),
                                  "entities": [{"entity_type": t, "entity_id": i} for t, i in entities]}])


def full_timers(stops: bool):
    """Six full-time cardiologists, 2 hospital acts a day all year and one private act every other
    day; FT0 also bills 2 more private acts a day, until the decision (day 182) when `stops`."""
    r = Region()
    r.service("CS", "act", "specialist consultation")
    r.add("centres", centre_id="H", kind="hospital", name="hospital")
    for i in range(6):
        pid = f"FT{i}"
        r.provider(pid, "physician", "cardiology")
        r.add("affiliations", provider_id=pid, centre_id="H", role="fulltime_hospital", start_date="2015-01-01")
        for k in range(364):
            for j in range(2):
                r.claim(f"H{i}-{(k + j) % 50}", pid, "CS", k, 30.0, centre="H")
            if k % 2 == 0:
                r.claim(f"V{i}-{k % 40}", pid, "CS", k, 30.0)
            if i == 0 and (k < 182 or not stops):
                for j in range(2):
                    r.claim(f"W-{(k + j) % 60}", pid, "CS", k, 30.0)
    return r.tables()


def test_the_impact_of_a_decision_on_a_full_timers_private_activity():
    m = measure(full_timers(stops=True), watch("atypical_private_practice", ("provider", "FT0"))).to_pylist()[0]
    assert m["verdict"] == "changed" and m["unit"] == "% of its acts" and m["peers_before"] == 5, m["why"]
    assert m["subject_rate_before"] > 50 > 25 > m["subject_rate_after"]
    m = measure(full_timers(stops=False), watch("atypical_private_practice", ("provider", "FT0"))).to_pylist()[0]
    assert m["verdict"] == "unchanged", m["why"]


def prescribers(stops: bool):
    """Ten GPs, 40 hypertensive patients of 65+ each, ramipril every month; each GP prescribes
    moxonidine (C02A) to 2 of them all year, OUT to 20 until the decision (day 182), then to 2 when `stops`."""
    r = Region()
    for code in ("C09AA05", "C02AC05"):
        r.service(code, "drug", code)
    r.provider("PH", "pharmacy")
    for g in [f"GP{i}" for i in range(9)] + ["OUT"]:
        r.provider(g, "physician", "general_practice")
        for p in range(40):
            pid = f"{g}-{p}"
            r.add("patients", patient_id=pid, birth_year=1950, sex="F", postcode="69001")
            for k in range(0, 364, 30):
                r.claim(pid, "PH", "C09AA05", k, 5.6, prescriber=g)
                if p < (20 if g == "OUT" and (k < 182 or not stops) else 2):
                    r.claim(pid, "PH", "C02AC05", k + 1, 7.1, prescriber=g)
    return r.tables()


def test_the_impact_on_a_campaign_is_measured_on_the_campaign_the_unit_stood_out_on():
    w = watch("indicator_outlier", ("provider", "OUT"))
    m = measure(prescribers(stops=True), w, campaigns=(C02A, COURSES)).to_pylist()[0]
    assert (m["detail"], m["unit"], m["statistic"]) == ("c02a", "% of patients", C02A.label)
    assert m["verdict"] == "changed" and m["subject_rate_before"] == 50 and m["subject_rate_after"] == 5, m["why"]
    assert m["peers_before"] == 9 and m["peers_rate_before"] == 5
    m = measure(prescribers(stops=False), w, campaigns=(C02A,)).to_pylist()[0]
    assert m["verdict"] == "unchanged" and m["detail"] == "c02a", m["why"]
    # without the scan's campaigns the statistic is unknown, and said so
    assert measure(prescribers(stops=True), w).to_pylist()[0]["verdict"] == "not_enough_data"


def test_the_case_file_charts_each_programme_with_its_unit(region, tmp_path):
    """On the generated region scanned with the example campaigns: a case of the top alert of each
    new pattern draws that alert's statistic among its peers, unit and campaign named."""
    import shutil

    from cases.report import render
    from cases.store import Actor, CaseStore
    from runs.store import Store
    store = Store(tmp_path / "store")
    shutil.copytree(region["store"].root, store.root)
    con = store.connect()
    top = {p: (a, unit, detail) for p, a, unit, detail in con.execute(
        "SELECT a.pattern, a.alert_id, d.unit, d.detail FROM alerts a JOIN peer_distribution d USING (alert_id) "
        "WHERE a.pattern IN ('mega_consumer', 'atypical_private_practice', 'indicator_outlier') "
        "QUALIFY row_number() OVER (PARTITION BY a.pattern ORDER BY a.rank, a.alert_id) = 1").fetchall()}
    con.close()
    assert sorted(top) == ["atypical_private_practice", "indicator_outlier", "mega_consumer"]
    assert top["mega_consumer"][1] == "provider-days a year" and top["atypical_private_practice"][1] == "% of its acts"
    assert top["indicator_outlier"][2] == top["indicator_outlier"][0].split(":")[1]     # its own campaign
    cases = CaseStore(store)
    for pattern, (alert_id, unit, detail) in top.items():
        c = cases.open(Actor("alice", "analyst"), [alert_id], note="control programme")
        html = render(store, c["case_id"])
        assert html.count('class="peer-chart"') == 1 and f"{unit}</text>" in html, pattern
        assert 'class="subject"' in html and (detail is None or f"({detail})" in html), pattern
