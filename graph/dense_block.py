"""dense_block: providers billing the same patients far more than where the patients live explains
(borrowed or phantom patient lists).

Borrowed lists are not filled like a generator's: in the canonical field case, a Medicare block
of 122 providers × 181 patients, each provider billed 47 or more of the 181 patients, about a
quarter; members keep their honest practice beside it (camouflage), and several professions mix.

1. **Local care is honest.** A provider's local areas are its own postcode and the areas it
   serves at least as much as it serves the region: its share of the area's patients is at least
   its share of the region's (a location quotient ≥ 1) where drawing from the whole region it
   would have one patient or more there, and otherwise more patients than such a draw has by
   chance, beyond Benjamini–Hochberg (`local_areas`: one patient in a village is no catchment). Patients of an area local to either of two
   providers are left out of their judgement: a town's nurses, GP and pharmacy, a nursing home's
   team, nurses sharing twice-daily insulin rounds, a département's specialists and laboratory
   share patients because they are that area's carers. So do colleagues — two providers billing
   through or affiliated to one centre, or billing under one company (`legal_entity_id`), or
   a **rota** read from the claims: two providers who bill the patients they share on the same
   day far less often than independent carers would (`rota_pairs`: a practice's nurses taking
   turns on daily care, one of them each day) — who replace each other: their pairs are not
   judged (a block inside one practice is left to peer_outlier and entity_network). Members of
   a borrowed list bill it each on their own days, as often on the same day as chance has it.
   A patient whose home is unknown (a blank postcode) is in no area: neither local nor from
   elsewhere, it is left out of every pair's judgement (counted in the load report, which warns
   of blank postcodes); when no patient's home is known (no patients table) the region is one
   area, as before. Before 2026-12-02 the unknown homes were one area, `?`, the patients of
   every town: with one patient in ten of a generated region at a blank postcode, its four
   planted blocks were all lost.
2. **Statistically validated links** (Tumminello et al., "Statistically validated networks in
   bipartite complex systems", PLoS ONE 6, 2011), with geography in the null. Null model (a
   configuration model within each area and class of provider — kind and specialty): each
   provider a of class k bills, in each area A, n_a(A) of its patients, each patient j of A with
   probability proportional to j's number of providers of class k, d_j,k (a chronic patient sees
   several GPs, a traveller several pharmacies); two
   providers of kinds k and l then share on average
   E = Σ_A n_a(A) n_b(A) Σ_{j∈A} d_j,k d_j,l / (D_k(A) D_l(A)) patients (d_j,k(d_j,k − 1) when
   k = l; D_k(A) = Σ_{j∈A} d_j,k). Observed: the patients they share outside their local areas,
   except those one of them sent to the other (a prescription explains why a GP's patient is
   also its pharmacy's, laboratory's or nurse's: pharmacy_collusion judges such flows). No
   model of patients' choices is exact: the expectation is calibrated on the pairs of the same
   kinds (two pharmacies, a GP and a nurse…) — the median ratio c of observed to expected, and
   the pairs' spread around it as a gamma mixing, measured on the pairs expecting ten patients or
   more (`graph.stats.grouped_count_calibration`: a count expecting one or two is an integer near
   it as often as not: with the pairs expecting one or more, a region's calibrating pairs, some
   sharing 0.4 to 2.4 times the 50 to 230 patients they expect, looked Poisson, and its honest
   pharmacies and GPs, sharing 1.2 to 1.9 times what they expect, made blocks) — so
   the tail probability is P(X ≥ shared) for X negative binomial with mean c·E. The pairs that
   calibrate are independent of each other (a greedy matching: no provider in two pairs of the
   same kinds): a block's m members make m(m − 1)/2 pairs, all expecting much where they bill
   their list, and would otherwise set their own yardstick, being the only pairs of their kinds
   expecting one patient or more. Links survive Benjamini–Hochberg at `fdr` over every pair
   sharing a patient.
3. **Blocks.** The validated links' 2-core (every member tied to two others or more: a single
   coincidental link does not enlist a provider) falls into connected groups, one per block —
   several blocks in one region stay apart. A block's list is the patients (outside local
   areas) that two or more of its members billed: a sparse block, each member billing a
   quarter of the list (a link of a pair then rests on one or two patients), holds together by
   its many links. With `min_providers` providers and a list of `min_patients` patients, it is
   an alert.

Score: the block's billed provider-patient pairs beyond chance (Σ over its providers i of kind k
and patients j of n_i(A_j) d_j,k / D_k(A_j)); `excess_euros` prices them at the block's euros per
billed pair. Providers are accused, the borrowed patients victims.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa
from scipy import stats

from .findings import Findings, make_findings
from .model import Graph
from .network import connected_components
from .settings import DenseBlockSettings
from .shared import Shared, home_unknown
from .stats import (benjamini_hochberg, greedy_matching, group_index, grouped_count_calibration, negbin_logsf,
                    surprise_bits)
from engine import query

_COUNTS = """
WITH b AS (SELECT * FROM billing WHERE degree <= $patient_max),
counts AS (SELECT provider, area, count(*) AS n FROM b GROUP BY ALL),
area AS (SELECT area, count(DISTINCT patient) AS n FROM b GROUP BY ALL),
total AS (SELECT count(DISTINCT patient) AS n FROM b),
mine AS (SELECT provider, sum(n) AS n FROM counts GROUP BY ALL)
SELECT c.provider, c.area, c.n, a.n AS area_n, m.n AS mine_n, (SELECT n FROM total) AS total
FROM counts c JOIN area a USING (area) JOIN mine m USING (provider) ORDER BY c.provider, c.area
"""

_NONLOCAL = """
WITH b AS (SELECT * FROM billing WHERE degree <= $patient_max),
local AS (SELECT provider, area FROM lq
    UNION SELECT 'provider:' || provider_id, postcode FROM providers WHERE postcode IS NOT NULL
)
SELECT b.provider, b.patient, b.area, b.degree,
       coalesce(p.kind, '?') || '|' || coalesce(p.specialty, '') AS kind FROM b
LEFT JOIN providers p ON b.provider = 'provider:' || p.provider_id
WHERE (b.provider, b.area) NOT IN (SELECT (provider, area) FROM local)
  AND b.area <> $home_unknown   -- a patient of unknown home is neither local nor from elsewhere: not judged
ORDER BY b.provider, b.patient
"""

_PAIRS = """
WITH b AS (      -- all billing, providers classed by kind and specialty
    SELECT b.provider, b.patient, b.area, coalesce(p.kind, '?') || '|' || coalesce(p.specialty, '') AS kind
    FROM billing b LEFT JOIN providers p ON b.provider = 'provider:' || p.provider_id
    WHERE b.degree <= $patient_max
), kd AS (SELECT patient, area, kind, count(*) AS d FROM b GROUP BY ALL      -- degree by provider kind
), dk AS (SELECT area, kind, sum(d)::DOUBLE AS d FROM kd GROUP BY ALL
), q AS (      -- per area and pair of kinds k ≤ l: Σ_j d_k d_l (d_k (d_k − 1) when k = l) / (D_k D_l)
    SELECT x.area, x.kind AS k, y.kind AS l,
           sum(CASE WHEN x.kind = y.kind THEN x.d * (x.d - 1) ELSE x.d * y.d END) / (any_value(u.d) * any_value(v.d)) AS q
    FROM kd x JOIN kd y ON x.patient = y.patient AND x.kind <= y.kind
    JOIN dk u ON u.area = x.area AND u.kind = x.kind JOIN dk v ON v.area = y.area AND v.kind = y.kind
    GROUP BY ALL
), na AS (SELECT provider, area, any_value(kind) AS kind, count(*) AS n FROM nl GROUP BY ALL
), ref AS (     -- a prescriber and the provider it sent a patient to (pharmacy, laboratory, nurse…)
    SELECT 'provider:' || prescriber_id AS prescriber, 'provider:' || provider_id AS provider,
           'patient:' || patient_id AS patient
    FROM (SELECT DISTINCT prescriber_id, provider_id, patient_id FROM g      -- only patients a pair shares
          WHERE prescriber_id IS NOT NULL AND prescriber_id <> provider_id
            -- the patients made distinct: DuckDB then builds its hash table on them, not on the
            -- 3.25M patient-days rows of 5M claims (300 MB more at the statement's peak)
            AND patient_id IN (SELECT DISTINCT substr(patient, strpos(patient, ':') + 1) FROM nl))
), practice AS ( -- where a provider practises: centres it bills through or is affiliated to, its company
    SELECT DISTINCT 'provider:' || provider_id AS provider, 'centre:' || centre_id AS practice FROM g
    WHERE centre_id IS NOT NULL
    UNION SELECT 'provider:' || provider_id, 'centre:' || centre_id FROM affiliations WHERE centre_id IS NOT NULL
    UNION SELECT 'provider:' || provider_id, 'entity:' || legal_entity_id FROM providers WHERE legal_entity_id IS NOT NULL
), colleagues AS (SELECT DISTINCT x.provider AS a, y.provider AS b FROM practice x JOIN practice y
                  ON x.practice = y.practice AND x.provider < y.provider
                  UNION SELECT a, b FROM rota      -- a rota: they take turns (`rota_pairs`)
), pairs AS (   -- patients shared outside local areas, but not those one of the pair sent to the other,
                -- nor by colleagues (they replace each other)
    SELECT x.provider AS a, y.provider AS b, count(*) AS shared
    FROM nl x JOIN nl y ON x.patient = y.patient AND x.provider < y.provider
    LEFT JOIN ref r1 ON r1.patient = x.patient AND r1.prescriber = x.provider AND r1.provider = y.provider
    LEFT JOIN ref r2 ON r2.patient = x.patient AND r2.prescriber = y.provider AND r2.provider = x.provider
    WHERE r1.patient IS NULL AND r2.patient IS NULL
      AND (x.provider, y.provider) NOT IN (SELECT (a, b) FROM colleagues)
    GROUP BY ALL
), common AS (  -- each pair's areas in common, its kinds in order: q is then joined on plain columns
                -- (joined on least() and greatest() of the kinds, it was joined on the area alone and
                -- filtered after, tens of millions of rows on a region of few providers)
    SELECT p.a, p.b, xa.area, xa.n * yb.n AS nn, least(xa.kind, yb.kind) AS k, greatest(xa.kind, yb.kind) AS l
    FROM pairs p JOIN na xa ON xa.provider = p.a JOIN na yb ON yb.provider = p.b AND yb.area = xa.area
), expected AS (
    SELECT c.a, c.b,      -- in whole 10⁻⁹ patients, summed as integers: the same total in any order
           sum(CAST(round(c.nn * q.q * 1000000000, 0) AS BIGINT)) / 1000000000 AS expected
    FROM common c JOIN q USING (area, k, l)
    GROUP BY ALL
)
SELECT p.a, p.b, p.shared, coalesce(e.expected, 0) AS expected,
       split_part(least(ka.kind, kb.kind), '|', 1) AS kind_a, split_part(greatest(ka.kind, kb.kind), '|', 1) AS kind_b
FROM pairs p LEFT JOIN expected e USING (a, b)
JOIN (SELECT DISTINCT provider, kind FROM nl) ka ON ka.provider = p.a
JOIN (SELECT DISTINCT provider, kind FROM nl) kb ON kb.provider = p.b
ORDER BY a, b
"""

_TURNS = """
WITH d AS (      -- each provider's days of each act for the patients it bills outside its local areas
    SELECT DISTINCT nl.provider, nl.patient, g.service_code, g.service_date
    FROM g JOIN nl ON nl.provider = 'provider:' || g.provider_id AND nl.patient = 'patient:' || g.patient_id
), s AS (SELECT provider, patient, service_code, min(service_date) AS first_day, max(service_date) AS last_day
         FROM d GROUP BY ALL
), w AS (        -- two providers billing a patient the same act over overlapping periods
    SELECT x.provider AS a, y.provider AS b, x.patient, x.service_code,
           greatest(x.first_day, y.first_day) AS lo, least(x.last_day, y.last_day) AS hi
    FROM s x JOIN s y ON x.patient = y.patient AND x.service_code = y.service_code AND x.provider < y.provider
    WHERE greatest(x.first_day, y.first_day) <= least(x.last_day, y.last_day)
)
SELECT w.a, w.b, w.patient, w.service_code, date_diff('day', w.lo, w.hi) + 1 AS span,
       count(*) FILTER (WHERE d.provider = w.a) AS days_a, count(*) FILTER (WHERE d.provider = w.b) AS days_b,
       count(*) - count(DISTINCT d.service_date) AS both_days
FROM w JOIN d ON d.patient = w.patient AND d.service_code = w.service_code AND d.provider IN (w.a, w.b)
    AND d.service_date BETWEEN w.lo AND w.hi
GROUP BY ALL ORDER BY w.a, w.b, w.patient, w.service_code
"""

_CHANCE = """
WITH b AS (      -- all billing, providers classed by kind and specialty
    SELECT b.provider, b.patient, b.area, coalesce(p.kind, '?') || '|' || coalesce(p.specialty, '') AS kind
    FROM billing b LEFT JOIN providers p ON b.provider = 'provider:' || p.provider_id
    WHERE b.degree <= $patient_max
), kd AS (SELECT patient, area, kind, count(*) AS d FROM b GROUP BY ALL
), dk AS (SELECT area, kind, sum(d)::DOUBLE AS d FROM kd GROUP BY ALL
), na AS (SELECT provider, area, any_value(kind) AS kind, count(*) AS n FROM nl
           WHERE provider IN (SELECT provider FROM sel) GROUP BY ALL
), pts AS (SELECT DISTINCT patient, area FROM nl WHERE patient IN (SELECT patient FROM tp))
SELECT coalesce(sum(CAST(round(na.n * coalesce(kd.d, 0) / dk.d * 1000000000, 0) AS BIGINT)), 0) / 1000000000 AS chance,
       count(DISTINCT pts.area) AS areas      -- chance in whole 10⁻⁹ patients: the same total in any order
FROM pts JOIN na USING (area) JOIN dk ON dk.area = pts.area AND dk.kind = na.kind
LEFT JOIN kd ON kd.patient = pts.patient AND kd.kind = na.kind
"""

_AMOUNT = """
SELECT round(coalesce(sum(amount), 0), 2) AS amount FROM e
WHERE rel IN ('BILLED', 'DISPENSED_TO') AND src IN (SELECT provider FROM sel) AND dst IN (SELECT patient FROM tp)
"""


def two_core(links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The links of the 2-core: providers with a single link are removed, repeatedly, so that a
    block is a group whose every member is tied to two others or more (Seidman, "Network
    structure and minimum degree", Social Networks 5, 1983). Deterministic.

    Example:
        >>> two_core([("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")])
        [('a', 'b'), ('a', 'c'), ('b', 'c')]
    """
    links = sorted({(min(x, y), max(x, y)) for x, y in links if x != y})
    while True:
        degree: dict[str, int] = {}
        for x, y in links:
            degree[x] = degree.get(x, 0) + 1
            degree[y] = degree.get(y, 0) + 1
        kept = [(x, y) for x, y in links if degree[x] >= 2 and degree[y] >= 2]
        if len(kept) == len(links):
            return kept
        links = kept


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
    nl = query(_NONLOCAL, p | {"home_unknown": home_unknown(tables["patients"])}, keep=True, billing=shared.billing, providers=tables["providers"],
               lq=local_areas(query(_COUNTS, p, billing=shared.billing), s.fdr))
    pairs = query(_PAIRS, p, nl=nl, g=shared.patient_days, billing=shared.billing, providers=tables["providers"],
                  affiliations=tables["affiliations"], rota=rota_pairs(query(_TURNS, nl=nl, g=shared.patient_days), s.fdr))
    shared_n, expected = pairs["shared"].to_numpy().astype(float), pairs["expected"].to_numpy()
    kind = lambda col: pairs[col].to_numpy(zero_copy_only=False)
    # independent within each kind pair: no provider in two of its pairs
    group = np.char.add(np.char.add(kind("kind_a").astype(str), "|"), kind("kind_b").astype(str))
    member = lambda col: np.char.add(np.char.add(group, " "), kind(col).astype(str))
    independent = greedy_matching(member("a"), member("b"), expected >= 1)
    c, shape = grouped_count_calibration(shared_n, expected, kind("kind_a"), kind("kind_b"), use=independent)
    log_p = negbin_logsf(shared_n, c * expected, shape)
    ok = benjamini_hochberg(log_p, s.fdr) & (shared_n > c * expected)
    a, b = pairs["a"].to_numpy(zero_copy_only=False)[ok], pairs["b"].to_numpy(zero_copy_only=False)[ok]
    link_bits = {(x, y): float(v) for x, y, v in zip(a.tolist(), b.tolist(), surprise_bits(log_p[ok]).tolist())}
    groups = [g for g in connected_components(two_core(list(link_bits))) if len(g) >= s.min_providers]
    kinds = {f"provider:{x}": k for x, k in zip(tables["providers"]["provider_id"].to_pylist(),
                                                tables["providers"]["kind"].to_pylist())}
    blocks = []
    for members in groups[: s.max_blocks]:
        rows = query("SELECT provider, patient FROM nl WHERE provider IN (SELECT provider FROM sel) "
                     "ORDER BY provider, patient", nl=nl, sel=pa.table({"provider": members})).to_pylist()
        count: dict[str, int] = {}
        for r in rows:
            count[r["patient"]] = count.get(r["patient"], 0) + 1
        patients = sorted(x for x, c in count.items() if c >= 2)      # the list: billed by two members or more
        if len(patients) >= s.min_patients:
            on_list = set(patients)
            pairs_of = {m: sum(1 for r in rows if r["provider"] == m and r["patient"] in on_list) for m in members}
            blocks.append((members, patients, sum(count[x] for x in patients), pairs_of))
    alerts, entities = [], []
    for members, patients, billed, pairs_of in blocks:
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
            "evidence": {"test": "negative-binomial tail of shared patients per pair (validated links), "
                                 "Benjamini-Hochberg, 2-core", "fdr": s.fdr,
                         "providers": members, "patients": len(patients), "billed_pairs": billed,
                         "possible_pairs": pairs_n, "expected_pairs": chance["chance"], "fill": billed / pairs_n,
                         "areas": chance["areas"], "amount": amount,
                         "links": [{"a": x, "b": y, "surprise_bits": v} for (x, y), v in sorted(link_bits.items())
                                   if x in inside and y in inside]},
        })
        for m in members:      # each member answers for its share of the billed pairs
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": m.split(":", 1)[1],
                             "role": "biller", "standing": "accused",
                             "excess_euros": excess * amount / max(billed, 1) * pairs_of[m] / max(billed, 1)})
        for x in patients[:10]:
            entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": x.split(":", 1)[1],
                             "role": "patient", "standing": "victim"})
    return make_findings(alerts, entities)


def rota_pairs(overlaps: pa.Table, fdr: float) -> pa.Table:
    """The pairs of providers who take turns: `a, b` (node ids, a < b).

    `overlaps`: per pair, patient and act both billed it to outside their local areas over
    overlapping periods, `a, b, patient, service_code, span` (days from the later first day to
    the earlier last day), `days_a`, `days_b` (each one's days of the act in that span) and
    `both_days` (the days both billed it). Null model: two providers caring independently bill
    on the same day by chance — b's `days_b` days are any of the span's, so the days in common are
    hypergeometric, mean `days_a × days_b / span` — summed over their overlaps, and taken as a
    Poisson law of the same mean, which spreads more (a hypergeometric count's variance is below
    its mean; Hoeffding, "Probability inequalities for sums of bounded random variables", JASA
    58, 1963, §6), so that its lower tail errs on the side of finding no rota. A pair billing on the same
    day far less often than that — lower tail surviving Benjamini–Hochberg at `fdr` over every
    pair — replaces each other: a rota, such as a practice's nurses taking turns on their
    patients' daily care (one of them each day), which the contract's tables need not declare
    (no company, centre or address in common).

    Example:
        >>> t = pa.table({"a": ["provider:1", "provider:3"], "b": ["provider:2", "provider:4"],
        ...               "patient": ["patient:9", "patient:9"], "service_code": ["X", "X"], "span": [120, 60],
        ...               "days_a": [60, 10], "days_b": [60, 10], "both_days": [0, 2]})
        >>> rota_pairs(t, 0.01).to_pylist()
        [{'a': 'provider:1', 'b': 'provider:2'}]
    """
    if overlaps.num_rows == 0:
        return pa.table({"a": pa.array([], pa.string()), "b": pa.array([], pa.string())})
    col = lambda k: overlaps[k].to_numpy(zero_copy_only=False)
    span, na, nb = (col(x).astype(float) for x in ("span", "days_a", "days_b"))
    pair, k = group_index(col("a"), col("b"))
    expected = np.bincount(pair, na * nb / np.maximum(span, 1), k)
    both = np.bincount(pair, col("both_days").astype(float), k)
    log_p = stats.poisson.logcdf(both, expected)
    rota = benjamini_hochberg(log_p, fdr) & (both < expected)
    first = np.unique(pair, return_index=True)[1]
    return overlaps.select(["a", "b"]).take(pa.array(first)).filter(pa.array(rota))


def local_areas(counts: pa.Table, fdr: float) -> pa.Table:
    """The areas local to each provider beyond its own postcode: `provider, area`.

    `counts`: per provider and area (postcode) where it bills patients, `n` (its patients living
    there), `area_n` (the area's patients), `mine_n` (its patients in all) and `total` (the
    region's patients). Null model: a provider drawing its patients from the whole region — its
    patients in an area Poisson with mean `mine_n × area_n / total`, the location quotient's
    denominator (Isard, *Methods of Regional Analysis*, 1960). An area is local when the provider
    has there at least that mean and the mean is one patient or more (a location quotient ≥ 1),
    or when it has there more patients than chance has it (upper tail P(X ≥ n)) with a surprise
    that survives Benjamini–Hochberg at `fdr` over every provider and area. Where the mean is
    below one patient a location quotient ≥ 1 is any patient at all: a small provider's single
    patient in a village (every village a borrowed list touches) made the village local and its
    patients unjudged; there, only a surprise makes a catchment.

    Example:
        >>> t = pa.table({"provider": ["provider:1", "provider:1"], "area": ["A", "B"], "n": [30, 1],
        ...               "area_n": [200, 150], "mine_n": [31, 31], "total": [20000, 20000]})
        >>> local_areas(t, 0.01).to_pylist()
        [{'provider': 'provider:1', 'area': 'A'}]
    """
    col = lambda k: counts[k].to_numpy(zero_copy_only=False).astype(float)
    n, mean = col("n"), col("mine_n") * col("area_n") / np.maximum(col("total"), 1)
    surprise = benjamini_hochberg(stats.poisson.logsf(n - 1, mean), fdr) & (n > mean)
    local = surprise | ((n >= mean) & (mean >= 1))      # below one patient expected, LQ ≥ 1 is any patient
    return counts.select(["provider", "area"]).filter(pa.array(local, pa.bool_()))


def _count(items) -> dict:
    out: dict = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out
