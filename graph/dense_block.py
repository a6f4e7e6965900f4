"""dense_block: providers billing the same patients far more than where the patients live explains
(borrowed or phantom patient lists).

Borrowed lists are not filled like a generator's: in the canonical field case, a Medicare block
of 122 providers × 181 patients, each provider billed 47 or more of the 181 patients, about a
quarter; members keep their honest practice beside it (camouflage), and several professions mix.

1. **Local care is honest.** A provider's local areas are its own postcode and the areas it
   serves at least as much as it serves the region: its share of the area's patients is at least
   its share of the region's (a location quotient ≥ 1). Patients of an area local to either of two
   providers are left out of their judgement: a town's nurses, GP and pharmacy, a nursing home's
   team, nurses sharing twice-daily insulin rounds, a département's specialists and laboratory
   share patients because they are that area's carers.
2. **Statistically validated links** (Tumminello et al., "Statistically validated networks in
   bipartite complex systems", PLoS ONE 6, 2011), with geography in the null. Null model (a
   configuration model within each area and provider kind): each provider a of kind k bills, in
   each area A, n_a(A) of its patients, each patient j of A with probability proportional to j's
   number of providers of kind k, d_j,k (a chronic patient sees several specialists); two
   providers of kinds k and l then share on average
   E = Σ_A n_a(A) n_b(A) Σ_{j∈A} d_j,k d_j,l / (D_k(A) D_l(A)) patients (d_j,k(d_j,k − 1) when
   k = l; D_k(A) = Σ_{j∈A} d_j,k). Observed: the patients they share outside their local areas;
   tail probability P(Poisson(E) ≥ shared). Links survive Benjamini–Hochberg at `fdr` over every
   pair sharing a patient.
3. **Blocks.** In each connected group of validated links, FRAUDAR's greedy peeling (Hooi et
   al., "FRAUDAR: bounding graph fraud in the face of camouflage", KDD 2016) on the providers and
   the patients two of them share, edges weighted 1/log(d + c), finds the densest block; it is
   taken out and peeling repeats on the rest (several blocks). A block keeps the providers
   validated with another member; with `min_providers` it is an alert.

Score: the block's billed provider-patient pairs beyond chance (Σ over its providers i of kind k
and patients j of n_i(A_j) d_j,k / D_k(A_j)); `excess_euros` prices them at the block's euros per
billed pair. Providers are accused, the borrowed patients victims.
"""
from __future__ import annotations

import heapq
import math
from typing import Mapping

import numpy as np
import pyarrow as pa

from .findings import Findings, make_findings
from .model import Graph
from .network import connected_components
from .settings import DenseBlockSettings
from .shared import Shared
from .stats import benjamini_hochberg, poisson_logsf, surprise_bits
from engine import query

_NONLOCAL = """
WITH b AS (SELECT * FROM billing WHERE degree <= $patient_max),
counts AS (SELECT provider, area, count(*) AS n FROM b GROUP BY ALL),
area AS (SELECT area, count(DISTINCT patient) AS n FROM b GROUP BY ALL),
total AS (SELECT count(DISTINCT patient) AS n FROM b),
mine AS (SELECT provider, sum(n) AS n FROM counts GROUP BY ALL),
local AS (      -- its postcode, and the areas it serves at least as much as the region (location quotient ≥ 1)
    SELECT c.provider, c.area FROM counts c JOIN area a USING (area) JOIN mine m USING (provider)
    WHERE c.n / a.n >= m.n / (SELECT n FROM total)
    UNION SELECT 'provider:' || provider_id, postcode FROM providers WHERE postcode IS NOT NULL
)
SELECT b.provider, b.patient, b.area, b.degree FROM b
WHERE (b.provider, b.area) NOT IN (SELECT (provider, area) FROM local)
ORDER BY b.provider, b.patient
"""

_PAIRS = """
WITH b AS (
    SELECT b.provider, b.patient, b.area, coalesce(p.kind, '?') AS kind FROM billing b
    LEFT JOIN providers p ON b.provider = 'provider:' || p.provider_id WHERE b.degree <= $patient_max
), kd AS (SELECT patient, area, kind, count(*) AS d FROM b GROUP BY ALL      -- degree by provider kind
), dk AS (SELECT area, kind, sum(d)::DOUBLE AS d FROM kd GROUP BY ALL
), q AS (      -- per area and pair of kinds k ≤ l: Σ_j d_k d_l (d_k (d_k − 1) when k = l) / (D_k D_l)
    SELECT x.area, x.kind AS k, y.kind AS l,
           sum(CASE WHEN x.kind = y.kind THEN x.d * (x.d - 1) ELSE x.d * y.d END) / (any_value(u.d) * any_value(v.d)) AS q
    FROM kd x JOIN kd y ON x.patient = y.patient AND x.kind <= y.kind
    JOIN dk u ON u.area = x.area AND u.kind = x.kind JOIN dk v ON v.area = y.area AND v.kind = y.kind
    GROUP BY ALL
), na AS (SELECT nl.provider, nl.area, any_value(b.kind) AS kind, count(*) AS n
          FROM nl JOIN b USING (provider, patient) GROUP BY ALL
), pairs AS (
    SELECT x.provider AS a, y.provider AS b, count(*) AS shared
    FROM nl x JOIN nl y ON x.patient = y.patient AND x.provider < y.provider GROUP BY ALL
), expected AS (
    SELECT p.a, p.b, sum(xa.n * yb.n * q.q) AS expected
    FROM pairs p JOIN na xa ON xa.provider = p.a JOIN na yb ON yb.provider = p.b AND yb.area = xa.area
    JOIN q ON q.area = xa.area AND q.k = least(xa.kind, yb.kind) AND q.l = greatest(xa.kind, yb.kind)
    GROUP BY ALL
)
SELECT p.a, p.b, p.shared, coalesce(e.expected, 0) AS expected
FROM pairs p LEFT JOIN expected e USING (a, b) ORDER BY a, b
"""

_CHANCE = """
WITH b AS (
    SELECT b.provider, b.patient, b.area, coalesce(p.kind, '?') AS kind FROM billing b
    LEFT JOIN providers p ON b.provider = 'provider:' || p.provider_id WHERE b.degree <= $patient_max
), kd AS (SELECT patient, area, kind, count(*) AS d FROM b GROUP BY ALL
), dk AS (SELECT area, kind, sum(d)::DOUBLE AS d FROM kd GROUP BY ALL
), na AS (SELECT nl.provider, nl.area, any_value(b.kind) AS kind, count(*) AS n
          FROM nl JOIN b USING (provider, patient) WHERE nl.provider IN (SELECT provider FROM sel) GROUP BY ALL
), pts AS (SELECT DISTINCT patient, area FROM nl WHERE patient IN (SELECT patient FROM tp))
SELECT coalesce(sum(na.n * coalesce(kd.d, 0) / dk.d), 0) AS chance, count(DISTINCT pts.area) AS areas
FROM pts JOIN na USING (area) JOIN dk ON dk.area = pts.area AND dk.kind = na.kind
LEFT JOIN kd ON kd.patient = pts.patient AND kd.kind = na.kind
"""

_AMOUNT = """
SELECT coalesce(sum(amount), 0) AS amount FROM e
WHERE rel IN ('BILLED', 'DISPENSED_TO') AND src IN (SELECT provider FROM sel) AND dst IN (SELECT patient FROM tp)
"""


def fraudar_peel(edges: list[tuple[str, str, float]]) -> tuple[set[str], float]:
    """Greedy peeling of a weighted bipartite graph: the node set of highest weight per node.

    `edges`: (row, column, weight). Removes, one at a time, the node whose incident weight in the
    remaining graph is smallest, and returns the densest remaining set seen and its density.
    O(E log V) with a lazy heap. Ties are broken by node id, so the result is deterministic.

    Example:
        >>> s, g = fraudar_peel([("a", "x", 1.0), ("b", "x", 1.0), ("a", "y", 1.0), ("b", "y", 1.0), ("c", "z", 1.0)])
        >>> sorted(s), g
        (['a', 'b', 'x', 'y'], 1.0)
    """
    adj: dict[str, dict[str, float]] = {}
    for r, c, w in edges:
        adj.setdefault(r, {})[c] = adj.setdefault(r, {}).get(c, 0.0) + w
        adj.setdefault(c, {})[r] = adj.setdefault(c, {}).get(r, 0.0) + w
    prio = {n: sum(nb.values()) for n, nb in adj.items()}
    total = sum(prio.values()) / 2
    alive = set(adj)
    heap = [(p, n) for n, p in prio.items()]
    heapq.heapify(heap)
    best, best_size, order = total / max(len(alive), 1), len(alive), []
    while heap:
        p, n = heapq.heappop(heap)
        if n not in alive or p != prio[n]:
            continue
        alive.discard(n)
        order.append(n)
        total -= prio[n]
        for m, w in adj[n].items():
            if m in alive:
                prio[m] -= w
                heapq.heappush(heap, (prio[m], m))
        if alive and total / len(alive) > best + 1e-12:
            best, best_size = total / len(alive), len(alive)
    removed = len(adj) - best_size
    return set(adj) - set(order[:removed]), best


def detect_dense_blocks(tables: Mapping[str, pa.Table], graph: Graph, shared: Shared, settings: DenseBlockSettings,
                        patient_max: int = 40) -> Findings:
    """One alert per dense block (`dense_block:<first provider id of the block>`).

    Parameters: `providers` (postcodes), the graph's billing edges (amounts), the scan's
    `Shared` intermediates (`billing`: patients' areas and degrees), settings; `patient_max`:
    patients billed by more providers are left out (they would link everyone).

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> from .model import build_graph
        >>> from .shared import build_shared
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> g = build_graph(t)
        >>> detect_dense_blocks(t, g, build_shared(t, g), DenseBlockSettings()).alerts.num_rows
        0
    """
    s = settings
    p = {"patient_max": patient_max}
    nl = query(_NONLOCAL, p, billing=shared.billing, providers=tables["providers"])
    pairs = query(_PAIRS, p, nl=nl, billing=shared.billing, providers=tables["providers"])
    shared_n, expected = pairs["shared"].to_numpy().astype(float), pairs["expected"].to_numpy()
    log_p = poisson_logsf(shared_n, expected)
    ok = benjamini_hochberg(log_p, s.fdr) & (shared_n > expected)
    a, b = pairs["a"].to_numpy(zero_copy_only=False)[ok], pairs["b"].to_numpy(zero_copy_only=False)[ok]
    link_bits = {(x, y): float(v) for x, y, v in zip(a.tolist(), b.tolist(), surprise_bits(log_p[ok]).tolist())}
    groups = [g for g in connected_components(list(link_bits)) if len(g) >= s.min_providers]
    kinds = {f"provider:{x}": k for x, k in zip(tables["providers"]["provider_id"].to_pylist(),
                                                tables["providers"]["kind"].to_pylist())}
    blocks = []
    for group in groups:
        rows = query("SELECT provider, patient, degree FROM nl WHERE provider IN (SELECT provider FROM sel) "
                     "ORDER BY provider, patient", nl=nl, sel=pa.table({"provider": group})).to_pylist()
        left = set(group)
        while len(left) >= s.min_providers and len(blocks) < s.max_blocks:
            count: dict[str, int] = {}
            for r in rows:
                if r["provider"] in left:
                    count[r["patient"]] = count.get(r["patient"], 0) + 1
            sub = [r for r in rows if r["provider"] in left and count[r["patient"]] >= 2]
            block, _ = fraudar_peel([(r["provider"], r["patient"], 1.0 / math.log(r["degree"] + s.column_c))
                                     for r in sub])
            members = sorted(n for n in block if n.startswith("provider:"))
            if not members:
                break
            left -= set(members)
            linked = sorted(x for x in members if any((min(x, y), max(x, y)) in link_bits for y in members if y != x))
            patients = sorted(n for n in block if n.startswith("patient:"))
            if len(linked) >= s.min_providers:
                pts = set(patients)
                billed = len({(r["provider"], r["patient"]) for r in rows
                              if r["provider"] in set(linked) and r["patient"] in pts})
                blocks.append((linked, patients, billed))
    alerts, entities = [], []
    for members, patients, billed in blocks:
        inside = set(members)
        sel, tp = pa.table({"provider": members}), pa.table({"patient": patients})
        chance = query(_CHANCE, p, nl=nl, billing=shared.billing, providers=tables["providers"], sel=sel,
                       tp=tp).to_pylist()[0]
        amount = query(_AMOUNT, e=graph.edges, sel=sel, tp=tp)["amount"][0].as_py()
        excess = billed - chance["chance"]
        bits = sum(v for (x, y), v in link_bits.items() if x in inside and y in inside)
        pairs_n = len(members) * len(patients)
        aid = f"dense_block:{members[0].split(':', 1)[1]}"
        mix = ", ".join(f"{n} {k}" for k, n in sorted(_count(kinds.get(m) or "unknown" for m in members).items()))
        alerts.append({
            "alert_id": aid, "pattern": "dense_block", "score": excess,
            "excess_euros": excess * amount / max(billed, 1), "surprise_bits": bits,
            "summary": (f"{len(members)} providers ({mix}) billed the same {len(patients)} patients from outside "
                        f"their local areas: {billed} of the {pairs_n} provider-patient pairs ({billed / pairs_n:.0%}), "
                        f"against {chance['chance']:.1f} expected from where the patients live; they live in "
                        f"{chance['areas']} postcode(s)."),
            "evidence": {"test": "Poisson tail of shared patients per pair (validated links), Benjamini-Hochberg, "
                                 "FRAUDAR peeling", "fdr": s.fdr,
                         "providers": members, "patients": len(patients), "billed_pairs": billed,
                         "possible_pairs": pairs_n, "expected_pairs": chance["chance"], "fill": billed / pairs_n,
                         "areas": chance["areas"], "amount": amount,
                         "links": [{"a": x, "b": y, "surprise_bits": v} for (x, y), v in sorted(link_bits.items())
                                   if x in inside and y in inside]},
        })
        for m in members:
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": m.split(":", 1)[1],
                             "role": "biller", "standing": "accused"})
        for x in patients[:10]:
            entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": x.split(":", 1)[1],
                             "role": "patient", "standing": "victim"})
    return make_findings(alerts, entities)


def _count(items) -> dict:
    out: dict = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out
