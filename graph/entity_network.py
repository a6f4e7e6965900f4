"""entity_network: legal entities and centres tied by officers and shared identifiers, including
a closed entity succeeded by a new one (phoenix), whose billing is abnormal.

1. **Links** between legal entities, centres and officers: an officer in common (`OFFICER_OF`),
   a centre operated by an entity (`OPERATED_BY`), a provider billing under it (`BILLS_UNDER`),
   a shared address, phone, e-mail or bank account (`SHARES_IDENTIFIER`; identifiers shared by
   more than `identifier_hub_max` entities — an accountant's address, a bank's pooled account —
   are hubs and link nothing), and **succession**: an entity created within `phoenix_days` after
   another was dissolved, at the same (non-hub) address or with an officer in common.
2. **Groups**: connected components with at least `min_entities` legal entities.
3. **Billing**: the claims billed through the group's centres or by providers billing under its
   entities, against peers: for each billing provider, its patients here times the median amount
   per patient of providers of its kind and specialty. A group billing `min_ratio` times that, for
   at least `min_patients` patients, is an alert; the score is the excess amount in euros.

A hospital group running several sites under one entity, or one owner of two pharmacies billing
like their peers, is a network but not an alert.
"""
from __future__ import annotations

from typing import Mapping

import pyarrow as pa

from .findings import Findings, euros, make_findings
from .model import Graph
from .network import connected_components
from .settings import EntityNetworkSettings
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
ORDER BY 1, 2, 3
"""

_BILLING = """
WITH peer AS (   -- median amount per patient of each kind and specialty
    SELECT kind, specialty, median(amount / patients) AS per_patient FROM (
        SELECT c.provider_id, p.kind, coalesce(p.specialty, '') AS specialty,
               round(sum(c.amount), 2) AS amount, count(DISTINCT c.patient_id) AS patients
        FROM claims c JOIN providers p USING (provider_id) GROUP BY ALL
    ) GROUP BY ALL
), mine AS (
    SELECT g.group_id, c.provider_id, c.patient_id, c.amount
    FROM claims c JOIN grp g ON g.node_id = 'centre:' || c.centre_id
    UNION ALL
    SELECT g.group_id, c.provider_id, c.patient_id, c.amount
    FROM claims c JOIN providers p USING (provider_id) JOIN grp g ON g.node_id = 'legal_entity:' || p.legal_entity_id
    WHERE c.centre_id IS NULL OR 'centre:' || c.centre_id NOT IN (SELECT node_id FROM grp)
), per_provider AS (
    SELECT m.group_id, m.provider_id, round(sum(m.amount), 2) AS amount, count(DISTINCT m.patient_id) AS patients,
           any_value(peer.per_patient) AS peer_per_patient
    FROM mine m JOIN providers p USING (provider_id)
    LEFT JOIN peer ON peer.kind = p.kind AND peer.specialty = coalesce(p.specialty, '')
    GROUP BY ALL
)
SELECT group_id, round(sum(amount), 2) AS amount, sum(patients)::BIGINT AS patients,
       round(sum(patients * coalesce(peer_per_patient, amount / patients)), 2) AS expected,
       list(provider_id ORDER BY provider_id) AS billers
FROM per_provider GROUP BY group_id ORDER BY group_id
"""


def detect_entity_networks(tables: Mapping[str, pa.Table], graph: Graph, settings: EntityNetworkSettings) -> Findings:
    """One alert per abnormal group (`entity_network:<first legal entity id of the group>`).

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
    billing = {r["group_id"]: r for r in query(_BILLING, claims=tables["claims"], providers=tables["providers"],
                                                grp=grp).to_pylist()}
    alerts, entities = [], []
    for key, members in names.items():
        b = billing.get(key)
        if not b or b["patients"] < s.min_patients or b["amount"] < s.min_ratio * b["expected"]:
            continue
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
            "summary": (f"{len(les)} legal entities and {len(centres)} centre(s) tied by {', '.join(ties) or 'links'}"
                        + (f" ({succ_text})" if succ else "")
                        + f" billed {euros(b['amount'])} for {b['patients']} patients, {ratio:.1f}× what peers bill "
                          f"for as many patients ({euros(b['expected'])})."),
            "evidence": {"members": sorted(members), "links": glinks, "amount": b["amount"],
                         "expected": b["expected"], "patients": b["patients"], "ratio": ratio,
                         "billers": b["billers"]},
        })
        dissolved = {l["src"] for l in succ}
        successors = {l["dst"] for l in succ}
        for n in les:
            role = "dissolved" if n in dissolved else "successor" if n in successors else "legal_entity"
            entities.append({"alert_id": aid, "entity_type": "legal_entity", "entity_id": n.split(":", 1)[1], "role": role})
        for n in centres:
            entities.append({"alert_id": aid, "entity_type": "centre", "entity_id": n.split(":", 1)[1], "role": "centre"})
        for n in officers:
            etype, eid = n.split(":", 1)
            entities.append({"alert_id": aid, "entity_type": etype, "entity_id": eid,
                             "role": "shared_officer" if n in shared_officers else "officer"})
        for p in b["billers"]:
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": p, "role": "biller"})
    return make_findings(alerts, entities)
