"""graph.impact: the behaviour behind each pattern, before and after a decision, against peers.

Hand-built regions where a provider (or a patient) stops, keeps or worsens the behaviour after a
decision on day 182, and the honest look-alike a before/after comparison alone would get wrong:
everyone's behaviour drops at once (a new billing rule), which is not the decision's doing."""
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest

from graph.impact import ImpactSettings, STATISTICS, measure, peer_distribution, periods_around, unit_rates

from .builders import Region, day

DECIDED = day(182)


def watch(pattern, *entities, decided_on=DECIDED, case_id="C-00001"):
    return pa.Table.from_pylist([{"case_id": case_id, "pattern": pattern, "decided_on": decided_on,
                                  "entities": [{"entity_type": t, "entity_id": i} for t, i in entities]}])


def verdict(tables, pattern, *entities, **kw):
    return measure(tables, watch(pattern, *entities, **kw)).to_pylist()[0]


def dentists(subject_after: float, peers_before: float = 0.0, peers_after: float = 0.0, subject_before: float = 0.2):
    """Twelve dentists billing a scaling every other day of 2025; D00 re-bills a share of its lines
    (`subject_before`, then `subject_after` from day 182), the others `peers_before` then `peers_after`."""
    r, rng = Region(), np.random.default_rng(3)
    for i in range(12):
        pid = f"D{i:02d}"
        r.provider(pid, "dentist", "dental_surgery", "69001")
        for k in range(0, 364, 2):
            patient = f"P{i:02d}{k % 40:03d}"
            r.claim(patient, pid, "HBBD001", k, 28.92)
            rate = (subject_before if k < 182 else subject_after) if i == 0 else (peers_before if k < 182 else peers_after)
            if rng.random() < rate:
                r.claim(patient, pid, "HBBD001", k, 28.92)
    return r.tables()


def test_the_periods_are_as_long_on_each_side_of_the_decision():
    assert periods_around(date(2025, 3, 1), date(2025, 1, 1), date(2025, 12, 31)) == (
        (date(2025, 1, 1), date(2025, 2, 28)), (date(2025, 3, 1), date(2025, 4, 28)))
    (b0, b1), (a0, a1) = periods_around(date(2025, 12, 1), date(2025, 1, 1), date(2025, 12, 31))
    assert (b1 - b0).days == (a1 - a0).days == 30 and a1 == date(2025, 12, 31)


def test_a_provider_that_stops_re_billing_has_changed():
    m = verdict(dentists(subject_after=0.0), "double_billing", ("provider", "D00"))
    assert m["verdict"] == "changed", m["why"]
    assert m["subject_rate_before"] > 10 and m["subject_rate_after"] == 0
    assert m["did_high"] < 0 and m["excess_after"] <= 0.5 * m["excess_before"]
    assert m["peers_before"] == m["peers_after"] == 11
    assert m["why"].startswith("down: excess over peers +")


def test_a_provider_that_keeps_re_billing_is_unchanged_and_one_that_re_bills_more_is_worse():
    same = verdict(dentists(subject_after=0.2), "double_billing", ("provider", "D00"))
    assert same["verdict"] == "unchanged" and same["did_low"] < 0 < same["did_high"], same["why"]
    worse = verdict(dentists(subject_after=0.6), "double_billing", ("provider", "D00"))
    assert worse["verdict"] == "worse" and worse["did_low"] > 0, worse["why"]


def test_a_drop_shared_by_every_peer_is_not_credited_to_the_decision():
    """Look-alike: from day 182 everyone re-bills half as much (a billing rule changed for all).
    Before and after alone, the provider "improved"; against its peers, it did not."""
    t = dentists(subject_before=0.3, subject_after=0.15, peers_before=0.3, peers_after=0.15)
    m = verdict(t, "double_billing", ("provider", "D00"))
    assert m["subject_rate_after"] < 0.7 * m["subject_rate_before"]
    assert m["verdict"] == "unchanged" and m["did_low"] < 0 < m["did_high"], m["why"]



def test_a_provider_never_above_its_peers_gives_no_verdict_on_the_decision():
    """A decision on a provider who, in the periods measured, billed no more than its peers
    (another region's scan, a behaviour the case was not about) was judged `unchanged` — which
    calls for the next, stronger action — with "above peers by -1.61": now `no_excess`; rising
    above them after the decision is still `worse`."""
    m = verdict(dentists(subject_before=0.0, subject_after=0.0, peers_before=0.2, peers_after=0.2),
                "double_billing", ("provider", "D00"))
    assert m["verdict"] == "no_excess" and m["excess_before"] < 0, m["why"]
    assert m["why"].startswith("not above peers before the decision, nothing for it to remove: excess over peers -")
    risen = verdict(dentists(subject_before=0.0, subject_after=0.6, peers_before=0.2, peers_after=0.2),
                    "double_billing", ("provider", "D00"))
    assert risen["verdict"] == "worse" and risen["excess_before"] < 0 < risen["excess_after"], risen["why"]

def test_too_little_data_after_the_decision_says_so():
    m = verdict(dentists(subject_after=0.0), "double_billing", ("provider", "D00"), decided_on=day(355))
    assert m["verdict"] == "not_enough_data" and "day(s) of data after the decision (needs 30)" in m["why"]
    assert m["did"] is None
    few = measure(dentists(subject_after=0.0), watch("double_billing", ("provider", "D00")),
                  ImpactSettings(min_peers=12)).to_pylist()[0]
    assert few["verdict"] == "not_enough_data" and few["why"] == "11 peer(s) in a period (needs 12)"
    none = verdict(dentists(subject_after=0.0), "indicator_outlier", ("provider", "D00"))
    assert (none["verdict"], none["why"]) == ("not_enough_data", "no control campaign in the scan")


def physios(outlier_after: int):
    """Ten physiotherapists giving each of their 20 patients 8 sessions a year; PH0 gives 40
    (spread over the year), then `outlier_after` per half-year from day 182. Everyone also bills a
    home visit once a patient, on which PH0 is ordinary."""
    r = Region()
    for i in range(10):
        pid = f"PH{i}"
        r.provider(pid, "physiotherapist", None, "69002")
        for p in range(20):
            patient = f"Q{i}{p:02d}"
            r.claim(patient, pid, "VISIT", p, 20.0)
            sessions = [k * 45 + p for k in range(8)]
            if i == 0:
                sessions = [k * 9 + p % 9 for k in range(20)] + \
                    [182 + k * (180 // max(outlier_after, 1)) + p % 5 for k in range(outlier_after)]
            for k in sessions:
                r.claim(patient, pid, "AMK8", k, 17.2)
    r.service("AMK8", "act", "physiotherapy session")
    r.service("VISIT", "act", "home visit")
    return r.tables()


def test_days_of_an_act_per_patient_on_the_act_the_provider_stood_out_on():
    back = verdict(physios(outlier_after=4), "peer_outlier", ("provider", "PH0"))
    assert back["detail"] == "AMK8" and back["verdict"] == "changed", back["why"]
    still = verdict(physios(outlier_after=20), "peer_outlier", ("provider", "PH0"))
    assert still["detail"] == "AMK8" and still["verdict"] == "unchanged", still["why"]


def shopping(keeps_on: bool):
    """Forty patients get a watched opioid once a month from one pharmacy; patient S gets it every
    week from several pharmacies until day 182, then monthly (or, `keeps_on`, still weekly)."""
    r = Region()
    r.service("OXY", "drug", "oxycodone", watch=True)
    for k in range(4):
        r.provider(f"PHA{k}", "pharmacy", None, "69001")
        r.provider(f"GP{k}", "physician", "general_practice", "69001")
    for p in range(40):
        for m in range(12):
            r.claim(f"N{p:02d}", "PHA0", "OXY", m * 30 + p % 7, 48.0, prescriber="GP0")
    for k in range(0, 364, 7):
        if k < 182 or keeps_on or k % 28 == 0:
            r.claim("S", f"PHA{k % 4}", "OXY", k, 48.0, prescriber=f"GP{k % 4}")
    return r.tables()


def test_a_patient_who_stops_overlapping_supplies_has_changed():
    stopped = verdict(shopping(keeps_on=False), "doctor_shopping", ("patient", "S"))
    assert stopped["verdict"] == "changed", stopped["why"]
    assert stopped["subject_rate_before"] > 60 and stopped["subject_rate_after"] < 20   # one still overlaps the last weekly supply
    assert stopped["peers_before"] == 40
    kept = verdict(shopping(keeps_on=True), "doctor_shopping", ("patient", "S"))
    assert kept["verdict"] == "unchanged", kept["why"]


def pharmacies(mules_after: int):
    """Six pharmacies in 69 serving local patients; PHX also serves 40 patients from 01 until day
    182, then `mules_after` of them."""
    r = Region()
    for k in range(6):
        r.provider(f"PH{k}", "pharmacy", None, "69001")
    r.provider("DOC", "physician", "general_practice", "69001")
    for p in range(300):
        r.patient(f"L{p:03d}", "69001")
        for half in (0, 200):
            r.claim(f"L{p:03d}", f"PH{p % 6}", "DRUG", half + p % 150, 10.0, prescriber="DOC")
    for p in range(40):
        r.patient(f"M{p:02d}", "01000")
        r.claim(f"M{p:02d}", "PH0", "DRUG", p, 600.0, prescriber="DOC")
        if p < mules_after:
            r.claim(f"M{p:02d}", "PH0", "DRUG", 200 + p, 600.0, prescriber="DOC")
    return r.tables()


def test_a_pharmacy_whose_patients_from_elsewhere_stop_coming_has_changed():
    m = verdict(pharmacies(mules_after=0), "pharmacy_collusion", ("provider", "PH0"), ("provider", "DOC"))
    assert m["verdict"] == "changed" and m["subject_rate_before"] > 30 and m["subject_rate_after"] == 0, m["why"]
    assert m["peers_before"] == 5      # the other pharmacies; the prescriber is not a pharmacy's peer
    assert verdict(pharmacies(mules_after=40), "pharmacy_collusion", ("provider", "PH0"))["verdict"] == "unchanged"


def block(borrowed_after: bool):
    """Six nurses in one town with 30 patients each, seen every month; N0, N1, N2 also bill one
    borrowed list of 40 patients every month until day 182 (and after it, if `borrowed_after`)."""
    r = Region()
    for i in range(6):
        r.provider(f"N{i}", "nurse", None, "69003")
        for p in range(30):
            for k in range(p % 7, 364, 30):
                r.claim(f"O{i}{p:02d}", f"N{i}", "AMI4", k, 12.6)
    for p in range(40):
        for i in range(3):
            for k in range(p % 5 + i, 364, 30):
                if k < 182 or borrowed_after:
                    r.claim(f"B{p:02d}", f"N{i}", "AMI4", k, 12.6)
    return r.tables()


def test_a_block_that_stops_billing_the_borrowed_list_has_changed():
    nurses = [("provider", f"N{i}") for i in range(3)]
    m = verdict(block(borrowed_after=False), "dense_block", *nurses)
    assert m["verdict"] == "changed" and m["subject_rate_after"] == 0, m["why"]
    assert m["subject_rate_before"] == pytest.approx(100 * 40 / 70, abs=0.01)
    assert verdict(block(borrowed_after=True), "dense_block", *nurses)["verdict"] == "unchanged"


def test_the_peer_distribution_marks_the_subjects_among_their_peers():
    t = dentists(subject_after=0.2)
    alerts = pa.table({"alert_id": ["A1", "A2"], "pattern": ["double_billing", "dense_block"]})
    entities = pa.table({"alert_id": ["A1", "A1", "A2"], "entity_type": ["provider", "patient", "provider"],
                         "entity_id": ["D00", "P00001", "D03"], "role": ["biller", "billed_twice", "biller"]})
    dist = {d["alert_id"]: d for d in peer_distribution(t, alerts, entities).to_pylist()}
    d = dist["A1"]
    assert d["statistic"] == STATISTICS["double_billing"].name and d["subject_units"] == ["D00"]
    assert d["peers"] == 11 and sum(d["bin_counts"]) == 11 and len(d["bin_edges"]) == 31
    assert d["subject_value"] > 15 and d["share_below"] == 1.0 and d["peer_median"] == 0
    assert d["bin_edges"][-1] >= d["subject_value"]
    # a provider that is only another's peer is no subject: its own alert counts it as one
    assert dist["A2"]["subject_units"] == ["D03"] and dist["A2"]["peers"] == 11


def test_units_are_only_those_a_statistic_applies_to():
    t = pharmacies(mules_after=0)
    s = pa.table({"grp": ["g", "g"], "entity_type": ["provider", "provider"], "entity_id": ["PH0", "DOC"]})
    u = unit_rates(t, "pharmacy_collusion", s, [("all", day(0), day(364))])
    assert set(u["unit"].to_pylist()) == {f"PH{k}" for k in range(6)}
    assert u.filter(pa.compute.equal(u["subject"], True))["unit"].to_pylist() == ["PH0"]


# unit_rates' members as written before issue #18: every group × peer key × act row made, then
# the act picked from them (what the rewrite must give, row for row, without making them all)
PLAIN_MEMBERS = """
WITH subj AS (SELECT DISTINCT grp, entity_id AS unit FROM s WHERE entity_type = $etype),
keys AS (SELECT DISTINCT x.grp, u.peer_key FROM subj x JOIN u ON u.unit = x.unit AND u.grp IN ('', x.grp)),
m AS (
    SELECT k.grp, u.period, u.unit, x.unit IS NOT NULL AS subject, u.x, u.n, u.detail
    FROM keys k JOIN u ON u.peer_key = k.peer_key AND u.grp IN ('', k.grp)
    LEFT JOIN subj x ON x.grp = k.grp AND x.unit = u.unit
), r AS (
    SELECT grp, detail, sum(n) FILTER (WHERE subject) AS sn,
           sum(x) FILTER (WHERE subject) / sum(n) FILTER (WHERE subject) AS sr,
           sum(x) FILTER (WHERE NOT subject) / sum(n) FILTER (WHERE NOT subject) AS pr
    FROM m WHERE period = $pick AND detail IS NOT NULL GROUP BY ALL
), act AS (
    SELECT grp, arg_max(detail, sr / pr) AS detail FROM r WHERE sn >= $min_exposure AND pr > 0 GROUP BY grp
)
SELECT m.* FROM m LEFT JOIN act a USING (grp)
WHERE m.detail IS NULL OR m.detail = a.detail
ORDER BY grp, period, unit
"""


def scanned(region) -> tuple:
    """The generated region's contract tables, its run's alerts and alert entities, and the example
    campaigns it was scanned with."""
    from loaders.dataset import load_dataset
    from runs import results
    from runs.campaigns import read_campaigns
    from runs.store import open_results

    from .conftest import REPO
    tables = load_dataset(region["data"]).tables
    con = open_results(region["store"].results_path(region["run"]["run_id"]))
    try:
        alerts, entities = results.table(con, "alerts"), results.table(con, "alert_entities")
    finally:
        con.close()
    return tables, alerts, entities, read_campaigns(REPO / "campaigns")


def test_the_members_of_every_statistic_are_those_of_the_plain_statement(region, monkeypatch):
    """On the generated region, for every pattern's alerts, over the window and over two periods
    (the act picked in the first): unit_rates gives exactly the rows of the plain statement."""
    import graph.impact
    tables, alerts, entities, campaigns = scanned(region)
    first, last = graph.impact.span(tables["claims"])
    middle = first + (last - first) / 2
    compared = set()
    for pattern in sorted(set(alerts["pattern"].to_pylist()) & set(STATISTICS)):
        ids = {a["alert_id"] for a in alerts.to_pylist() if a["pattern"] == pattern}
        subjects = pa.Table.from_pylist([{"grp": e["alert_id"], "entity_type": e["entity_type"],
                                          "entity_id": e["entity_id"]} for e in entities.to_pylist()
                                         if e["alert_id"] in ids])
        for periods in ([("window", first, last)], [("before", first, middle), ("after", middle + timedelta(days=1), last)]):
            rates = {}
            for name, sql in (("new", graph.impact._MEMBERS), ("plain", PLAIN_MEMBERS)):
                monkeypatch.setattr(graph.impact, "_MEMBERS", sql)
                rates[name] = unit_rates(tables, pattern, subjects, periods, campaigns=campaigns) \
                    .sort_by([(c, "ascending") for c in ("grp", "period", "unit", "detail", "x", "n")])
                monkeypatch.undo()
            assert rates["new"].equals(rates["plain"]), (pattern, periods[0][0])
            if rates["new"].num_rows:
                compared.add(pattern)
    assert {"double_billing", "peer_outlier", "mega_consumer", "dense_block"} <= compared, compared


def _plain_peer_distribution(tables, alerts, entities, campaigns, bins=30):
    """The peer charts as made before issue #18's figures: every `unit_rates` row in Python, a mask
    per group (what `peer_distribution` must give, value for value, from `unit_figures`)."""
    from graph.impact import PEER_DISTRIBUTION, shown, span
    from engine import query
    first, last = span(tables["claims"])
    window, rows, jobs = [("window", first, last)], [], []
    for pattern in sorted(set(alerts["pattern"].to_pylist()) & set(STATISTICS)):
        jobs += [(pattern, (cp,), f"{pattern}:{cp.name}:") for cp in campaigns] \
            if pattern == "indicator_outlier" else [(pattern, (), "")]
    for pattern, judged, prefix in jobs:
        name, unit, scale = shown(pattern, judged[0].name if judged else None, judged)
        subjects = query("SELECT e.alert_id AS grp, e.entity_type, e.entity_id FROM e JOIN a USING (alert_id) "
                         "WHERE a.pattern = $p AND starts_with(a.alert_id, $prefix) ORDER BY 1, 2, 3",
                         {"p": pattern, "prefix": prefix}, e=entities, a=alerts)
        units = unit_rates(tables, pattern, subjects, window, campaigns=judged)
        grp = np.asarray(units["grp"].to_pylist(), dtype=object)
        for g in sorted(set(grp)):
            mask = grp == g
            part = {c: np.asarray(units[c].to_pylist(), dtype=object if c in ("unit", "detail") else None)[mask]
                    for c in ("subject", "x", "n", "unit", "detail")}
            subj = part["subject"].astype(bool)
            peers = part["n"][~subj] > 0
            values = (part["x"][~subj][peers] / part["n"][~subj][peers]) * scale
            if not subj.any() or len(values) == 0:
                continue
            sv = part["x"][subj] / np.maximum(part["n"][subj], 1e-12) * scale
            pooled = part["x"][subj].sum() / max(part["n"][subj].sum(), 1e-12) * scale
            top = max(float(np.quantile(values, 0.99)), float(sv.max()), 1e-9)
            edges = np.linspace(0.0, top * 1.02, bins + 1)
            rows.append({"alert_id": g, "statistic": name, "unit": unit,
                         "detail": judged[0].name if judged else part["detail"][0],
                         "subject_units": part["unit"][subj].tolist(), "subject_values": [round(v, 6) for v in sv],
                         "subject_value": round(pooled, 6), "peers": int(len(values)),
                         "peer_median": round(float(np.median(values)), 6),
                         "peer_p90": round(float(np.quantile(values, 0.9)), 6),
                         "share_below": round(float((values < pooled).mean()), 6),
                         "bin_edges": [round(e, 6) for e in edges],
                         "bin_counts": np.histogram(np.clip(values, 0, edges[-1]), edges)[0].tolist()})
    return pa.Table.from_pylist(rows, PEER_DISTRIBUTION)


def test_the_peer_charts_from_figures_are_those_from_every_row(region):
    """On the generated region, for every pattern's alerts: `peer_distribution` (the peers counted
    by their figures in SQL, `unit_figures`) gives exactly — every value, bit for bit, in the same
    order — the charts made from every `unit_rates` row in Python; and the figures are far fewer
    rows than the rows they stand for."""
    from graph.impact import span, unit_figures
    tables, alerts, entities, campaigns = scanned(region)
    got = peer_distribution(tables, alerts, entities, campaigns=campaigns)
    want = _plain_peer_distribution(tables, alerts, entities, campaigns)
    assert got.num_rows > 20 and got.equals(want)
    assert {"double_billing", "peer_outlier", "mega_consumer", "dense_block"} <= \
        {a.split(":")[0] for a in got["alert_id"].to_pylist()}
    subjects = pa.Table.from_pylist([{"grp": e["alert_id"], "entity_type": e["entity_type"], "entity_id": e["entity_id"]}
                                     for e in entities.to_pylist() if e["alert_id"].startswith("mega_consumer:")])
    window = [("window", *span(tables["claims"]))]
    figures, rows = unit_figures(tables, "mega_consumer", subjects, window), unit_rates(tables, "mega_consumer", subjects, window)
    assert figures["k"].to_numpy().sum() == rows.num_rows and figures.num_rows < rows.num_rows / 5


def test_the_peer_charts_groups_read_subjects_in_order_and_the_first_rows_detail():
    """`_groups`: groups in sorted order; a group's subjects in (period, unit) order, each repeated
    as many times as it has rows; its peers' figures with their counts; the detail of the group's
    first row in the (period, unit) order, a peer's as well as a subject's; nothing on no rows."""
    from graph.impact import FIGURES, _groups
    figures = pa.Table.from_pylist([
        {"grp": "b", "period": "window", "subject": True, "unit": "U2", "x": 1.0, "n": 2.0, "detail": "A",
         "k": 1, "first_unit": "U2"},
        {"grp": "b", "period": "window", "subject": False, "unit": None, "x": 3.0, "n": 4.0, "detail": "B",
         "k": 5, "first_unit": "U1"},
        {"grp": "a", "period": "window", "subject": True, "unit": "U9", "x": 2.0, "n": 1.0, "detail": "C",
         "k": 2, "first_unit": "U9"},
        {"grp": "a", "period": "window", "subject": True, "unit": "U10", "x": 0.0, "n": 1.0, "detail": "C",
         "k": 1, "first_unit": "U10"},
        {"grp": "a", "period": "window", "subject": False, "unit": None, "x": 0.0, "n": 0.0, "detail": "C",
         "k": 3, "first_unit": "U0"}], FIGURES)
    got = list(_groups(figures))
    assert [g for g, _ in got] == ["a", "b"]
    a, b = got[0][1], got[1][1]
    assert a["unit"].tolist() == ["U10", "U9", "U9", None] and a["x"].tolist() == [0.0, 2.0, 2.0, 0.0]
    assert a["subject"].tolist() == [True, True, True, False] and a["k"].tolist() == [1, 1, 1, 3]
    assert b["detail"] == "B" and b["k"].tolist() == [1, 5] and b["unit"].tolist() == ["U2", None]
    assert list(_groups(figures.slice(0, 0))) == []
