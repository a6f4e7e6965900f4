"""entity_network: legal entities and centres tied by officers and shared identifiers, including
a closed entity succeeded by a new one (phoenix), whose billing is abnormal.

1. **Links** between legal entities, centres and officers: an officer in common (`OFFICER_OF`),
   a centre operated by an entity (`OPERATED_BY`), a provider billing under it (`BILLS_UNDER`),
   a shared address, phone, e-mail or bank account (`SHARES_IDENTIFIER`; identifiers shared by
   more than `identifier_hub_max` entities — an accountant's address, a bank's pooled account —
   are hubs and link nothing), and **succession**: an entity created within `phoenix_days` after
   another was dissolved, at the same (non-hub) address or with an officer in common.
2. **Groups**: connected components with at least `min_entities` legal entities, billed through at
   least two providers (`MIN_BILLERS`) or holding a centre: a group billed by one provider and no
   centre — a practitioner's company converted into another, the same manager and address — is
   that provider's billing, which peer_outlier judges against its peers act by act.
3. **Billing**, judged as a test. Unit: a group. Observed: the euros each of its billing
   providers (through the group's centres, or billing under its entities) billed each patient.
   Null model: a group's patients cost what its billers' peers' patients cost (same provider
   kind and specialty; the peers are the providers billing for no network judged, so that a
   chain does not set its own yardstick): each is beyond the peers' 90 % quantile of euros per
   patient with the peers' exceedance probability p₀ (plus half a patient), and honest
   providers differ around it (intra-class correlation ρ of the peer group, estimated robustly
   by `graph.stats.rate_null`, the largest of the group's peer groups). The count c of the
   group's patients beyond is beta-binomial; tail probability P(C ≥ c); Benjamini–Hochberg at
   `fdr` over all groups.

Score: the euros billed beyond what peers bill for as many patients (Σ patients × the peers'
median euros per patient). A hospital group running several sites under one entity, a
mutualist network of dental centres, or one owner of two pharmacies billing like their peers, is
a network but not an alert. Legal entities and shared officers are accused; centres, other
officers and billers participants.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa

from .findings import Findings, euros, make_findings
from .model import Graph
from .network import connected_components
from .settings import EntityNetworkSettings
from .shared import provider_patients
from .stats import benjamini_hochberg, betabinom_logsf, rate_null, surprise_bits
from engine import query

_LINKS = """
SELECT src, dst, rel, coalesce(kind, role) AS detail, value FROM e
WHERE rel IN ('OFFICER_OF', 'OPERATED_BY', 'BILLS_UNDER', 'SHARES_IDENTIFIER')
  AND (src NOT LIKE 'patient:%')
UNION ALL
SELECT 'legal_entity:' || old.legal_entity_id, 'legal_entity:' || new.legal_entity_id, 'SUCCEEDED_BY',
       CASE WHEN a.value IS NOT NULL THEN 'same address' ELSE 'same officer' END,
       coalesce(a.value, o.person_id)
FROM le old JOIN le new
  ON new.created_on BETWEEN old.dissolved_on AND old.dissolved_on + INTERVAL ($days) DAY
 AND new.legal_entity_id <> old.legal_entity_id
LEFT JOIN (
    SELECT x.entity_id AS a_old, y.entity_id AS a_new, min(x.value) AS value
    FROM ident x JOIN ident y ON x.value = y.value AND x.kind = 'address' AND y.kind = 'address'
    WHERE x.entity_type = 'legal_entity' AND y.entity_type = 'legal_entity'
      AND (x.kind, x.value) NOT IN (SELECT kind, value FROM hubs)
    GROUP BY ALL
) a ON a.a_old = old.legal_entity_id AND a.a_new = new.legal_entity_id
LEFT JOIN (
    SELECT x.legal_entity_id AS o_old, y.legal_entity_id AS o_new, min(x.person_id) AS person_id
    FROM officers x JOIN officers y USING (person_id) GROUP BY ALL
) o ON o.o_old = old.legal_entity_id AND o.o_new = new.legal_entity_id
WHERE a.value IS NOT NULL OR o.person_id IS NOT NULL
ORDER BY 1, 2, 3, 4, 5   -- a total order: a pair can share an address and an account (the alert's links list)
"""

_NETWORK_BILLING = """
WITH mine AS (    -- what the networks billed: through their centres, or by providers billing under them
    SELECT g.group_id, c.provider_id, c.patient_id, c.amount, c.centre_id
    FROM claims c JOIN grp g ON g.node_id = 'centre:' || c.centre_id
    UNION ALL
    SELECT g.group_id, c.provider_id, c.patient_id, c.amount, NULL
    FROM claims c JOIN providers p USING (provider_id) JOIN grp g ON g.node_id = 'legal_entity:' || p.legal_entity_id
    WHERE c.centre_id IS NULL OR 'centre:' || c.centre_id NOT IN (SELECT node_id FROM grp)
), pair AS (      -- what each provider outside the networks billed each patient, all channels: the peers
    SELECT c.provider_id, c.patient_id, p.kind, coalesce(p.specialty, '') AS specialty, c.amount
    FROM pairs c JOIN providers p USING (provider_id)
    WHERE c.provider_id NOT IN (SELECT provider_id FROM mine)
), ref AS (       -- peers: per kind and specialty, the quantile and median of euros per patient
    SELECT kind, specialty, quantile_disc(amount, $q) AS q_amount, median(amount) AS median_amount
    FROM pair GROUP BY ALL
), share AS (
    SELECT kind, specialty, (count(*) FILTER (WHERE amount > q_amount) + 0.5) / (count(*) + 1) AS p0
    FROM pair JOIN ref USING (kind, specialty) GROUP BY ALL
)
"""

_BILLING = _NETWORK_BILLING + """
, here AS (
    SELECT m.group_id, m.provider_id, m.patient_id, p.kind, coalesce(p.specialty, '') AS specialty,
           round(sum(m.amount), 2) AS amount
    FROM mine m JOIN providers p USING (provider_id) GROUP BY ALL
)
SELECT h.group_id, round(sum(h.amount), 2) AS amount, count(*) AS patients,
       count(*) FILTER (WHERE h.amount > r.q_amount) AS beyond,
       -- sums of fractions (a median can be a half cent) in whole 10⁻⁹ and micro-euros, summed as
       -- integers: exact in any order, so their rounding never depends on the order of addition
       round(sum(CAST(round(s.p0 * 1000000000, 0) AS BIGINT)) / 1000000000, 9) AS expected_beyond,
       round(sum(CAST(round(r.median_amount * 1000000, 0) AS BIGINT)) / 1000000, 2) AS expected,
       list(DISTINCT h.provider_id ORDER BY h.provider_id) AS billers,
       list(DISTINCT h.kind || '|' || h.specialty ORDER BY h.kind || '|' || h.specialty) AS peer_groups
FROM here h JOIN ref r USING (kind, specialty) JOIN share s USING (kind, specialty)
GROUP BY h.group_id ORDER BY h.group_id
"""

_PARTS = _NETWORK_BILLING + """
-- each biller's and centre's part: euros billed beyond its patients × the peers' median
SELECT m.group_id, m.provider_id, m.centre_id, p.legal_entity_id,
       round(sum(CAST(round(m.amount * 1000000, 0) AS BIGINT)) / 1000000   -- micro-euros: exact in any order
             - count(DISTINCT m.patient_id) * any_value(r.median_amount), 2) AS excess
FROM mine m JOIN providers p USING (provider_id)
JOIN ref r ON r.kind = p.kind AND r.specialty = coalesce(p.specialty, '')
GROUP BY ALL ORDER BY ALL
"""

_PEER_SPREAD = """
WITH pair AS (
    -- euros per patient to the cent (`pairs`): a float sum's last bits depend on the order DuckDB
    -- adds in, and a patient at the quantile itself would be beyond it in one run and not in another
    SELECT c.provider_id, c.patient_id, p.kind, coalesce(p.specialty, '') AS specialty, c.amount
    FROM pairs c JOIN providers p USING (provider_id)
), ref AS (SELECT kind, specialty, quantile_disc(amount, $q) AS q_amount FROM pair GROUP BY ALL)
SELECT kind || '|' || specialty AS peer_group, provider_id, count(*) AS n,
       count(*) FILTER (WHERE amount > q_amount) AS beyond
FROM pair JOIN ref USING (kind, specialty)
WHERE provider_id NOT IN (SELECT unnest(billers) FROM judged)   -- the yardstick: providers outside the networks
GROUP BY ALL ORDER BY 1, 2
"""

# a patient billed beyond this quantile of its peers' patients (euros per patient) counts as beyond peers
QUANTILE = 0.9
# what a network is on the billing side: at least two billing providers, or a centre (one
# provider's billing under its own companies, however high, is that provider's: peer_outlier's
# business, not a network's; one dentist billing through a chain's three centres is a network)
MIN_BILLERS = 2


def detect_entity_networks(tables: Mapping[str, pa.Table], graph: Graph, settings: EntityNetworkSettings,
                           pairs: pa.Table | None = None) -> Findings:
    """One alert per abnormal group (`entity_network:<first legal entity id of the group>`).

    Parameters: contract tables `claims`, `providers`, `legal_entities`, `officers`,
    `identifiers`; the graph (its links and hubs); settings; the scan's `graph.shared` `pairs`
    (euros per provider and patient), made from the graph when not given. Score and
    `excess_euros`: euros.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> from .model import build_graph
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_entity_networks(t, build_graph(t), EntityNetworkSettings()).alerts.num_rows
        0
    """
    s = settings
    links = query(_LINKS, {"days": s.phoenix_days}, e=graph.edges, le=tables["legal_entities"],
                  ident=tables["identifiers"], hubs=graph.hubs, officers=tables["officers"]).to_pylist()
    groups = [g for g in connected_components([(l["src"], l["dst"]) for l in links])
              if sum(n.startswith("legal_entity:") for n in g) >= s.min_entities]
    if not groups:
        return make_findings([], [])
    names = {f"group-{i}": g for i, g in enumerate(groups)}
    grp = pa.table({"group_id": [k for k, g in names.items() for _ in g], "node_id": [n for g in names.values() for n in g]})
    p = {"q": QUANTILE}
    pairs = provider_patients(graph) if pairs is None else pairs
    billing = {r["group_id"]: r for r in query(_BILLING, p, claims=tables["claims"], providers=tables["providers"],
                                                grp=grp, pairs=pairs).to_pylist()}
    spread = query(_PEER_SPREAD, p, pairs=pairs, providers=tables["providers"],
                   judged=pa.table({"billers": pa.array([b["billers"] for b in billing.values()],
                                                        pa.list_(pa.string()))}))
    rho_of = _peer_rho(spread)
    # a network bills through several providers or centres: a group billed by one provider and no
    # centre (a practitioner's company converted into another form, the same manager and address)
    # is that provider's billing, which peer_outlier judges act by act against its peers
    judged = [k for k in names if k in billing and (len(billing[k]["billers"]) >= MIN_BILLERS
                                                    or any(n.startswith("centre:") for n in names[k]))]
    n = np.array([billing[k]["patients"] for k in judged], float)
    c = np.array([billing[k]["beyond"] for k in judged], float)
    e = np.array([billing[k]["expected_beyond"] for k in judged], float)
    rho = np.array([max(rho_of.get(g, 0.0) for g in billing[k]["peer_groups"]) for k in judged])
    log_p = betabinom_logsf(c, n, e / np.maximum(n, 1), rho)
    hit = benjamini_hochberg(log_p, s.fdr) & (c > e) & \
        np.array([billing[k]["amount"] > billing[k]["expected"] for k in judged], bool)
    parts = query(_PARTS, p, claims=tables["claims"], providers=tables["providers"], grp=grp, pairs=pairs).to_pylist()
    operator = dict(zip(tables["centres"]["centre_id"].to_pylist(), tables["centres"]["legal_entity_id"].to_pylist()))
    alerts, entities = [], []
    for key, lp in zip(np.array(judged, object)[hit].tolist(), log_p[hit]):
        members, b = names[key], billing[key]
        own: dict[str, float] = {}        # each biller's, centre's and legal entity's part of the excess
        for x in (x for x in parts if x["group_id"] == key):
            entity = operator.get(x["centre_id"]) if x["centre_id"] else x["legal_entity_id"]
            for node in (f"provider:{x['provider_id']}", f"centre:{x['centre_id']}", f"legal_entity:{entity}"):
                own[node] = own.get(node, 0.0) + x["excess"]
        inside = set(members)
        glinks = [l for l in links if l["src"] in inside]
        les = [n for n in members if n.startswith("legal_entity:")]
        centres = [n for n in members if n.startswith("centre:")]
        officers = sorted({l["src"] for l in glinks if l["rel"] == "OFFICER_OF"})
        shared_officers = [o for o in officers if sum(l["src"] == o and l["rel"] == "OFFICER_OF" for l in glinks) > 1]
        idents = sorted({l["detail"] for l in glinks if l["rel"] == "SHARES_IDENTIFIER"})
        succ = [l for l in glinks if l["rel"] == "SUCCEEDED_BY"]
        ties = ([f"{len(shared_officers)} shared officer(s)"] if shared_officers else []) + \
            [f"a shared {k.replace('_', ' ')}" for k in idents] + ([f"{len(succ)} succession(s)"] if succ else [])
        aid = f"entity_network:{les[0].split(':', 1)[1]}"
        ratio = b["amount"] / max(b["expected"], 1e-9)
        succ_text = "; ".join(f"{l['src'].split(':', 1)[1]} succeeded by {l['dst'].split(':', 1)[1]} ({l['detail']})"
                              for l in succ)
        alerts.append({
            "alert_id": aid, "pattern": "entity_network", "score": b["amount"] - b["expected"],
            "excess_euros": b["amount"] - b["expected"], "surprise_bits": float(surprise_bits(lp)),
            "summary": (f"{len(les)} legal entities and {len(centres)} centre(s) tied by {', '.join(ties) or 'links'}"
                        + (f" ({succ_text})" if succ else "")
                        + f" billed {euros(b['amount'])} for {b['patients']} patients, {ratio:.1f}× what peers bill "
                          f"for as many patients ({euros(b['expected'])}); {b['beyond']} patients beyond the "
                          f"{QUANTILE:.0%} quantile of peers' patients, where {b['expected_beyond']:.1f} would be."),
            "evidence": {"test": "beta-binomial tail of patients beyond peers' quantile, Benjamini-Hochberg",
                         "fdr": s.fdr, "members": sorted(members), "links": glinks, "amount": b["amount"],
                         "expected": b["expected"], "patients": b["patients"], "ratio": ratio,
                         "beyond": b["beyond"], "expected_beyond": b["expected_beyond"],
                         "log10_p": lp / np.log(10), "billers": b["billers"]},
        })
        dissolved = {l["src"] for l in succ}
        successors = {l["dst"] for l in succ}
        for n in les:
            role = "dissolved" if n in dissolved else "successor" if n in successors else "legal_entity"
            entities.append({"alert_id": aid, "entity_type": "legal_entity", "entity_id": n.split(":", 1)[1], "role": role,
                             "standing": "accused", "excess_euros": own.get(n, 0.0)})
        for n in centres:
            entities.append({"alert_id": aid, "entity_type": "centre", "entity_id": n.split(":", 1)[1], "role": "centre",
                             "standing": "participant", "excess_euros": own.get(n, 0.0)})
        for n in officers:
            etype, eid = n.split(":", 1)
            entities.append({"alert_id": aid, "entity_type": etype, "entity_id": eid,
                             "role": "shared_officer" if n in shared_officers else "officer",
                             "standing": "accused" if n in shared_officers else "participant"})
        for p in b["billers"]:
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": p, "role": "biller",
                             "standing": "participant", "excess_euros": own.get(f"provider:{p}", 0.0)})
    return make_findings(alerts, entities)


def _peer_rho(spread: pa.Table) -> dict[str, float]:
    """Per peer group (kind|specialty): how much honest providers' shares of patients beyond the
    quantile vary (intra-class correlation, `graph.stats.rate_null`)."""
    out: dict[str, float] = {}
    rows: dict[str, list] = {}
    for g, n, c in zip(spread["peer_group"].to_pylist(), spread["n"].to_pylist(), spread["beyond"].to_pylist()):
        rows.setdefault(g, []).append((n, c))
    for g, nc in rows.items():   # in one order whatever the query's: float sums depend on it
        nc.sort()
        out[g] = rate_null(np.array([x[0] for x in nc], float), np.array([x[1] for x in nc], float))[1]
    return out
