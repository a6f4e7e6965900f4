"""Generated DCIR extracts with random regularisations, information-only lines, sentinel numbers,
detail keys of another type and orphan detail rows: the conversion equals the plain oracle of
`tests/snds_oracle.py`, netted totals equal the sum of their lines, and every line and euro read
is accounted for in the conversion report."""
import csv
import json
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from loaders.snds import read_snds

from .conftest import examples
from .snds_oracle import KEYS, converted, expected_claims

PATIENTS = ["ZQXPAT000000001", "ZQXPAT000000002", "ZQXPAT000000003"]
PROVIDERS = ["75112345", "75612345", "75212345", "00000000", "99999999", "", "0", "75199999", "0.0", "75212345.0"]
PRESCRIBERS = ["", "0000000000", "75112346", "99999999", "75112347", " 0.00 ", "99999999.0"]
CENTRES = [None, None, "", "0", "000000000", "750100066", "690780009", "0.0", "690780009.0", "010000024.0"]
PRS = list(KEYS) + ["BEN_NIR_PSA", "PFS_EXE_NUM", "PFS_PRE_NUM", "PRS_NAT_REF", "EXE_SOI_DTD", "PRS_PAI_MNT",
                    "PRS_ACT_QTE", "PSE_ACT_NAT", "PSE_SPE_COD", "PSP_SPE_COD", "PSE_STJ_COD", "DPN_QLF", "PRS_DPN_QLP"]

service = st.fixed_dictionaries({
    "patient": st.sampled_from(PATIENTS), "provider": st.sampled_from(PROVIDERS),
    "fictitious": st.booleans(), "prescriber": st.sampled_from(PRESCRIBERS), "centre": st.sampled_from(CENTRES),
    "nat": st.sampled_from(["1111", "3122", "3317"]), "day": st.sampled_from(["2025-01-06", "2025-01-07"]),
    "cents": st.integers(1, 20_000), "qty": st.integers(1, 3), "info": st.integers(0, 9).map(lambda x: x == 0),
    # a negative number of boxes under a positive service contradicts it; a price blank, not a number or of 5 decimals
    "drugs": st.lists(st.tuples(st.sampled_from(["3400930000011", "3400930000028"]), st.sampled_from([1, 2, 2, -1]),
                                st.sampled_from(["", "", "4.20", "12.34567", "3,5", "n/a", "0"])), max_size=3),
    "timestamp_keys": st.booleans(),
    # 0 none, 1 cancelled in a later flow, 2 partly corrected, 3 cancelled twice by mistake
    "regularisation": st.sampled_from([0, 0, 0, 1, 2, 3]),
})
orphans = st.lists(st.fixed_dictionaries({   # cancellations whose original is in an earlier extract
    "patient": st.sampled_from(PATIENTS), "provider": st.sampled_from(PROVIDERS[:3]),
    "cents": st.integers(1, 5000)}), max_size=2)


def build(services, orphan_cancellations, orphan_details):
    prs, pha, ete = [], [], []
    doc = 1000

    def add(s, flux, cents, qty, drugs):
        nonlocal doc
        doc += 1
        k = {"FLX_DIS_DTD": flux, "FLX_TRT_DTD": "2025-01-28", "FLX_EMT_TYP": "1", "FLX_EMT_NUM": "101",
             "FLX_EMT_ORD": "1", "ORG_CLE_NUM": "01C751000", "DCT_ORD_NUM": str(doc), "PRS_ORD_NUM": "1",
             "REM_TYP_AFF": "1"}
        prs.append({**k, "BEN_NIR_PSA": s["patient"], "PFS_EXE_NUM": s["provider"], "PFS_PRE_NUM": s["prescriber"],
                    "PRS_NAT_REF": s["nat"], "EXE_SOI_DTD": s["day"], "PRS_PAI_MNT": f"{Decimal(cents) / 100:.2f}",
                    "PRS_ACT_QTE": str(qty), "PSE_ACT_NAT": "0", "PSE_SPE_COD": "1", "PSP_SPE_COD": "1",
                    "PSE_STJ_COD": "99" if s["fictitious"] else "50", "DPN_QLF": "71" if s["info"] else "0",
                    "PRS_DPN_QLP": "0"})
        for i, (code, boxes, price) in enumerate(drugs, start=1):
            dk = dict(k)
            if s["timestamp_keys"]:     # the detail table's keys as timestamps and padded numbers
                dk.update(FLX_DIS_DTD=flux + " 00:00:00", FLX_TRT_DTD="2025-01-28 00:00:00", FLX_EMT_TYP="01",
                          DCT_ORD_NUM=f"{doc}.0")
            pha.append({**dk, "PHA_ORD_NUM": str(i), "PHA_PRS_C13": code, "PHA_ACT_QSN": str(boxes),
                        "PHA_ACT_PRU": price})
        if s["centre"] is not None:
            ete.append({**k, "ETB_EXE_FIN": s["centre"]})

    for s in services:
        add(s, "2025-02-01", s["cents"], s["qty"], s["drugs"])
        if s["regularisation"] in (1, 3):
            add(s, "2025-03-01", -s["cents"], -s["qty"], [(c, -b, p) for c, b, p in s["drugs"]])
        if s["regularisation"] == 3:
            add(s, "2025-03-01", -s["cents"], -s["qty"], [(c, -b, p) for c, b, p in s["drugs"]])
        if s["regularisation"] == 2:
            add(s, "2025-03-01", -(s["cents"] // 2), -1 if s["qty"] > 1 else 0, [])
    for o in orphan_cancellations:
        add({**o, "prescriber": "", "centre": None, "nat": "1111", "day": "2024-12-20", "fictitious": False,
             "info": False, "timestamp_keys": False}, "2025-02-01", -o["cents"], -1, [])
    for n in range(orphan_details):
        pha.append({**{k: "1" for k in KEYS}, "DCT_ORD_NUM": str(900000 + n), "FLX_DIS_DTD": "2025-02-01",
                    "FLX_TRT_DTD": "2025-01-28", "PHA_ORD_NUM": "1", "PHA_PRS_C13": "3400930000035",
                    "PHA_ACT_QSN": "1", "PHA_ACT_PRU": ""})
    return {"ER_PRS_F": prs, "ER_PHA_F": pha, "ER_ETE_F": ete}


def write(folder: Path, tables: dict):
    columns = {"ER_PRS_F": PRS, "ER_PHA_F": list(KEYS) + ["PHA_ORD_NUM", "PHA_PRS_C13", "PHA_ACT_QSN", "PHA_ACT_PRU"],
               "ER_ETE_F": list(KEYS) + ["ETB_EXE_FIN"]}
    for name, rows in tables.items():
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=columns[name], delimiter=";")
            w.writeheader()
            w.writerows(rows)


def cents(x) -> int:
    return int(round(Decimal(str(x)) * 100))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(services=st.lists(service, min_size=1, max_size=12), orphan_cancellations=orphans,
       orphan_details=st.integers(0, 2))
def test_netting_matches_the_oracle_and_every_line_and_euro_is_accounted_for(services, orphan_cancellations,
                                                                              orphan_details):
    tables = build(services, orphan_cancellations, orphan_details)
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp), tables)
        conversion = read_snds(tmp)
    assert sorted(converted(conversion), key=str) == sorted(expected_claims(tables), key=str)

    r = conversion.report
    s, n = r["service_lines"], r["netting"]
    info, orphan = s["left_out"]["information_only"], s["left_out"]["no_practitioner_no_establishment"]
    # every line read is left out by a rule, or builds claim lines that are kept plain or netted
    assert s["read"] == len(tables["ER_PRS_F"])
    built = {row["snds_line"] for row in conversion["claims"].to_pylist()}
    assert len(built) <= s["read"] - info["lines"] - orphan["lines"]
    assert s["claim_lines_built"] == r["claims"]["plain_lines"] + sum(
        n[o]["claim_lines"] for o in ("kept", "netted_to_zero", "unmatched")) + \
        r["quantity_sign_contradicts_amount"]["claim_lines"]
    assert r["claims"]["rows"] == r["claims"]["plain_lines"] + n["kept"]["claims"] == conversion["claims"].num_rows
    assert n["services"] <= sum(n[o]["services"] for o in ("kept", "netted_to_zero", "unmatched")) <= \
        sum(n[o]["claims"] for o in ("kept", "netted_to_zero", "unmatched"))
    # every euro read is written, or left out by a rule (a cancelled service nets to zero)
    assert n["netted_to_zero"]["amount"] == 0
    assert cents(s["amount"]) == sum(cents(x["amount"]) for x in (info, orphan, r["claims"], n["unmatched"],
                                                                  r["quantity_sign_contradicts_amount"]))
    assert cents(r["claims"]["amount"]) == sum(cents(c["amount"]) for c in conversion["claims"].to_pylist())
    assert cents(s["amount"]) == sum(cents(p["PRS_PAI_MNT"]) for p in tables["ER_PRS_F"])
    # every detail row matches its service line, whatever the type its keys were written in, but the orphans
    assert r["details"]["ER_PHA_F.csv"]["unmatched"] == orphan_details
    assert not any(p in json.dumps(r) for p in PATIENTS)
