"""dense_block: providers billing the same set of patients far more densely than chance.

Borrowed or phantom patient lists show up as a block of the provider × patient billing graph in
which every provider bills nearly every patient, although the patients live all over the region.

1. **Candidates.** Two providers are linked when they share `min_shared` patients and at least
   `min_lift` times what the patients' home postcodes predict if each patient chose providers
   independently: expected = Σ_area n_a(area) · n_b(area) / N(area). Colleagues of one town share
   patients because they are the town's providers (lift ≈ 1); a borrowed list does not.
2. **Peeling.** In each connected group of linked providers, FRAUDAR's greedy peeling (Hooi et
   al., KDD 2016) runs on the providers and all their patients: edges weigh 1/log(d + c), d the
   patient's number of providers (so popular patients, the camouflage, count less), and the node
   whose removal loses least weight is peeled until nothing is left; the densest set seen (weight
   per node) is a block. Its providers are taken out and the peeling repeats on the rest, as
   FRAUDAR does for several blocks, until fewer than `min_providers` remain.
3. **Judgement.** A block with `min_providers`, `min_patients` and a fill (billed pairs over all
   provider-patient pairs) of `min_fill` is an alert. Density versus chance: the billed pairs
   against the pairs the home-area model predicts. The score is the excess of billed pairs.
"""
from __future__ import annotations

import heapq
import math
from typing import Mapping

import pyarrow as pa

from .findings import Findings, make_findings
from .model import Graph
from .network import connected_components
from .settings import DenseBlockSettings
from engine import query

_BIPARTITE = """
SELECT DISTINCT src AS provider, dst AS patient FROM e
WHERE rel IN ('BILLED', 'DISPENSED_TO') AND src LIKE 'provider:%'
"""

_PAIRS = """
WITH deg AS (SELECT patient, count(*) AS d FROM b GROUP BY patient),
home AS (SELECT 'patient:' || patient_id AS patient, postcode FROM patients),
bp AS (
    SELECT b.provider, b.patient, coalesce(h.postcode, '?') AS area FROM b
    JOIN deg USING (patient) LEFT JOIN home h USING (patient) WHERE deg.d BETWEEN 2 AND $patient_max
), pa AS (SELECT provider, area, count(*) AS n FROM bp GROUP BY ALL
), na AS (SELECT area, count(DISTINCT patient) AS n FROM bp GROUP BY area
), pairs AS (
    SELECT x.provider AS a, y.provider AS b, count(*) AS shared
    FROM bp x JOIN bp y ON x.patient = y.patient AND x.provider < y.provider
    GROUP BY ALL HAVING count(*) >= $min_shared
)
SELECT p.a, p.b, p.shared, round(sum(xa.n * yb.n / na.n), 6) AS expected
FROM pairs p JOIN pa xa ON xa.provider = p.a JOIN pa yb ON yb.provider = p.b AND yb.area = xa.area
JOIN na ON na.area = xa.area
GROUP BY ALL HAVING p.shared >= $min_lift * round(sum(xa.n * yb.n / na.n), 6)
ORDER BY a, b
"""

_SUB = """
WITH deg AS (SELECT patient, count(*) AS d FROM b GROUP BY patient)
SELECT b.provider, b.patient, deg.d FROM b JOIN deg USING (patient)
WHERE b.provider IN (SELECT provider FROM sel) ORDER BY b.provider, b.patient
"""

_AREAS = """
WITH home AS (SELECT 'patient:' || patient_id AS patient, coalesce(postcode, '?') AS area FROM patients),
bp AS (SELECT b.provider, b.patient, coalesce(h.area, '?') AS area FROM b LEFT JOIN home h USING (patient))
SELECT 'n' AS t, provider AS k, area, count(*) AS n FROM bp WHERE provider IN (SELECT provider FROM sel) GROUP BY ALL
UNION ALL SELECT 'N', NULL, area, count(DISTINCT patient) FROM bp GROUP BY area
UNION ALL SELECT 'h', patient, area, 1 FROM bp WHERE patient IN (SELECT patient FROM pts) GROUP BY ALL
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


def detect_dense_blocks(tables: Mapping[str, pa.Table], graph: Graph, settings: DenseBlockSettings,
                        patient_max: int = 40) -> Findings:
    """One alert per dense block (`dense_block:<first provider id of the block>`).

    Parameters: `patients` (home postcodes; without them every patient is of one area), the
    graph's billing edges, settings; `patient_max`: patients billed by more providers are left
    out of the candidate search (not of the peeling).

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> from .model import build_graph
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_dense_blocks(t, build_graph(t), DenseBlockSettings()).alerts.num_rows
        0
    """
    s = settings
    b = query(_BIPARTITE, e=graph.edges)
    pairs = query(_PAIRS, {"patient_max": patient_max, "min_shared": s.min_shared, "min_lift": s.min_lift},
                  b=b, patients=tables["patients"])
    groups = [g for g in connected_components(list(zip(pairs["a"].to_pylist(), pairs["b"].to_pylist())))
              if len(g) >= s.min_providers]
    kinds = {f"provider:{p}": k for p, k in zip(tables["providers"]["provider_id"].to_pylist(),
                                                 tables["providers"]["kind"].to_pylist())}
    alerts, entities = [], []
    blocks = []
    for group in groups:
        edges = query(_SUB, b=b, sel=pa.table({"provider": group})).to_pylist()
        left = set(group)
        while len(left) >= s.min_providers and len(blocks) < s.max_blocks:
            sub = [r for r in edges if r["provider"] in left]
            block, density = fraudar_peel([(r["provider"], r["patient"], 1.0 / math.log(r["d"] + s.column_c))
                                           for r in sub])
            providers = sorted(n for n in block if n.startswith("provider:"))
            if not providers:
                break
            left -= set(providers)          # take the block out and peel what is left
            patients = sorted(n for n in block if n.startswith("patient:"))
            billed = sum(1 for r in sub if r["provider"] in block and r["patient"] in block)
            if len(providers) >= s.min_providers and len(patients) >= s.min_patients \
                    and billed >= s.min_fill * len(providers) * len(patients):
                blocks.append((providers, patients, billed, density))
    for providers, patients, billed, density in blocks:
        pairs_n = len(providers) * len(patients)
        expected, n_areas = _expected_pairs(b, tables["patients"], providers, patients)
        aid = f"dense_block:{providers[0].split(':', 1)[1]}"
        mix = ", ".join(f"{n} {k}" for k, n in sorted(_count(kinds.get(p) or "unknown" for p in providers).items()))
        alerts.append({
            "alert_id": aid, "pattern": "dense_block", "score": billed - expected,
            "summary": (f"{len(providers)} providers ({mix}) billed the same {len(patients)} patients: "
                        f"{billed} of the {pairs_n} provider-patient pairs ({billed / pairs_n:.0%}), against "
                        f"{expected:.1f} expected from where the patients live; they live in {n_areas} postcode(s)."),
            "evidence": {"providers": providers, "patients": len(patients), "billed_pairs": billed,
                         "possible_pairs": pairs_n, "expected_pairs": expected, "fill": billed / pairs_n,
                         "fraudar_density": density, "areas": n_areas,
                         "links": [p for p in pairs.to_pylist() if p["a"] in providers and p["b"] in providers]},
        })
        for p in providers:
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": p.split(":", 1)[1],
                             "role": "biller"})
        for p in patients[:10]:
            entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": p.split(":", 1)[1],
                             "role": "patient"})
    return make_findings(alerts, entities)


def _count(items) -> dict:
    out: dict = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def _expected_pairs(b: pa.Table, patients: pa.Table, providers: list[str], block_patients: list[str]) -> tuple[float, int]:
    """Σ over block providers i and patients j of n_i(area_j) / N(area_j): chance given homes."""
    rows = query(_AREAS, b=b, patients=patients, sel=pa.table({"provider": providers}),
                 pts=pa.table({"patient": block_patients})).to_pylist()
    n = {(r["k"], r["area"]): r["n"] for r in rows if r["t"] == "n"}
    total = {r["area"]: r["n"] for r in rows if r["t"] == "N"}
    home = {r["k"]: r["area"] for r in rows if r["t"] == "h"}
    expected = sum(n.get((p, home[j]), 0) / total[home[j]] for p in providers for j in block_patients)
    return expected, len(set(home.values()))
