"""indicator_outlier: a provider far beyond its peers on a control campaign's indicator.

A campaign (`graph.campaign_model.Campaign`) defines an indicator; `indicator` measures every
unit (provider or prescriber) of the peer group, `detect_indicator_outliers` judges them.

Per unit: the denominator n and numerator r of its measure —
* `share_of_patients`: n = patients (of the patient filter) given a denominator code by the unit
  (or all its patients), r = those of them given a numerator code by the unit;
* `acts_per_patient`: n = those patients, r = numerator lines the unit billed (or prescribed) them;
* `sessions_per_course`: n = courses (a patient's numerator lines by the unit, a new course after
  a gap of more than `course_gap_days`), r = sessions (lines).

Null model, over the peers (providers of the campaign's kind and specialty with n > 0, at least
`min_peers` of them):
* a share: r ~ beta-binomial(n, p₀, ρ), p₀ the peers' winsorised pooled share and ρ their
  intra-class correlation fitted robustly (`graph.stats.rate_null`, as double billing does):
  honest peers differ, a few far beyond do not set the yardstick;
* a rate (acts, sessions): r ~ negative binomial with mean n·λ₀ and gamma shape κ, λ₀ the peers'
  usual rate (Huber's M-estimate made Fisher-consistent for counts, Cantoni & Ronchetti, JASA 96,
  2001) and κ from their spread (`count_dispersion`: the upper 95 % bound of an unbiased
  moment estimate, units far from the fit left out; Spiegelhalter's overdispersed funnel,
  Stat. Med. 24, 2005).
Small denominators are handled by these exact tails: a prescriber with 3 of 4 patients is not
judged like one with 300 of 400. Each unit's rate comes with its 95 % confidence interval
(Clopper–Pearson for a share, Garwood's exact Poisson interval for a rate).

Decision: Benjamini–Hochberg at the campaign's `fdr` over the peers. Score and `excess_euros`:
(r − expected) × the unit's euros per numerator patient (share) or line (rate).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from .campaign_model import Campaign, Codes
from .findings import Findings, euros, make_findings
from .stats import (benjamini_hochberg, betabinom_logsf, negbin_logsf, rate_null,
                    surprise_bits)
from engine import Table, query

INDICATOR = pa.schema([("unit_id", pa.string()), ("denominator", pa.int64()), ("numerator", pa.int64()),
                       ("rate", pa.float64()), ("low", pa.float64()), ("high", pa.float64()),
                       ("expected", pa.float64()), ("numerator_euros", pa.float64()), ("log10_p", pa.float64()),
                       ("outlier", pa.bool_())])

# how each measure's rate is shown (unit, scale: rate × scale is shown), for the case file's chart
# and the impact of a decision (`graph.impact`)
MEASURE_UNITS = {"share_of_patients": ("% of patients", 100.0), "acts_per_patient": ("acts per patient", 1.0),
                 "sessions_per_course": ("sessions per course", 1.0)}

_UNITS = """
WITH c AS (
    SELECT c.unit_id, c.patient_id, c.service_date, c.amount, c.num, c.den
    FROM c JOIN providers p ON p.provider_id = c.unit_id
    LEFT JOIN (SELECT patient_id, any_value(birth_year) AS birth_year, any_value(sex) AS sex
               FROM patients GROUP BY ALL) pt USING (patient_id)
    WHERE p.kind = $kind AND ($specialty IS NULL OR p.specialty = $specialty)
      AND c.service_date BETWEEN coalesce($start, DATE '0001-01-01') AND coalesce($end, DATE '9999-12-31')
      AND ($min_age IS NULL OR year(c.service_date) - pt.birth_year >= $min_age)
      AND ($max_age IS NULL OR year(c.service_date) - pt.birth_year <= $max_age)
      AND ($sex IS NULL OR pt.sex = $sex)
), den AS (SELECT DISTINCT unit_id, patient_id FROM c WHERE den),
num AS (SELECT unit_id, patient_id, service_date, amount FROM c JOIN den USING (unit_id, patient_id) WHERE num),
gaps AS (
    SELECT unit_id, patient_id, amount,
           coalesce(date_diff('day', lag(service_date) OVER (PARTITION BY unit_id, patient_id ORDER BY service_date),
                              service_date) > $gap, true) AS new_course
    FROM num
), per AS (
    SELECT unit_id, count(*) AS lines, count(DISTINCT patient_id) AS patients,
           count(*) FILTER (WHERE new_course) AS courses, round(sum(amount), 2) AS euros
    FROM gaps GROUP BY ALL
)
SELECT d.unit_id, count(DISTINCT d.patient_id) AS patients, coalesce(any_value(per.lines), 0) AS lines,
       coalesce(any_value(per.patients), 0) AS num_patients, coalesce(any_value(per.courses), 0) AS courses,
       coalesce(any_value(per.euros), 0) AS euros
FROM den d LEFT JOIN per USING (unit_id) GROUP BY ALL ORDER BY d.unit_id
"""


def matches(codes: pa.Array, spec: Codes) -> pa.Array:
    """Which service codes a numerator or denominator takes: any of its codes, or a code starting
    with any of its prefixes (an ATC class), or all of them (`all_patients`)."""
    if spec.all_patients:
        return pa.array(np.ones(len(codes), bool))
    out = pc.is_in(codes, value_set=pa.array(list(spec.codes), pa.string()))
    for prefix in spec.prefixes:
        out = pc.or_(out, pc.starts_with(codes, prefix))
    return pc.fill_null(out, False)


def present_codes(claims: Table) -> pa.Array:
    """The distinct `service_code`s of contract table `claims` (a small Arrow array, sorted)."""
    return query("SELECT DISTINCT service_code FROM c WHERE service_code IS NOT NULL ORDER BY 1",
                 c=claims)["service_code"].combine_chunks()


def code_flags(claims: Table, campaign: Campaign) -> pa.Table:
    """For each distinct service code of contract table `claims`, whether the campaign's
    numerator and denominator take it (`matches`): a small table (service_code, num, den) that
    statements join to the claims on `service_code`, so that the claims stay in the engine."""
    codes = present_codes(claims)
    return pa.table({"service_code": codes, "num": matches(codes, campaign.numerator),
                     "den": matches(codes, campaign.denominator)})


# the claims as `measures` reads them: their campaign unit (`unit_id`), patient, day and euros, with
# the code flags of `code_flags` (f)
_FLAGGED = """
SELECT CASE WHEN $by_prescriber THEN c.prescriber_id ELSE c.provider_id END AS unit_id, c.patient_id, c.service_date,
       c.amount, coalesce(f.num, false) AS num, coalesce(f.den, false) AS den
FROM c LEFT JOIN f USING (service_code)
"""


def unmatched(claims: Table, campaign: Campaign) -> list[str]:
    """The campaign's codes and prefixes (numerator's, then denominator's; a prefix shown as
    `N02A*`) that match no claim's `service_code`: a campaign whose codes are mistyped or absent
    from the data would otherwise find nothing, silently. Contract table `claims`."""
    present = present_codes(claims)
    known = set(present.to_pylist())
    out = []
    for spec in (campaign.numerator, campaign.denominator):
        out += [c for c in spec.codes if c not in known]
        out += [f"{p}*" for p in spec.prefixes if not pc.any(pc.starts_with(present, p)).as_py()]
    return list(dict.fromkeys(out))


def unmatched_warning(claims: Table, campaign: Campaign) -> str | None:
    """One line naming the campaign and its codes that match no claim (`unmatched`), counted;
    None when every code matches one."""
    missing = unmatched(claims, campaign)
    if not missing:
        return None
    total = len(dict.fromkeys([*campaign.numerator.codes, *(f"{p}*" for p in campaign.numerator.prefixes),
                               *campaign.denominator.codes, *(f"{p}*" for p in campaign.denominator.prefixes)]))
    present = present_codes(claims)
    empty = [part for part, spec in (("numerator", campaign.numerator), ("denominator", campaign.denominator))
             if not pc.any(matches(present, spec)).as_py()]
    return (f"campaign {campaign.name}: {len(missing)} of its {total} code(s) match no claim: {', '.join(missing)}"
            + (f"; its {' and '.join(empty)} match{'es' if len(empty) == 1 else ''} none, so it can find nothing"
               if empty else ""))


def peer_warning(providers: pa.Table, campaign: Campaign) -> str | None:
    """One line when the campaign's peer group (`peers.kind`, `peers.specialty`) holds fewer than
    `min_peers` providers of contract table `providers` — a specialty written in another
    vocabulary than the data's (`general_practice` where an SNDS conversion writes
    `medecine_generale`) would otherwise judge nobody, silently — naming the data's specialties of
    that kind with their provider counts; None when the group is large enough. Units are
    providers (a prescriber is a provider of the table too)."""
    cp = campaign
    of_kind = providers.filter(pc.equal(providers["kind"], cp.peers.kind))
    group = of_kind if cp.peers.specialty is None else \
        of_kind.filter(pc.fill_null(pc.equal(of_kind["specialty"], cp.peers.specialty), False))
    if group.num_rows >= cp.min_peers:
        return None
    who = f"providers of kind {cp.peers.kind}" + (f" and specialty {cp.peers.specialty!r}" if cp.peers.specialty else "")
    counts = pc.value_counts(pc.fill_null(of_kind["specialty"], "(none)")).to_pylist() if of_kind.num_rows else []
    known = ", ".join(f"{c['values']} ({c['counts']})" for c in sorted(counts, key=lambda c: (-c["counts"], c["values"])))
    return (f"campaign {cp.name}: {group.num_rows} {who} in the data, fewer than min_peers ({cp.min_peers}), "
            f"so it judges nobody; " + (f"the specialties of the data's {cp.peers.kind} providers: {known}" if known
                                        else f"the data has no provider of kind {cp.peers.kind}"))


def campaign_warnings(tables: Mapping[str, pa.Table], campaign: Campaign) -> list[str]:
    """What a user must know before trusting a campaign's silence (`unmatched_warning`,
    `peer_warning`), one line each. Contract tables `claims` and `providers`."""
    return [w for w in (unmatched_warning(tables["claims"], campaign), peer_warning(tables["providers"], campaign))
            if w]


def measures(tables: Mapping[str, pa.Table], campaign: Campaign) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Every unit of the campaign's peer group with a denominator: (table unit_id, patients,
    lines, num_patients, courses, euros — the numerator's euros; the denominators n; the
    numerators r), n and r as the campaign's measure counts them (module docstring). Contract
    tables `claims`, `providers`, `patients`; a pure function of them."""
    cp = campaign
    claims = tables["claims"]
    c = query(_FLAGGED, {"by_prescriber": cp.unit != "provider"}, keep=True, c=claims, f=code_flags(claims, cp))
    per = query(_UNITS, {
        "kind": cp.peers.kind, "specialty": cp.peers.specialty, "start": cp.start, "end": cp.end,
        "min_age": cp.patients.min_age, "max_age": cp.patients.max_age, "sex": cp.patients.sex,
        "gap": cp.course_gap_days}, c=c, providers=tables["providers"], patients=tables["patients"])
    col = lambda k: per[k].to_numpy(zero_copy_only=False).astype(float)
    if cp.measure == "share_of_patients":
        n, r = col("patients"), col("num_patients")
    elif cp.measure == "acts_per_patient":
        n, r = col("patients"), col("lines")
    else:
        n, r = col("courses"), col("lines")
    keep = n > 0
    return per.filter(pa.array(keep)), n[keep], r[keep]


def indicator(tables: Mapping[str, pa.Table], campaign: Campaign) -> tuple[pa.Table, dict]:
    """Every unit of the campaign's peer group with its measure, judged against its peers.

    Returns (table with columns `INDICATOR`: unit_id, denominator n, numerator r, rate (share or
    lines per patient or course), low and high (its 95 % confidence interval), expected (r under
    the peers' null), numerator_euros, log10_p (one-sided tail), outlier (Benjamini–Hochberg at
    the campaign's fdr, and beyond the expected); highest rate first, and the peers' distribution:
    {units, null_rate, spread (ρ or 1/κ), quantiles of the units' rates (10 … 90 %), histogram
    (20 bins: edges, counts), judged (at least `min_peers` units)}.
    Parameters: contract tables `claims`, `providers`, `patients`; the campaign.
    """
    cp = campaign
    per, n, r = measures(tables, cp)
    euros_ = per["euros"].to_numpy(zero_copy_only=False).astype(float)
    judged = len(n) >= cp.min_peers
    rate = np.divide(r, n, out=np.zeros_like(r), where=n > 0)
    if cp.measure == "share_of_patients":
        p0, rho = rate_null(n, r) if len(n) else (0.0, 0.0)
        expected = n * p0
        log_p = betabinom_logsf(r, n, p0, rho)
        low = np.where(r > 0, stats.beta.ppf(0.025, r, n - r + 1), 0.0)
        high = np.where(r < n, stats.beta.ppf(0.975, r + 1, np.maximum(n - r, 1)), 1.0)
        null_rate, spread = p0, rho
    else:
        lam, kappa = count_rate_null(n, r)
        expected = n * lam
        log_p = negbin_logsf(r, np.maximum(expected, 1e-9), kappa)
        low = np.where(r > 0, stats.chi2.ppf(0.025, 2 * r) / 2, 0.0) / n
        high = stats.chi2.ppf(0.975, 2 * (r + 1)) / 2 / n
        null_rate, spread = lam, (1 / kappa if np.isfinite(kappa) else 0.0)
    outlier = (benjamini_hochberg(log_p, cp.fdr) & (r > expected)) if judged else np.zeros(len(n), bool)
    table = pa.table({"unit_id": per["unit_id"], "denominator": pa.array(n.astype(np.int64)),
                      "numerator": pa.array(r.astype(np.int64)), "rate": rate, "low": low, "high": high,
                      "expected": expected, "numerator_euros": euros_, "log10_p": log_p / np.log(10),
                      "outlier": outlier}, schema=INDICATOR)
    table = table.take(pa.array(np.lexsort((per["unit_id"].to_numpy(zero_copy_only=False), -rate))))
    counts, edges = np.histogram(rate, bins=20) if len(rate) else (np.zeros(0), np.zeros(0))
    peers = {"units": int(len(n)), "judged": judged, "null_rate": float(null_rate), "spread": float(spread),
             "quantiles": {f"{q:.0%}": float(np.quantile(rate, q)) if len(rate) else 0.0
                           for q in (0.1, 0.25, 0.5, 0.75, 0.9)},
             "histogram": {"edges": [float(x) for x in edges], "counts": [int(x) for x in counts]}}
    return table, peers


def count_rate_null(n: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """The usual rate λ₀ of honest units (`r` events over `n` patients or courses) and the gamma
    shape κ of their rates around it: r ~ negative binomial(mean n·λ₀, shape κ).

    λ₀ is a robust M-estimate of location on the units' Poisson residuals (r − nλ)/√(nλ), each
    clipped at ±1.345 (Huber, "Robust estimation of a location parameter", Ann. Math. Stat. 35,
    1964; 1.345 keeps 95 % efficiency at the normal, Huber & Ronchetti, Robust Statistics, 2009):
    units far beyond, or far below (a physiotherapist of single sessions), pull no harder than
    an unlucky honest unit, while each unit counts by what its counts tell. The median of the
    units' rates would not do for rare acts: when honest units expect one or two events, most
    bill none and the median rate falls below the usual one (cone-beam CTs, 1 to 2 % of a dental
    surgeon's patients, bring a median near zero), and honest Poisson noise then reads as spread.
    Nor would Huber's equation as it stands: a Poisson count expecting about one event is skewed,
    its clipped residual averages below zero (−0.08 at one event expected), and λ₀ came out low
    (0.0093 cone-beam CTs a patient on the README's demo region, where the honest dental surgeons
    bill 0.0114). Each unit's clipped residual is therefore centred on its expectation under
    Poisson(nλ), Σ [ψ(residual) − E ψ(residual)] = 0: the Fisher-consistent robust quasi-likelihood
    of Cantoni & Ronchetti ("Robust inference for generalized linear models", JASA 96, 2001).

    The spread 1/κ of the units' rates comes from `count_dispersion`: an unbiased moment
    estimate whatever the counts (a unit with 2 events where 0.6 are expected is no spread), its
    upper 95 % bound. It was `graph.stats.robust_tau2`'s one-sided χ²₁ quantile equation on the
    units expecting one event or more, which at one to four events a unit read Poisson noise as
    spread or its absence: 30 of the third region's dentists (seed 2) read none, and an honest
    one at 20 CTs where 7.8 were expected was an outlier; 106 of them (80,000, seed 1) read
    κ 2.40, and a plant of 24 where 4.1 were expected was not. κ inf when the units differ no
    more than the bound allows. (0, inf) without events."""
    n, r = np.asarray(n, float), np.asarray(r, float)
    if len(n) == 0 or r.sum() <= 0:
        return 0.0, float("inf")
    # Σ [ψ(residual) − E ψ] decreases with λ: bisection (on log λ) between half an event in all
    # units and the highest rate
    lo, hi = 0.5 / n.sum(), max(float((r / n).max()), 0.5 / n.sum())
    psi = lambda lam: (np.clip((r - n * lam) / np.sqrt(n * lam), -_HUBER, _HUBER)
                       - _poisson_mean_psi(n * lam)).sum()
    for _ in range(100):
        mid = float(np.sqrt(lo * hi))
        lo, hi = (mid, hi) if psi(mid) > 0 else (lo, mid)
    lam = hi
    inv = count_dispersion(r, n * lam)
    return float(lam), (1 / inv if inv > 0 else float("inf"))


def count_dispersion(r: np.ndarray, mu: np.ndarray, z: float = 1.645) -> float:
    """1/κ of honest units' counts `r` around their expectations `mu` (r ~ negative binomial,
    variance μ + μ²/κ): the upper one-sided 95 % bound (`z`) of the moment estimate
    Σ [(r − μ)² − r] / Σ μ² (E[(R − μ)² − R] = μ²/κ for any μ: no bias however few events a unit
    expects, where the χ²₁ moment equation of `robust_tau2` read Poisson noise at one to four
    events as spread or its absence; a weighted moment estimator as DerSimonian & Laird's τ²,
    Control. Clin. Trials 7, 1986, weights μ²), its standard error the sandwich
    √Σ (yᵢ − x̂ μᵢ²)² / Σ μᵢ². Units far from the fit on either side (a negative binomial tail
    below 0.05 / the units, Bonferroni — suspects beyond, physiotherapists of single sessions
    below) do not set it; the fit and the units left out are repeated until they settle. The
    bound, not the estimate: thirty units expecting four events each tell a spread only so well,
    and a group whose other units happen to look Poisson would otherwise make an honest unit of
    a spread seen elsewhere a certainty. 0 without units expecting an event."""
    r, mu = np.asarray(r, float), np.asarray(mu, float)
    use = mu > 0
    r, mu = r[use], mu[use]
    if len(r) == 0:
        return 0.0
    bound = np.log(0.05 / len(r))
    keep, inv = np.ones(len(r), bool), 0.0
    for _ in range(50):
        kappa = 1 / inv if inv > 0 else float("inf")
        below = (stats.nbinom.logcdf(r, kappa, kappa / (kappa + mu)) if np.isfinite(kappa)
                 else stats.poisson.logcdf(r, mu))
        new = (negbin_logsf(r, mu, kappa) > bound) & (below > bound)
        y, w = ((r - mu) ** 2 - r)[new], mu[new] ** 2
        if w.sum() <= 0:
            return inv
        x = y.sum() / w.sum()
        upper = max(x + z * float(np.sqrt(((y - x * w) ** 2).sum())) / w.sum(), 0.0)
        if np.array_equal(new, keep) and abs(upper - inv) <= 1e-9 * max(inv, 1e-12):
            break
        keep, inv = new, upper
    return inv


def _poisson_mean_psi(mu: np.ndarray) -> np.ndarray:
    """E ψ((R − μ)/√μ) for R ~ Poisson(μ), ψ Huber's clip at ±`_HUBER`: with a = ⌈μ − c√μ⌉ and
    b = ⌊μ + c√μ⌋, c·[P(R > b) − P(R < a)] + Σ_{a ≤ k ≤ b} (k − μ) P(k)/√μ, where k P(k) = μ P(k − 1)
    (Cantoni & Ronchetti 2001, section 3, for the Poisson)."""
    mu = np.asarray(mu, float)
    root = np.sqrt(mu)
    a, b = np.ceil(mu - _HUBER * root), np.floor(mu + _HUBER * root)
    cdf = lambda k: stats.poisson.cdf(k, mu)
    within = cdf(b) - cdf(a - 1)                   # P(a ≤ R ≤ b)
    shifted = cdf(b - 1) - cdf(a - 2)              # P(a − 1 ≤ R ≤ b − 1)
    return _HUBER * (stats.poisson.sf(b, mu) - cdf(a - 1)) + root * (shifted - within)


_HUBER = 1.345


def detect_indicator_outliers(tables: Mapping[str, pa.Table], campaigns: tuple[Campaign, ...]) -> Findings:
    """One alert per campaign and outlying unit (`indicator_outlier:<campaign>:<unit>`, the unit
    accused): see module docstring. Score and `excess_euros`: euros. Nothing without campaigns.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> cp = Campaign(name="x", label="x", numerator={"codes": ["A"]}, peers={"kind": "nurse"})
        >>> detect_indicator_outliers(t, (cp,)).alerts.num_rows
        0
    """
    alerts, entities = [], []
    for cp in campaigns:
        table, peers = indicator(tables, cp)
        ids, rates = np.asarray(table["unit_id"].to_pylist(), dtype=object), table["rate"].to_numpy()
        for u in table.filter(table["outlier"]).to_pylist():
            others = rates[ids != u["unit_id"]]        # its peers: the group, the unit aside (as `fraudnet alert`)
            aid = f"indicator_outlier:{cp.name}:{u['unit_id']}"
            per_event = u["numerator_euros"] / max(u["numerator"], 1)
            excess = max(u["numerator"] - u["expected"], 0.0) * per_event
            shown = (lambda x: f"{x:.1%}") if cp.measure == "share_of_patients" else (lambda x: f"{x:.2f}")
            per_what = {"share_of_patients": f"of {u['denominator']} patients",
                        "acts_per_patient": f"per patient ({u['denominator']} patients)",
                        "sessions_per_course": f"per course ({u['denominator']} courses)"}[cp.measure]
            alerts.append({
                "alert_id": aid, "pattern": "indicator_outlier", "score": excess, "excess_euros": excess,
                "surprise_bits": float(surprise_bits(u["log10_p"] * np.log(10))),
                "summary": (f"Campaign {cp.name}: {cp.unit} {u['unit_id']} at {shown(u['rate'])} {per_what} "
                            f"(95% CI {shown(u['low'])}-{shown(u['high'])}), where the usual rate of its group "
                            f"({peers['units']} {cp.unit}s, itself included) predicts {shown(peers['null_rate'])}; its "
                            f"{len(others)} peers' median {shown(float(np.median(others)))}; {euros(excess)} beyond it."),
                "evidence": {"test": ("beta-binomial" if cp.measure == "share_of_patients" else "negative binomial")
                                     + " tail against the peers, Benjamini-Hochberg", "fdr": cp.fdr,
                             "campaign": cp.name, "label": cp.label, "measure": cp.measure, "unit": cp.unit,
                             "peers_of": cp.peers.model_dump(), **{k: u[k] for k in (
                                 "denominator", "numerator", "rate", "low", "high", "expected", "log10_p")},
                             "peers": peers},
            })
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": u["unit_id"],
                             "role": cp.unit, "standing": "accused"})
    return make_findings(alerts, entities)
