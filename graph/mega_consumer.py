"""mega_consumer: a patient whose consumption of care is extreme for their age, sex and conditions.

The Assurance Maladie's *méga-consommants* programme. Unit: a patient and a **care**: an act,
drug or test (service code) and its channel (billed through a centre, or in private practice):
a patient's GP home visits, private basic nursing visits, physiotherapy sessions, dispensings of
a drug. Volume: the days on which providers billed the patient that care (a provider-day counts
once: same-day repeats are double billing's business); money: the euros they billed. Judging
each care against the patients who receive *that* care is what keeps honest heavy care apart:
dialysis sessions are compared with dialysis sessions, a dependent patient's daily nursing
forfait with other dependent patients', a neuro-rehabilitation course with neuro-rehabilitation
courses; a patient visited daily with a basic nursing act, or seen by a GP 80 times a year,
with everyone who gets those acts.

Conditions are read from the patient's own claims: a drug class (the ATC level-3 prefix of an
ATC code, e.g. `A10A` insulins, else the code itself) dispensed in `chronic_months` distinct
months or more is a chronic condition. Null model: an honest patient's volume of a care
is that of the patients of the same **stratum** who receive it — age band (0-17, 18-44, 45-64,
65-79, 80+; age = year of the last service date − birth year), sex, chronic conditions (the same
set of them where enough patients share it: insulin patients nursed every day are compared with
other insulin patients, who may all be nursed daily, not with patients on one other treatment
nursed for a fortnight after an operation; else their number, 0 to 4, 5 or more), whether other
carers corroborate the patient's needs (carers other than those billing this care — not
pharmacies or laboratories — billing the patient on `CARE_DAYS` days or more, weekly: one carer,
or several together, as a rota of nurses each of whom comes a few days a month; a palliative
patient's weekly GP visits beside daily nursing, or a nursing-home resident's, are compared with
the GP visits of patients nursed like that), and the care (a drug of a class the patient is chronically treated with is
compared with the patients chronically treated with it: a palliative patient's weekly opioids
with other chronic users', not with a sprain's box) — distributed as a negative binomial (Poisson–gamma:
patients' needs differ, Greenwood & Yule 1920), with the stratum's mean (winsorised at its 97.5 %
quantile, so that a few extreme patients do not set it) and a between-patient variance τ² fitted
robustly (`graph.stats.robust_tau2` at the 75 % quantile: up to a quarter of the stratum may be
heavy users of that care without widening it, and a stratum where more than a quarter are —
insulin-dependent elderly nursed twice a day, palliative home care, patients with many
conditions — gets the wide spread it needs). A stratum with fewer
than `min_stratum` patients receiving the care is pooled: sex is dropped, then the age band (a
stratum of patients with the same conditions, or as many, needs then only a third as many), then
the same conditions give way to their number (the same three steps), then the conditions.
Any one of the patient's conditions may also explain a care: the care is judged too against the
patients who share that one condition and receive it (at least a third of `min_stratum`), and
the most lenient of these yardsticks is kept (a palliative patient on a strong opioid, whatever
else each is treated for, is compared with the other patients on it).
Statistic: P(X ≥ days) under that negative binomial.

Decision: the discoveries are patients (an alert each), not their cares: each patient's Simes
p-value over its cares, Benjamini–Hochberg at `fdr` over the patients, and within each of the R
patients chosen out of M, the cares rejected by Benjamini–Hochberg at `fdr`·R/M (`graph.stats.family_bh`;
Benjamini & Bogomolov 2014). Score and
`excess_euros`: the euros of the flagged care beyond the stratum's mean, (days − mean) / days ×
the euros billed. The alert names the patient (accused) and the providers who billed the bulk of
the excess (largest share first, until `bulk_share` of it), each with its share, and the centre
that billed most of a flagged care billed through a centre (participant: the channel).

The providers' side is judged too: a provider whose patients are mega-consumers far more often
than chance — c of its n patients flagged where the flagged share of all provider–patient links
predicts n·p̄, binomial tail, Benjamini–Hochberg at `fdr` over every provider named — is
`accused` in its patients' alerts; the others are `participant` (a lead).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .findings import Findings, euros, make_findings, opaque_id
from .settings import MegaConsumerSettings
from .shared import CARE_DAYS, Shared
from .stats import (benjamini_hochberg, binom_logsf, family_bh, group_index, negbin_logsf, robust_tau2,
                    sorted_codes, surprise_bits)
from engine import query

_CARE = """
WITH last AS (SELECT year(max(service_date)) AS y FROM g),
pat AS (SELECT patient_id, any_value(birth_year) AS birth_year, any_value(sex) AS sex FROM patients GROUP BY ALL),
codes AS (     -- each code's drug class (an ATC code's level-3 prefix, else the code), read once a code
    SELECT service_code, CASE WHEN regexp_matches(service_code, '^[A-Z][0-9][0-9][A-Z]') THEN left(service_code, 4)
                              ELSE service_code END AS class
    FROM (SELECT DISTINCT service_code FROM g)
), drug AS (   -- a drug class dispensed in $months distinct months: a chronic condition
    SELECT g.patient_id, c.class
    FROM g JOIN codes c USING (service_code) JOIN providers p USING (provider_id) LEFT JOIN services s USING (service_code)
    WHERE s.kind = 'drug' OR (s.kind IS NULL AND p.kind = 'pharmacy')
    GROUP BY ALL HAVING count(DISTINCT date_trunc('month', g.service_date)) >= $months
), cond AS (SELECT patient_id, least(count(*), $max_conditions) AS conditions,
                   string_agg(class, ' ' ORDER BY class) AS classes FROM drug GROUP BY ALL),
heavy AS (     -- carers (not pharmacies or laboratories) billing a patient on CARE_DAYS days or more
    SELECT patient_id, provider_id FROM carers
), own AS (    -- per care (code and channel), the patient's heavy carers among those billing it
    SELECT patient_id, service_code, private, count(*) AS n
    FROM (SELECT DISTINCT g.patient_id, g.provider_id, g.service_code, g.centre_id IS NULL AS private
          FROM g JOIN heavy USING (patient_id, provider_id))
    GROUP BY ALL
), heavies AS (SELECT patient_id, count(*) AS n FROM heavy GROUP BY ALL),
pdays AS (     -- the days carers (not pharmacies or laboratories) billed each patient
    SELECT DISTINCT g.patient_id, g.provider_id, g.service_date
    FROM g JOIN providers p USING (provider_id) WHERE p.kind NOT IN ('pharmacy', 'laboratory')
), busy AS (SELECT patient_id FROM pdays GROUP BY ALL HAVING count(DISTINCT service_date) >= $care_days),
billed AS (    -- a busy patient's cares (code and channel) and who billed them
    SELECT DISTINCT g.patient_id, g.service_code, g.centre_id IS NULL AS private, g.provider_id
    FROM g JOIN busy USING (patient_id)
), team AS (   -- the cares for which other carers together (a rota of nurses) billed CARE_DAYS days
    SELECT c.patient_id, c.service_code, c.private
    FROM (SELECT DISTINCT patient_id, service_code, private FROM billed) c JOIN pdays d USING (patient_id)
    LEFT JOIN billed b ON b.patient_id = c.patient_id AND b.service_code = c.service_code
                      AND b.private = c.private AND b.provider_id = d.provider_id
    WHERE b.provider_id IS NULL
    GROUP BY ALL HAVING count(DISTINCT d.service_date) >= $care_days
),
per AS (       -- per patient, code and channel: rows (a provider, day and centre each) and euros
    SELECT patient_id, service_code, centre_id IS NULL AS private, count(*) AS n, sum(amount) AS amount
    FROM g GROUP BY ALL
), repeats AS (   -- a provider's rows of a code on one day through several centres count one day
    SELECT patient_id, service_code, FALSE AS private, sum(n - 1) AS extra
    FROM (SELECT patient_id, service_code, provider_id, service_date, count(*) AS n
          FROM g WHERE centre_id IS NOT NULL GROUP BY ALL HAVING count(*) > 1)
    GROUP BY ALL
), care AS (   -- chronic: a drug of a class the patient is chronically treated with
    SELECT per.patient_id, per.service_code, per.private,
           per.service_code || '|' || CASE WHEN per.private THEN 'private' ELSE 'centre' END AS care,
           CAST(per.n - coalesce(r.extra, 0) AS BIGINT) AS days, round(per.amount, 2) AS amount,
           d.class IS NOT NULL AS chronic
    FROM per LEFT JOIN repeats r USING (patient_id, service_code, private)
    JOIN codes c USING (service_code) LEFT JOIN drug d ON d.patient_id = per.patient_id AND d.class = c.class
)
SELECT care.patient_id, care.care, care.days, care.amount, care.chronic, coalesce(cond.conditions, 0) AS conditions,
       coalesce(cond.classes, '') AS classes,
       coalesce(heavies.n, 0) - coalesce(own.n, 0) > 0 OR team.patient_id IS NOT NULL AS corroborated,
       CASE WHEN pat.birth_year IS NULL THEN '?'
            WHEN (SELECT y FROM last) - pat.birth_year < 18 THEN '0-17'
            WHEN (SELECT y FROM last) - pat.birth_year < 45 THEN '18-44'
            WHEN (SELECT y FROM last) - pat.birth_year < 65 THEN '45-64'
            WHEN (SELECT y FROM last) - pat.birth_year < 80 THEN '65-79' ELSE '80+' END AS band,
       coalesce(pat.sex, '?') AS sex
FROM care LEFT JOIN cond USING (patient_id) LEFT JOIN pat USING (patient_id)
LEFT JOIN heavies USING (patient_id) LEFT JOIN own USING (patient_id, service_code, private)
LEFT JOIN team USING (patient_id, service_code, private)
ORDER BY care.patient_id, care.care
"""

_CENTRES = """
SELECT g.patient_id, g.service_code || '|centre' AS care, g.centre_id, round(sum(g.amount), 2) AS amount
FROM g JOIN f USING (patient_id) WHERE g.centre_id IS NOT NULL
GROUP BY ALL ORDER BY g.patient_id, care, amount DESC, g.centre_id
"""

_PROVIDERS = """
SELECT g.patient_id, g.service_code || '|' || CASE WHEN g.centre_id IS NULL THEN 'private' ELSE 'centre' END AS care,
       g.provider_id, count(DISTINCT g.service_date) AS days, round(sum(g.amount), 2) AS amount
FROM g JOIN f USING (patient_id)
GROUP BY ALL ORDER BY g.patient_id, care, amount DESC, g.provider_id
"""

_PATIENTS_PER_PROVIDER = """
SELECT provider_id, count(DISTINCT patient_id) AS patients,
       count(DISTINCT patient_id) FILTER (WHERE patient_id IN (SELECT patient_id FROM f)) AS flagged
FROM g WHERE provider_id IN (SELECT provider_id FROM named) GROUP BY ALL ORDER BY provider_id
"""

# the provider–patient links (`graph.shared` billing) of flagged patients
_FLAGGED_LINKS = "SELECT count(*) AS n FROM billing WHERE patient IN (SELECT 'patient:' || patient_id FROM f)"

# the stratum's mean is winsorised at this quantile of its patients' volumes
WINSOR = 0.975
# conditions are counted up to this many (patients with more are alike)
MAX_CONDITIONS = 5


def detect_mega_consumers(tables: Mapping[str, pa.Table], shared: Shared, settings: MegaConsumerSettings,
                          key: bytes) -> Findings:
    """One alert per patient (`mega_consumer:<opaque id>`, keyed by `key`: neither the id nor the
    summary names the patient; the patient is an alert entity), listing each care on which the
    patient is extreme (see module docstring). Score and `excess_euros`: euros.

    Parameters: contract tables `providers` (kind, specialty), `patients` (birth_year, sex) and
    `services` (drugs); the scan's `Shared` intermediates (`patient_days`); settings; the key of
    opaque alert ids.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> from .model import build_graph
        >>> from .shared import build_shared
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_mega_consumers(t, build_shared(t, build_graph(t)), MegaConsumerSettings(), b"k").alerts.num_rows
        0
    """
    s = settings
    care = query(_CARE, {"months": s.chronic_months, "max_conditions": MAX_CONDITIONS, "care_days": CARE_DAYS},
                 g=shared.patient_days, carers=shared.carers, providers=tables["providers"],
                 patients=tables["patients"], services=tables["services"])
    if care.num_rows == 0:
        return make_findings([], [])
    col = lambda k: care[k].to_numpy(zero_copy_only=False)
    days, amount = col("days").astype(float), col("amount").astype(float)
    # the stratum keys as integers (no Python string per row): the care, whether chronic, whether
    # corroborated
    kind = sorted_codes(care["care"]) * 4 + col("chronic").astype(np.int64) * 2 + col("corroborated").astype(np.int64)
    band, sex, cond = sorted_codes(care["band"]), sorted_codes(care["sex"]), col("conditions").astype(int)
    classes = sorted_codes(care["classes"])
    n = len(days)
    mean, shape, level, log_p = np.full(n, np.nan), np.full(n, np.inf), np.zeros(n, np.int64), np.zeros(n)
    # every stratum lies within one care (`kind` is in every level's key): the cares are judged
    # in batches of whole cares, which gives each unit the same stratum, with its rows in the
    # same order, as all rows at once — the same figures, without the temporaries of millions
    by = np.argsort(kind, kind="stable")
    for rows in _batches(kind[by], by):
        _judge(days[rows], (kind[rows], band[rows], sex[rows], cond[rows], classes[rows]),
               care["classes"].take(pa.array(rows)), s.min_stratum, rows, mean, shape, level, log_p)
    hit = family_bh(log_p, sorted_codes(care["patient_id"]), s.fdr) & (days > mean)
    if not hit.any():
        return make_findings([], [])
    rows = care.filter(pa.array(hit)).to_pylist()
    for r, i in zip(rows, np.flatnonzero(hit)):
        r.update(mean=float(mean[i]), stratum=LEVELS[level[i]], log10_p=float(log_p[i] / np.log(10)),
                 excess_amount=float((days[i] - mean[i]) / days[i] * amount[i]))
    flagged = pa.table({"patient_id": sorted({r["patient_id"] for r in rows})})
    by_provider = query(_PROVIDERS, g=shared.patient_days, f=flagged).to_pylist()
    billers: dict[tuple, list] = {}
    for b in by_provider:
        billers.setdefault((b["patient_id"], b["care"]), []).append(b)
    centres: dict[tuple, list] = {}
    for c in query(_CENTRES, g=shared.patient_days, f=flagged).to_pylist():
        centres.setdefault((c["patient_id"], c["care"]), []).append(c["centre_id"])
    per_patient: dict[str, list] = {}
    for r in rows:
        per_patient.setdefault(r["patient_id"], []).append(r)
    # the providers who bill the bulk of each patient's excess, with their share
    named: dict[str, dict[str, float]] = {}
    for patient, kinds in per_patient.items():
        shares: dict[str, float] = {}
        for r in kinds:
            bs = billers.get((patient, r["care"]), [])
            total = sum(b["amount"] for b in bs) or 1.0
            for b in bs:
                shares[b["provider_id"]] = shares.get(b["provider_id"], 0.0) + r["excess_amount"] * b["amount"] / total
        excess = sum(r["excess_amount"] for r in kinds)
        chosen, covered = {}, 0.0
        for provider, x in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])):
            if covered >= s.bulk_share * excess:
                break
            chosen[provider] = x
            covered += x
        named[patient] = chosen
    labels = dict(zip(tables["services"]["service_code"].to_pylist(), tables["services"]["label"].to_pylist()))
    accused = _concentrated(shared, flagged, sorted({p for c in named.values() for p in c}), s.fdr)
    alerts, entities = [], []
    for patient, kinds in per_patient.items():
        aid = opaque_id(key, "mega_consumer", patient)
        excess = sum(r["excess_amount"] for r in kinds)
        top = max(kinds, key=lambda r: (r["excess_amount"], r["care"]))
        code, channel = top["care"].rsplit("|", 1)
        what = (labels.get(code) or code) + (" in private practice" if channel == "private" else " through a centre")
        providers = named[patient]
        alerts.append({
            "alert_id": aid, "pattern": "mega_consumer", "score": excess, "excess_euros": excess,
            "surprise_bits": float(surprise_bits(sum(r["log10_p"] for r in kinds) * np.log(10))),
            "summary": (f"A patient ({top['band']}, {top['sex']}, {top['conditions']} chronic condition(s)) "
                        f"received {what} on {top['days']} days where patients alike average "
                        f"{top['mean']:.1f}; excess {euros(excess)}, billed by "
                        + ", ".join(f"{p} ({x / excess:.0%})" for p, x in providers.items()) + "."),
            "evidence": {"test": "negative binomial tail of care days against patients of the same age band, sex, "
                                 "chronic conditions and care, Benjamini-Hochberg over patients (Simes) then "
                                 "over their cares", "fdr": s.fdr,
                         "band": top["band"], "sex": top["sex"], "conditions": top["conditions"],
                         "care": [{k: r[k] for k in ("care", "days", "amount", "mean", "stratum", "excess_amount",
                                                    "log10_p")} for r in kinds],
                         "providers": [{"provider_id": p, "excess_euros": x, "share": x / excess,
                                        "concentrated": p in accused} for p, x in providers.items()]},
        })
        entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": patient, "role": "consumer",
                         "standing": "accused"})
        for p, x in providers.items():
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": p, "role": "biller",
                             "standing": "accused" if p in accused else "participant", "excess_euros": x})
        for c in sorted({c for r in kinds for c in centres.get((patient, r["care"]), [])[:1]}):
            entities.append({"alert_id": aid, "entity_type": "centre", "entity_id": c, "role": "billed_through",
                             "standing": "participant"})
    return make_findings(alerts, entities)


LEVELS = ("age band, sex, same conditions", "age band, same conditions", "same conditions",
          "age band, sex, number of conditions", "age band, number of conditions", "number of conditions", "care only",
          "one of the same conditions")


def stratum_null(days: np.ndarray, min_units: list[int], *levels: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit: the negative binomial (mean, gamma shape κ) of its stratum at the finest of
    `levels` (each a tuple of key columns, finest first) with at least `min_units` (one per level) units, and the
    index of that level; mean NaN where even the coarsest has fewer. Mean: winsorised at the
    `WINSOR` quantile; κ = mean² / τ², τ² from `robust_tau2` (Poisson sampling variance, 75 %
    quantile), inf when no spread beyond Poisson."""
    n = len(days)
    mean, shape, level = np.full(n, np.nan), np.full(n, np.inf), np.full(n, len(levels) - 1)
    todo = np.ones(n, bool)
    for li, keys in enumerate(levels):
        idx, k = group_index(*keys)
        size = np.bincount(idx, minlength=k)
        order = np.argsort(idx, kind="stable")
        bounds = np.searchsorted(idx[order], np.arange(k + 1))
        for g in np.flatnonzero(size >= min_units[li]):
            rows = order[bounds[g]:bounds[g + 1]]
            rows = rows[todo[rows]]
            if len(rows) == 0:
                continue
            x = days[order[bounds[g]:bounds[g + 1]]]
            m = float(np.minimum(x, np.quantile(x, WINSOR)).mean())
            tau2 = robust_tau2(x, np.full(len(x), m), m)
            mean[rows], shape[rows], level[rows] = m, (m * m / tau2 if tau2 > 0 else np.inf), li
            todo[rows] = False
    return mean, shape, level


# the cares are judged in batches of about this many rows (whole cares)
BATCH_ROWS = 100_000


def _batches(sorted_kind: np.ndarray, by: np.ndarray):
    """The rows `by` (ordered by care, `sorted_kind` their cares) cut into runs of whole cares of
    about `BATCH_ROWS` rows each."""
    starts = np.flatnonzero(np.r_[True, sorted_kind[1:] != sorted_kind[:-1]])
    ends = np.r_[starts[1:], len(by)]
    a = 0
    while a < len(by):
        b = ends[np.searchsorted(starts, a + BATCH_ROWS, side="right") - 1]
        b = max(b, ends[np.searchsorted(starts, a, side="right") - 1])
        yield by[a:b]
        a = b


def _judge(days, keys, classes, min_stratum, rows, mean, shape, level, log_p):
    """The negative binomial of each unit of a batch of whole cares (`days`, `keys` = kind, band,
    sex, number of conditions, conditions; `classes` the conditions as text) at the finest
    stratum with enough units, then against each one of its conditions, the most lenient kept
    (see the module docstring); written at `rows` of `mean`, `shape`, `level` and `log_p`."""
    kind, band, sex, cond, classes_ = keys
    # the same conditions (the sorted set of the patient's chronic classes) first, then their
    # number; conditions are dropped last, and a stratum of patients with the same conditions, or
    # as many, needs only a third of `min_stratum` (multimorbid patients are few, and alike)
    few = max(min_stratum // 3, 5)
    mins = [min_stratum, min_stratum, few, min_stratum, min_stratum, few, min_stratum]
    m, k, lv = stratum_null(days, mins, (kind, band, sex, classes_), (kind, band, classes_), (kind, classes_),
                            (kind, band, sex, cond), (kind, band, cond), (kind, cond), (kind,))
    lp = np.where(np.isfinite(m), negbin_logsf(days, np.nan_to_num(m, nan=1.0), k), 0.0)
    # any one of the patient's conditions may explain the care: against the patients who share
    # that one condition and receive the care (at least `few`), the most lenient tail is kept (a
    # palliative patient's weekly GP visits beside other patients on the same strong opioid,
    # whatever else each is treated for)
    lists = pc.split_pattern(classes, " ")
    parent = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    one = pc.list_flatten(lists)
    keep = np.asarray(pc.not_equal(one, "").to_numpy(zero_copy_only=False), bool)
    if keep.any():
        parent, one_code = parent[keep], sorted_codes(one)[keep]
        m1, k1, _ = stratum_null(days[parent], [few], (kind[parent], one_code))
        lp1 = np.where(np.isfinite(m1), negbin_logsf(days[parent], np.nan_to_num(m1, nan=1.0), k1), -np.inf)
        order = np.lexsort((-lp1, parent))                  # per row, its most lenient condition first
        first = order[np.r_[True, parent[order][1:] != parent[order][:-1]]]
        better = lp1[first] > lp[parent[first]]
        rows_, at = parent[first][better], first[better]
        lp[rows_], m[rows_], k[rows_], lv[rows_] = lp1[at], m1[at], k1[at], len(LEVELS) - 1
    mean[rows], shape[rows], level[rows], log_p[rows] = m, k, lv, lp


def _concentrated(shared: Shared, flagged: pa.Table, providers: list[str], fdr: float) -> set[str]:
    """The named providers whose patients are flagged far more often than chance (binomial tail
    against the flagged share of all provider–patient links, Benjamini–Hochberg at `fdr`)."""
    if not providers:
        return set()
    per = query(_PATIENTS_PER_PROVIDER, g=shared.patient_days, f=flagged,
                named=pa.table({"provider_id": providers}))
    links = shared.billing.num_rows or 1
    flagged_links = query(_FLAGGED_LINKS, billing=shared.billing, f=flagged)["n"][0].as_py()
    p_bar = max(flagged_links / links, 1e-9)
    n, c = per["patients"].to_numpy().astype(float), per["flagged"].to_numpy().astype(float)
    log_p = binom_logsf(c, n, p_bar)
    hit = benjamini_hochberg(log_p, fdr, m=len(providers)) & (c > n * p_bar)
    return set(np.asarray(per["provider_id"].to_pylist())[hit].tolist())
