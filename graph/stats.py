"""The statistics every detector judges with: tail probabilities, overdispersion, false-discovery
control and surprise. Vectorised over numpy arrays (one value per test), no loop over rows.

A detector states a **null model** (what honest behaviour predicts), computes for every unit
(provider, patient, flow, pair) the observed value and what the null expects, and a one-sided
**tail probability** p = P(as much or more | null). Tests are then judged together:

* `benjamini_hochberg`: the units whose p-values survive Benjamini–Hochberg false-discovery-rate
  control at level q over *all* the detector's tests (Benjamini & Hochberg, "Controlling the false
  discovery rate", J. R. Stat. Soc. B 57, 1995). Small counts are judged, not dropped: six
  patients far beyond peers can survive, two cannot.
* `surprise_bits`: −log2 p, the S-value (Greenland, "Valid P-values behave exactly as they
  should", The American Statistician 73, 2019): bits of information against the null, which add
  up over independent tests. Computed from log tail functions so that p < 1e-300 stays finite.

Overdispersion (honest units differ more than a binomial or Poisson allows) is an additive
random effect τ², as in Spiegelhalter's funnel plots for comparing institutions ("Funnel plots for
comparing institutional performance", Stat. Med. 24, 2005; "Handling over-dispersion of
performance indicators", Qual. Saf. Health Care 14, 2005), estimated robustly (`robust_tau2`)
so that the units under suspicion do not set the yardstick; on rates it becomes
the intra-class correlation of a beta-binomial (`rate_null`).

    >>> import numpy as np
    >>> benjamini_hochberg(np.log([0.001, 0.02, 0.04, 0.9]), q=0.05).tolist()
    [True, True, False, False]
    >>> round(float(surprise_bits(np.log(0.25))), 6)
    2.0
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import special, stats

LN2 = float(np.log(2.0))


def benjamini_hochberg(log_p: np.ndarray, q: float, m: int | None = None) -> np.ndarray:
    """Mask of the tests rejected at false-discovery rate `q` (step-up Benjamini–Hochberg).

    `log_p`: natural logs of the p-values; `m`: the number of tests (default: len(log_p));
    tests that were not computed because they could not be significant count in `m` with p = 1.
    """
    log_p = np.asarray(log_p, dtype=float)
    n = len(log_p)
    m = max(int(m if m is not None else n), n)
    if n == 0:
        return np.zeros(0, bool)
    order = np.argsort(log_p, kind="stable")
    ranks = np.arange(1, n + 1)
    ok = log_p[order] <= np.log(q) + np.log(ranks) - np.log(m)
    out = np.zeros(n, bool)
    if ok.any():
        out[order[: int(np.flatnonzero(ok).max()) + 1]] = True
    return out


def family_bh(log_p: np.ndarray, family: np.ndarray, q: float) -> np.ndarray:
    """Mask of the tests rejected when the discoveries are families (a patient: the alert), not
    tests (a patient's care): each family's Simes p-value (min over its tests, sorted, of
    n·p₍ⱼ₎/j; valid under positive dependence, as a patient's cares are), Benjamini–Hochberg at `q`
    over the families, then, within each of the R families selected out of M, Benjamini–Hochberg at
    q·R/M (Benjamini & Bogomolov, "Selective inference on multiple families of hypotheses",
    J. R. Stat. Soc. B 76, 2014: the expected share of honest families among those alerted
    stays at most q, and the average share of honest tests within an alerted family too).
    `log_p`: natural logs of the p-values; `family`: integer family of each test."""
    n = len(log_p)
    if n == 0:
        return np.zeros(0, bool)
    order = np.lexsort((log_p, family))
    f, lp = family[order], log_p[order]
    starts = np.flatnonzero(np.r_[True, f[1:] != f[:-1]])
    size = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, size) + 1           # j within the family
    big = np.repeat(size, size).astype(float)
    simes = np.minimum.reduceat(lp + np.log(big) - np.log(rank), starts)
    chosen = benjamini_hochberg(np.minimum(simes, 0.0), q)
    r, m = int(chosen.sum()), len(starts)
    if r == 0:
        return np.zeros(n, bool)
    # within a chosen family: step-up BH at q·R/M over its own tests
    ok = lp <= np.log(q * r / m) + np.log(rank) - np.log(big)
    last = np.zeros(len(starts), np.int64)                       # the largest rank passing, per family
    np.maximum.at(last, np.repeat(np.arange(len(starts)), size), np.where(ok, rank, 0))
    keep = (rank <= np.repeat(last, size)) & np.repeat(chosen, size)
    out = np.zeros(n, bool)
    out[order] = keep
    return out


def surprise_bits(log_p) -> np.ndarray:
    """S-value −log2 p in bits (≥ 0) from natural-log p-values."""
    return np.maximum(-np.asarray(log_p, dtype=float) / LN2, 0.0)


def poisson_logsf(observed, expected) -> np.ndarray:
    """log P(X ≥ observed) for X ~ Poisson(expected): a count beyond its expectation."""
    o = np.asarray(observed, dtype=float)
    e = np.maximum(np.asarray(expected, dtype=float), 1e-12)
    return np.where(o <= 0, 0.0, stats.poisson.logsf(o - 1, e))


def binom_logsf(observed, n, p) -> np.ndarray:
    """log P(X ≥ observed) for X ~ Binomial(n, p); finite however far out (see `betabinom_logsf`)."""
    return betabinom_logsf(observed, n, p, 0.0)


FAR_TAIL = np.log(1e-6)   # below this, a tail is summed term by term (`betabinom_logsf`)


def betabinom_logsf(observed, n, mean, rho) -> np.ndarray:
    """log P(X ≥ observed) for X beta-binomial with success mean `mean` and intra-class
    correlation `rho` (0 = binomial): honest units whose rates themselves vary."""
    o, n, mean, rho = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (observed, n, mean, rho)))
    mean = np.clip(mean, 1e-12, 1 - 1e-12)
    rho = np.clip(rho, 0.0, 0.999)
    binom = stats.binom.logsf(o - 1, n, mean)
    size = np.where(rho > 1e-9, (1 - rho) / np.maximum(rho, 1e-9), 1.0)
    with np.errstate(all="ignore"):
        bb = stats.betabinom.logsf(o - 1, n, mean * size, (1 - mean) * size)
    out = np.array(np.where(rho > 1e-9, bb, binom), dtype=float)
    # far in the tail scipy's survival function is 1 − cdf, rounding noise below ~1e-10, or
    # underflows (-inf, NaN): there, sum the tail's probabilities in logs instead (exact, finite)
    # (scipy's binomial tail is an incomplete beta function, accurate until it underflows)
    redo = np.where(rho > 1e-9, ~(out > FAR_TAIL), ~np.isfinite(out))
    for i in np.flatnonzero(redo & (o > 0) & (o <= n)):
        k = np.arange(o.flat[i], n.flat[i] + 1)
        if rho.flat[i] > 1e-9:
            terms = stats.betabinom.logpmf(k, n.flat[i], mean.flat[i] * size.flat[i], (1 - mean.flat[i]) * size.flat[i])
        else:
            terms = stats.binom.logpmf(k, n.flat[i], mean.flat[i])
        out.flat[i] = special.logsumexp(terms)
    return np.where(o <= 0, 0.0, np.minimum(out, 0.0))


def negbin_logsf(observed, mean, shape) -> np.ndarray:
    """log P(X ≥ observed) for X negative binomial (Poisson–gamma) with `mean` and gamma `shape`
    κ (variance mean + mean²/κ); κ = inf is Poisson."""
    o = np.asarray(observed, dtype=float)
    mean = np.maximum(np.asarray(mean, dtype=float), 1e-12)
    shape = np.broadcast_to(np.asarray(shape, dtype=float), o.shape)
    finite = np.isfinite(shape)
    kappa = np.where(finite, shape, 1.0)
    nb = stats.nbinom.logsf(o - 1, kappa, kappa / (kappa + mean))
    return np.where(o <= 0, 0.0, np.where(finite, nb, stats.poisson.logsf(o - 1, mean)))


# units expecting one event or more needed to calibrate a count model
MIN_CALIBRATION = 20
# expected events from which a count's ratio to its expectation measures the units' spread: a
# Poisson count's skewness is 1/√λ, below a third from 10 on, where the normal approximation the
# χ²₁ moment equation rests on holds (the usual rule for approximating a Poisson by a normal law)
SPREAD_MIN_EXPECTED = 10


def count_calibration(observed: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """How a model's expected counts must be corrected for the units it describes honestly: the
    median ratio c of observed to expected (over units expecting one or more), and the gamma
    shape κ of the units' spread around c·expected (Poisson–gamma; τ² of the ratios from
    `robust_tau2` at the median, as the suspects may be many among the few units expecting one
    event or more; κ = c²/τ², inf when no spread). The spread is measured on the units expecting
    `SPREAD_MIN_EXPECTED` events or more: a count expecting one to three is an integer close to
    its expectation (1 where 1.0 is expected, a residual of 0) as often as not, so that with many
    such units the median squared residual stayed below χ²₁'s however much the others differed —
    dense_block's 91 calibrating pairs of a bench region (`second_region`), some expecting 50 to
    230 shared patients and sharing 0.4 to 2.4 times that, came out as Poisson (κ = inf), and the
    region's honest pharmacies (1.4 to 1.9 times the 77 their pairs expect) a block. (1, inf) with fewer than
    `MIN_CALIBRATION` units expecting one or more: too few to tell a model's bias from the units
    under suspicion; κ = inf with fewer than three expecting `SPREAD_MIN_EXPECTED`.

    >>> e = np.array([1.0] * 30 + [50.0, 100.0, 200.0, 80.0, 120.0])
    >>> o = np.array([1.0] * 30 + [25.0, 180.0, 120.0, 130.0, 60.0])
    >>> c, shape = count_calibration(o, e)
    >>> c, bool(np.isfinite(shape))
    (1.0, True)
    """
    o, e = np.asarray(observed, float), np.asarray(expected, float)
    keep = e >= 1
    if keep.sum() < MIN_CALIBRATION:
        return 1.0, float("inf")
    ratio = o[keep] / e[keep]
    c = max(float(np.median(ratio)), 1e-9)
    big = e[keep] >= SPREAD_MIN_EXPECTED
    tau2 = robust_tau2(ratio[big], c / e[keep][big], c, q=0.5)
    return c, (c * c / tau2 if tau2 > 0 else float("inf"))


def grouped_count_calibration(observed: np.ndarray, expected: np.ndarray,
                              *keys: np.ndarray, use: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`count_calibration` within each group of units sharing `keys`, each row's (c, κ); a group
    with too few units to calibrate takes the calibration of all the units. `use`: the units that
    may calibrate (default all) — e.g. units that are independent of each other, so that a
    cluster of related suspects cannot set its own yardstick."""
    o, e = np.asarray(observed, float), np.asarray(expected, float)
    use = np.ones(len(o), bool) if use is None else np.asarray(use, bool)
    c_all, k_all = count_calibration(o[use], e[use])
    idx, k = group_index(*keys)
    c, shape = np.full(k, c_all), np.full(k, k_all)
    order = np.argsort(idx, kind="stable")
    bounds = np.searchsorted(idx[order], np.arange(k + 1))
    for a in range(k):
        rows = order[bounds[a]:bounds[a + 1]]
        rows = rows[use[rows]]
        if (e[rows] >= 1).sum() >= MIN_CALIBRATION:
            c[a], shape[a] = count_calibration(o[rows], e[rows])
    return c[idx], shape[idx]


def greedy_matching(a: np.ndarray, b: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Mask of a maximal set of `eligible` pairs (a, b) no two of which share a member, taken in
    the given order (deterministic): independent units among pairs, where a clique of m members
    gives m/2 of its m(m − 1)/2 pairs. Loops over the eligible pairs only (they are few).

    >>> a, b = np.array(["x", "x", "y", "u"]), np.array(["y", "z", "z", "v"])
    >>> greedy_matching(a, b, np.ones(4, bool)).tolist()
    [True, False, False, True]
    """
    taken: set = set()
    out = np.zeros(len(a), bool)
    for i in np.flatnonzero(eligible):
        if a[i] not in taken and b[i] not in taken:
            out[i] = True
            taken.update((a[i], b[i]))
    return out


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def logit_tau2(observed, n, chance) -> float:
    """Between-unit variance, on the log-odds scale, of units each seeing `observed` of `n` where
    `chance` was expected (`robust_tau2` on the empirical log-odds ratios, each with its sampling
    variance 1/(o + ½) + 1/(n − o + ½), over units expecting at least one event and one
    non-event): honest units differ by odds ratios — a prescriber whose patients prefer a pharmacy
    twice as much as others do — not by fixed amounts."""
    o, n, c = np.asarray(observed, float), np.asarray(n, float), np.asarray(chance, float)
    keep = (n * c >= 1) & (n * (1 - c) >= 1)      # units whose empirical log-odds mean something
    o, n, c = o[keep], n[keep], c[keep]
    lor = np.log(o + 0.5) - np.log(n - o + 0.5)
    return robust_tau2(lor, 1 / (o + 0.5) + 1 / (n - o + 0.5), logit(c))


def logitnormal_binom_logsf(observed, n, chance, tau2: float, nodes: int = 24) -> np.ndarray:
    """log P(X ≥ observed) for X ~ Binomial(n, p), logit p ~ Normal(logit chance, τ²): the
    binomial tail averaged over honest units' odds-ratio differences (Gauss–Hermite quadrature).
    Computed `_ROWS` units at a time (the quadrature holds `nodes` values a unit: at a million
    units, whole, 200 MB an array)."""
    o, n = np.asarray(observed, float), np.asarray(n, float)
    if tau2 <= 0:
        return binom_logsf(o, n, chance)
    chance = np.broadcast_to(np.asarray(chance, float), o.shape)
    if o.ndim == 1 and len(o) > _ROWS:
        return np.concatenate([logitnormal_binom_logsf(o[i:i + _ROWS], n[i:i + _ROWS], chance[i:i + _ROWS], tau2, nodes)
                               for i in range(0, len(o), _ROWS)])
    p, w = logitnormal_nodes(chance, tau2, nodes)
    tails = stats.binom.logsf(o[..., None] - 1, n[..., None], np.clip(p, 1e-12, 1 - 1e-12))
    out = np.logaddexp.reduce(tails + np.log(w), axis=-1)
    return np.where(o <= 0, 0.0, np.minimum(out, 0.0))


def logitnormal_nodes(chance, tau2: float, nodes: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """The Gauss–Hermite quadrature of p with logit p ~ Normal(logit chance, τ²): (p at the nodes,
    shape `chance.shape + (nodes,)`; the weights, shape `(nodes,)`, summing to 1), so that
    E f(p) ≈ Σ weights · f(p). Source: `numpy.polynomial.hermite.hermgauss` (nodes x and weights w
    of ∫ e^{−x²} f(x) dx), with logit p = logit chance + √(2τ²) x and weights w / √π. One
    implementation for `logitnormal_binom_logsf` and the moments of pharmacy_collusion's pooled test."""
    x, w = np.polynomial.hermite.hermgauss(nodes)
    p = 1 / (1 + np.exp(-(logit(chance)[..., None] + np.sqrt(2 * tau2) * x)))
    return p, w / np.sqrt(np.pi)


_ROWS = 65_536      # units a chunk of `logitnormal_binom_logsf`


def normal_logsf(z) -> np.ndarray:
    """log P(Z ≥ z) for a standard normal Z."""
    return stats.norm.logsf(np.asarray(z, dtype=float))


@lru_cache(maxsize=None)
def _chi2_1_quantile(q: float) -> float:
    """The q quantile of χ²₁, computed once per q (scipy's ppf costs a millisecond a call, and a
    scan asks `robust_tau2` for it once per stratum: thousands of times)."""
    return float(stats.chi2.ppf(q, 1))


def _quantile(a: np.ndarray, q: float) -> float:
    """`np.quantile(a, q)` (its default, linear method: Hyndman & Fan's 7th) of a 1-D array of
    non-negative floats without NaN, bit for bit — the same order statistics (`np.partition`)
    and the same interpolation arithmetic as numpy's `_quantile` and `_lerp` — without numpy's
    per-call overhead (about 0.25 ms: `robust_tau2` asks for 60 quantiles a stratum)."""
    n = len(a)
    virtual = (n - 1) * q
    if virtual >= n - 1:            # numpy's "above bounds": both neighbours are the largest value
        below = -1
        x0 = x1 = float(a.max())
    else:
        below = math.floor(virtual)
        part = np.partition(a, (below, below + 1))
        x0, x1 = float(part[below]), float(part[below + 1])
    gamma = virtual - below
    diff = x1 - x0
    return x1 - diff * (1 - gamma) if gamma >= 0.5 else x0 + diff * gamma


def robust_tau2(estimate: np.ndarray, variance: np.ndarray, centre, q: float = 0.75,
                one_sided: bool = False) -> float:
    """Between-unit variance τ² of honest units around `centre` (one value, or one per unit),
    each `estimate` known with sampling `variance`: the τ² for which the `q` quantile of the
    squared standardised residuals (estimate − centre)² / (variance + τ²) equals that of χ²₁ —
    Paule & Mandel's moment equation (J. Res. NBS 87, 1982) with the mean replaced by a
    quantile, as in Rousseeuw's least quantile of squares (JASA 79, 1984). The units beyond the
    quantile — a quarter, the suspects — do not set it; the others all do, however far their
    honest differences take them (patients of a one-dentist town, nurses with many insulin
    patients, a prescriber whose patients favour one pharmacy). `one_sided`: only excesses over the
    centre count. 0 with fewer than three units or no excess."""
    estimate, variance = np.asarray(estimate, float), np.asarray(variance, float)
    centre = np.broadcast_to(np.asarray(centre, float), estimate.shape)
    keep = variance > 0
    d = estimate[keep] - centre[keep]
    d2, v = (np.maximum(d, 0) if one_sided else d) ** 2, variance[keep]
    # one-sided: only excesses count (a unit below its conservative expectation is no evidence of
    # spread); the q quantile of max(0, Z)² is χ²₁'s at 2q − 1
    target = _chi2_1_quantile(2 * q - 1 if one_sided else q)
    quantile = _quantile if np.isfinite(d2).all() else lambda a, q: float(np.quantile(a, q))
    if len(d2) < 3 or quantile(d2 / v, q) <= target:
        return 0.0
    lo, hi = 0.0, quantile(d2, q) / target + float(v.max())
    for _ in range(60):
        mid = (lo + hi) / 2
        if quantile(d2 / (v + mid), q) > target:
            lo = mid
        else:
            hi = mid
    return hi


def rate_null(n: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """The usual rate p₀ of honest units (each with `r` events in `n` trials) and their
    intra-class correlation ρ.

    p₀ is a winsorised pooled rate (a Huber-type M-estimate): each unit's events are capped at
    the binomial 99.5 % quantile under the current p₀ and the pooled rate recomputed, until it
    settles; units far beyond (the suspects) then weigh no more than an unlucky honest unit,
    while the binomial noise of small units is kept. Floored at half an event in all trials.
    ρ = τ²/(p₀(1 − p₀)) with τ² from `robust_tau2`.
    """
    n, r = np.asarray(n, float), np.asarray(r, float)
    if len(n) == 0 or n.sum() <= 0:
        return 0.0, 0.0
    floor = 0.5 / (n.sum() + 1.0)
    p0 = min(max(r.sum() / n.sum(), floor), 1 - floor)
    for _ in range(50):
        cap = stats.binom.ppf(0.995, n, p0)
        new = min(max(np.minimum(r, cap).sum() / n.sum(), floor), 1 - floor)
        if abs(new - p0) <= 1e-9 * max(p0, 1e-12):
            break
        p0 = new
    tau2 = robust_tau2(r / n, p0 * (1 - p0) / n, p0)
    return p0, min(tau2 / (p0 * (1 - p0)), 0.999)


def peers_design_effect(n, r, xx, xm, mm, groups, pool=None) -> np.ndarray:
    """Kish's design effect d = 1 + (m̄ − 1) ρ of each unit's rate r/n, its n trials in clusters
    (a provider's patient-days of an act, in its patients) of size-weighted mean m̄ = Σmᵢ²/n,
    with ρ the within-cluster correlation of the unit's *peers* — the other units of its group
    (an act) — not its own: a unit's own clustering is what is judged, never what excuses it
    (Kish, Survey Sampling, 1965, §5.4; the moment estimator of ρ for clustered binary data,
    Ridout, Demétrio & Firth, "Estimating intraclass correlation for binary data", Biometrics 55,
    1999). Each unit j gives, at its own rate p̂ⱼ = rⱼ/nⱼ, Aⱼ = Σ(xᵢ − mᵢp̂ⱼ)² − p̂ⱼ(1 − p̂ⱼ)nⱼ (the
    clusters' spread beyond the binomial) and Bⱼ = p̂ⱼ(1 − p̂ⱼ)(Σmᵢ² − nⱼ) (what a correlation of 1
    would add); ρ of unit j = Σ_{k≠j} Aₖ / Σ_{k≠j} Bₖ over its group's units in `pool` (default
    all), clipped to [0, 1] (0 where they have no repeat). d ≥ 1. `pool`: the units allowed to set
    the peers' clustering — leave out those whose counts alone are beyond the null (a re-biller of
    one patient's every day would otherwise make every peer's repeats look like episodes: the
    robust-estimation principle of `rate_null`'s winsorising).

    Inputs per unit (arrays of one shape): `n` trials, `r` events, the cluster moments Σxᵢ²,
    Σxᵢmᵢ, Σmᵢ² of its clusters' events xᵢ and trials mᵢ (exact integers), and `groups` (any
    hashable labels). Dividing r and n by d lets a binomial or beta-binomial test judge clustered
    events as the peers' clustering predicts: where the peers' repeats come in episodes of one
    patient (overlapping stays), so may the unit's; where they do not, ten repeats on one patient
    weigh ten.

    Two units whose 5 repeats all fall in one of two patients of 5 days, and one whose 5 repeats
    fall on 5 patients of one day: the first two weigh theirs as one (d = 5), the third, a
    patient a day, keeps them (d = 1); where the peers' repeats are all isolated, a unit's repeats
    on one patient keep their weight:

        >>> peers_design_effect([10] * 3, [5] * 3, [25, 25, 5], [25, 25, 5], [50, 50, 10], ["a"] * 3).tolist()
        [5.0, 5.0, 1.0]
        >>> peers_design_effect([10] * 3, [5] * 3, [5, 5, 25], [5, 5, 25], [10, 10, 50], ["a"] * 3).tolist()
        [1.0, 1.0, 1.0]
    """
    n, r, xx, xm, mm = (np.asarray(v, dtype=float) for v in (n, r, xx, xm, mm))
    _, g = np.unique(np.asarray(groups), return_inverse=True)
    with np.errstate(all="ignore"):
        p = np.where(n > 0, r / n, 0.0)
        keep = np.ones(n.shape, bool) if pool is None else np.asarray(pool, bool)
        a = np.where(keep, xx - 2 * p * xm + p * p * mm - p * (1 - p) * n, 0.0)
        b = np.where(keep, p * (1 - p) * (mm - n), 0.0)
        num = np.bincount(g, a)[g] - a
        den = np.bincount(g, b)[g] - b
        rho = np.clip(np.where(den > 0, num / den, 0.0), 0.0, 1.0)
        size = np.where(n > 0, mm / n, 1.0)
    return np.maximum(1.0 + (size - 1.0) * rho, 1.0)


def grouped_rate_null(n: np.ndarray, r: np.ndarray, *keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`rate_null` within each group of units sharing `keys` (an act, a peer group): each row's
    group p₀ and ρ."""
    n, r = np.asarray(n, float), np.asarray(r, float)
    idx, k = group_index(*keys)
    p0, rho = np.zeros(k), np.zeros(k)
    order = np.argsort(idx, kind="stable")
    bounds = np.searchsorted(idx[order], np.arange(k + 1))
    for a in range(k):
        rows = order[bounds[a]:bounds[a + 1]]
        p0[a], rho[a] = rate_null(n[rows], r[rows])
    return p0[idx], rho[idx]


def grouped_rho(n: np.ndarray, observed: np.ndarray, expected: np.ndarray, *keys: np.ndarray,
                one_sided: bool = False) -> np.ndarray:
    """Per group of units sharing `keys`, the intra-class correlation ρ of units that each
    expect `expected` events of `n` trials and saw `observed`: τ² from `robust_tau2` on the
    units' rates around their own expectations, over the group's pooled expected rate."""
    n, o, e = (np.asarray(x, float) for x in (n, observed, expected))
    idx, k = group_index(*keys)
    rho = np.zeros(k)
    order = np.argsort(idx, kind="stable")
    bounds = np.searchsorted(idx[order], np.arange(k + 1))
    for a in range(k):
        rows = order[bounds[a]:bounds[a + 1]]
        p = e[rows] / n[rows]
        pbar = e[rows].sum() / n[rows].sum()
        if 0 < pbar < 1:
            t2 = robust_tau2(o[rows] / n[rows], np.clip(p * (1 - p), 1e-12, None) / n[rows], p, one_sided=one_sided)
            rho[a] = min(t2 / (pbar * (1 - pbar)), 0.999)
    return rho[idx]


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The value below which a share `q` of the total weight lies (0 for no values)."""
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    if len(values) == 0 or weights.sum() <= 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cum, q * cum[-1]), len(values) - 1)])


def group_index(*keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer group of each row for the tuple of key columns, and the number of groups.

    Groups are numbered in the sorted order of the key tuples (as `np.unique` numbers them); the
    codes come from `pandas.factorize(sort=True)`, which hashes and sorts only the distinct values
    (`np.unique` sorts every row: 10-15× slower on millions of strings). A missing key is a group
    of its own."""
    if not keys or len(keys[0]) == 0:
        return np.zeros(0, np.int64), 0
    cols = [pd.factorize(np.asarray(k), sort=True, use_na_sentinel=False)[0].astype(np.int64) for k in keys]
    combined = np.zeros(len(cols[0]), np.int64)
    for c in cols:
        combined = combined * (int(c.max()) + 1) + c
    inv, uniq = pd.factorize(combined, sort=True)
    return inv.astype(np.int64), len(uniq)


def sorted_codes(strings: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Each string's rank among the distinct strings in sorted (code point) order, a null last: the
    numbering `group_index` gives the strings themselves, made by Arrow (hash, sort the distinct
    values, look up) without a Python object per row — for key columns of millions of rows."""
    distinct = pc.unique(strings)
    distinct = distinct.take(pc.sort_indices(distinct))
    return pc.index_in(strings, distinct, skip_nulls=False).to_numpy(zero_copy_only=False).astype(np.int64)
