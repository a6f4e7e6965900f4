"""peer_outlier: a provider whose volume of an act per patient is far beyond its peers.

National-control style. Unit: a provider and an act, within its peer group (provider kind and
specialty, at least `min_peers` providers billing the act). Volume of a patient: the days on
which the provider billed the act to that patient (same-day repeats are double billing's
business).

Null model: an honest provider's patients are like its peers' patients *alike* — regular
patients (the provider billing them the act most often among its kind) with regular patients,
occasional ones with occasional ones, same act prescribed by the same kind of prescriber (a neurologist's rehabilitation course is not a GP's
sprain), same regimen (an act billed twice a day for a course of at least `HEAVY_DAYS` days, insulin,
is compared with twice-daily regimens), and as many other carers (not pharmacies or laboratories) who see the patient at
least monthly (`HEAVY_DAYS`): a
nursing-home resident cared for daily by a team is compared with patients cared for like that
(a heavy use corroborated by independent carers), and not judged where no other provider has
enough such patients to estimate the quantile. Each of its patients exceeds a quantile of
the volumes of the peers' patients alike (`QUANTILES`: 90 % and 99 %) with the share p of the
*other* providers' patients alike who do (leave-one-out, so that a provider does not set its
own yardstick), so its expected count is E = Σ p; honest providers differ around it — some
specialise in heavier cases — by a between-provider variance τ² estimated robustly
(`graph.stats.grouped_rho`) at each level, the largest applying to both. Observed: the number c of the provider's n patients beyond;
c ~ beta-binomial(n, E/n, ρ = τ²/(p̄(1 − p̄))); tail probability P(C ≥ c) at each level, the
smaller times two (Bonferroni): many patients moderately beyond, or a few far beyond. Being
a count of patients, it is exact for small counts: six patients all beyond the 90 % quantile
are beyond doubt (0.1⁶ = 10⁻⁶), two are not (10⁻²).

Decision: Benjamini–Hochberg at `fdr` over every provider × act tested. Score: the excess
euros, Σ over the provider's patients of (days − the median days of peers' patients alike) ×
the provider's euros per day of the act. Drugs are left out by default (`acts_only`): dispensing
volumes follow prescriptions, and abnormal flows are pharmacy_collusion's business.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa

from .findings import Findings, euros, make_findings
from .settings import PeerOutlierSettings
from .shared import Shared
from .stats import benjamini_hochberg, betabinom_logsf, group_index, grouped_rho, surprise_bits
from engine import query

_VOLUMES = """
WITH d AS (       -- per provider, patient and act: days, whether twice a day, the prescriber
    SELECT provider_id, patient_id, service_code, count(DISTINCT service_date) AS days, round(sum(amount), 2) AS amount,
           count(*) FILTER (WHERE lines >= 2) * 2 >= count(*) AND count(DISTINCT service_date) >= $heavy AS twice,
           min(prescriber_id) AS prescriber_id
    FROM g GROUP BY ALL
), care AS (      -- who cares for a patient on at least $heavy days (pharmacies and laboratories serve, not care)
    SELECT g.provider_id, g.patient_id FROM g JOIN providers p USING (provider_id)
    WHERE p.kind NOT IN ('pharmacy', 'laboratory')
    GROUP BY ALL HAVING count(DISTINCT g.service_date) >= $heavy
), heavy AS (SELECT patient_id, count(*) AS n FROM care GROUP BY ALL
), c AS (
    SELECT d.*, p.kind, coalesce(p.specialty, '') AS specialty,
           row_number() OVER (PARTITION BY d.patient_id, d.service_code, p.kind
                              ORDER BY d.days DESC, d.provider_id) = 1 AS main,
           coalesce(pr.kind || '|' || coalesce(pr.specialty, ''), CASE WHEN d.prescriber_id IS NULL THEN '' ELSE '?' END)
               AS prescribed_by,
           coalesce(h.n, 0) - (cr.provider_id IS NOT NULL)::INT AS others
    FROM d JOIN providers p USING (provider_id) LEFT JOIN services s USING (service_code)
    LEFT JOIN providers pr ON pr.provider_id = d.prescriber_id
    LEFT JOIN heavy h USING (patient_id) LEFT JOIN care cr USING (provider_id, patient_id)
    WHERE NOT $acts_only OR s.kind IS NULL OR s.kind IN ('act', 'lab')
), peers AS (
    SELECT kind, specialty, service_code FROM c GROUP BY ALL HAVING count(DISTINCT provider_id) >= $min_peers
), ref AS (
    SELECT kind, specialty, service_code, prescribed_by, twice, others, main, median(days) AS median_days
    FROM c JOIN peers USING (kind, specialty, service_code) GROUP BY ALL
)
SELECT c.provider_id, c.kind, c.specialty, c.service_code,
       c.prescribed_by || '|' || c.twice || '|' || c.others || '|' || c.main AS stratum, c.days, c.amount,
       c.days - r.median_days AS excess_days
FROM c JOIN ref r USING (kind, specialty, service_code, prescribed_by, twice, others, main)
ORDER BY c.kind, c.specialty, c.service_code, c.provider_id, c.patient_id
"""

# a carer billing a patient on this many days or more (monthly or more often) cares for them heavily
HEAVY_DAYS = 12
# the levels of the peers' distribution a provider's patients are counted beyond: many patients
# moderately beyond, or a few far beyond
QUANTILES = (0.9, 0.99)


def detect_peer_outliers(tables: Mapping[str, pa.Table], shared: Shared, settings: PeerOutlierSettings) -> Findings:
    """One alert per provider (`peer_outlier:<provider>`, the provider accused), listing each act
    on which it stands out (see module docstring). Score and `excess_euros`: euros.

    Parameters: contract tables `providers` (kind, specialty) and `services` (act or drug); the
    scan's `Shared` intermediates (`patient_days`); settings.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> from .model import build_graph
        >>> from .shared import build_shared
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_peer_outliers(t, build_shared(t, build_graph(t)), PeerOutlierSettings()).alerts.num_rows
        0
    """
    s = settings
    pts = query(_VOLUMES, {"acts_only": s.acts_only, "min_peers": s.min_peers, "heavy": HEAVY_DAYS},
                g=shared.patient_days, providers=tables["providers"], services=tables["services"])
    col = lambda k: pts[k].to_numpy(zero_copy_only=False)
    unit, k = group_index(col("provider_id"), col("service_code"))
    stratum = group_index(col("kind"), col("specialty"), col("service_code"), col("stratum"))[0]
    days = col("days").astype(float)
    first = np.unique(unit, return_index=True)[1]
    per = pts.select(["provider_id", "kind", "specialty", "service_code"]).take(pa.array(first))
    n = np.bincount(unit, minlength=k).astype(float)
    group = [per[c].to_numpy(zero_copy_only=False) for c in ("kind", "specialty", "service_code")]
    counts = [loo_exceedance(days, stratum, unit, k, q) for q in QUANTILES]
    # how much honest providers differ is a property of the providers: estimated at each level,
    # the largest applies to all (at the 99 % level most providers have no patient beyond, and
    # their differences do not show)
    rho = np.max([grouped_rho(n, b, e, *group) for b, e in counts], axis=0) if k else np.zeros(0)
    tests = [(np.where(b > e, betabinom_logsf(b, n, e / np.maximum(n, 1), rho), 0.0), b, e, rho) for b, e in counts]
    # the strongest of the levels, Bonferroni-corrected for their number
    level = np.argmin(np.stack([t[0] for t in tests]), axis=0) if k else np.zeros(0, int)
    pick = lambda j: np.choose(level, [t[j] for t in tests]) if k else np.zeros(0)
    log_p = np.minimum(pick(0) + np.log(len(QUANTILES)), 0.0)
    c, e, rho = pick(1), pick(2), pick(3)
    excess_days = np.bincount(unit, col("excess_days").astype(float), k)
    hit = benjamini_hochberg(log_p, s.fdr) & (c > e) & (excess_days > 0)
    amount, total_days = np.bincount(unit, col("amount").astype(float), k), np.bincount(unit, days, k)
    rows = per.filter(pa.array(hit)).to_pylist()
    labels = dict(zip(tables["services"]["service_code"].to_pylist(), tables["services"]["label"].to_pylist()))
    by_provider: dict[str, list[dict]] = {}
    for r, i in zip(rows, np.flatnonzero(hit)):
        r.update(patients=int(n[i]), days=int(total_days[i]), excess_days=float(excess_days[i]),
                 excess_amount=excess_days[i] * amount[i] / total_days[i], log10_p=log_p[i] / np.log(10),
                 quantile=QUANTILES[level[i]], beyond=int(c[i]), expected_beyond=float(e[i]), rho=float(rho[i]))
        by_provider.setdefault(r["provider_id"], []).append(r)
    alerts, entities = [], []
    for provider, acts in by_provider.items():
        aid = f"peer_outlier:{provider}"
        top = max(acts, key=lambda a: (a["excess_amount"], a["service_code"]))
        peer = f"{top['kind']}" + (f" ({top['specialty'].replace('_', ' ')})" if top["specialty"] else "")
        excess = sum(a["excess_amount"] for a in acts)
        alerts.append({
            "alert_id": aid, "pattern": "peer_outlier", "score": excess, "excess_euros": excess,
            "surprise_bits": float(surprise_bits(sum(a["log10_p"] for a in acts) * np.log(10))),
            "summary": (f"Provider {provider} billed {labels.get(top['service_code']) or top['service_code']} on "
                        f"{top['days'] / top['patients']:.1f} days per patient to {top['patients']} patients; "
                        f"{top['beyond']} of them beyond the {top['quantile']:.1%} quantile of {peer} peers' patients "
                        f"alike, where {top['expected_beyond']:.1f} would be; excess "
                        f"{euros(excess)}" + (f" over {len(acts)} acts." if len(acts) > 1 else ".")),
            "evidence": {"test": "beta-binomial tail of patients beyond the peers' quantiles, Bonferroni over "
                                 "the quantiles, Benjamini-Hochberg", "fdr": s.fdr,
                         "acts": [{k: a[k] for k in ("service_code", "kind", "specialty", "patients", "days", "quantile",
                                                    "beyond", "expected_beyond", "rho", "excess_days",
                                                    "excess_amount", "log10_p")} for a in acts]},
        })
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": provider, "role": "biller",
                         "standing": "accused"})
    return make_findings(alerts, entities)


def loo_exceedance(days: np.ndarray, stratum: np.ndarray, unit: np.ndarray, k: int,
                   q: float) -> tuple[np.ndarray, np.ndarray]:
    """Per unit (one of `k`): how many of its patients lie beyond the `q` quantile of the *other*
    units' patients of the same stratum, and how many would (their share beyond, plus half a
    patient, times its patients), summed over its strata. One row per patient: its `days`, its
    `stratum`, its `unit`. Leave-one-out, so that a unit's own patients never set its yardstick; a
    stratum with fewer than 1 / (1 − q) other patients has no estimable quantile and is not judged.
    """
    beyond, expected = np.zeros(k), np.zeros(k)
    if len(days) == 0:
        return beyond, expected
    order = np.lexsort((days, stratum))
    bounds = np.flatnonzero(np.diff(stratum[order])) + 1
    for rows in np.split(order, bounds):
        d, u = days[rows], unit[rows]
        values, pos = np.unique(d, return_inverse=True)
        units, ui = np.unique(u, return_inverse=True)
        hist = np.zeros((len(units), len(values)))
        np.add.at(hist, (ui, pos), 1)
        own = np.cumsum(hist, axis=1)                  # each unit's patients at or below each value
        total = own.sum(axis=0)                        # everyone's
        mine = own[:, -1]
        others = len(d) - mine
        ok = others * (1 - q) >= 1                     # a quantile needs 1 / (1 - q) others to be estimated
        rank = np.ceil(q * others)
        at = np.argmax((total - own) >= rank[:, None], axis=1)   # the others' q quantile, per unit
        idx = np.arange(len(units))
        b = mine - own[idx, at]
        share = ((others - (total[at] - own[idx, at])) + 0.5) / (others + 1)
        beyond[units[ok]] += b[ok]
        expected[units[ok]] += (mine * share)[ok]
    return beyond, expected
