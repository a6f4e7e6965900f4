"""double_billing: the same care billed twice.

**Re-billed lines.** Unit: a provider and an act. Observed: of its `n` billing units of the act,
the `r` in which a line of the act is billed more than once the same day. A billing unit is
what is billed as one: in a hospital (a centre of kind `hospital` in `centres`) the patient's
*stay* — a run of consecutive days on which anyone billed the patient through that hospital — and
anywhere else the patient-day (one patient, one day, one channel: the same centre, or private
practice). A hospital bills a stay as one: an invoice per admission, its practitioners' fees on
it where the hospital collects them (Belgium), one stay summary (RSS) per stay (France: the
PMSI, ATIH's Guide méthodologique de production MCO), and the stay is what the Assurance
Maladie's external T2A control samples and judges (art. L162-23-13 CSS; Contrôle T2A MCO, Guide
du contrôle externe, 2018). So a stay billed twice is one double billing, not one per day of it:
its repeated days are one repeat, and the stay is marked out by the hospital's billing of the
patient (every provider's lines), never by the provider's own repeats. Two stays of one patient
at one hospital that overlap are one run of days: the claims cannot tell them from one stay.
The contract has no stay identifier: outpatient sessions there on consecutive days (radiotherapy,
Monday to Friday) are one run too. Without `centres` no centre is known to be a hospital.
Null model: honest providers repeat an act the same day at the act's usual
rate — twice-daily insulin injections repeat nearly always, a GP's second visit of the day now
and then, a glucose curve thrice, a crown never — and honest providers differ around that rate
(their patients differ). The usual rate p₀ is the act's providers' pooled rate, each provider
winsorised at its binomial 99.5 % quantile, and the between-provider variance τ² is estimated robustly
(`graph.stats.rate_null`: up to half the providers may be re-billing without widening it); so
r ~ beta-binomial(n, mean p₀, intra-class correlation τ²/(p₀(1 − p₀))). Honest repeats may also
come in episodes of one patient — every day of two overlapping stays, a patient dispensed under
two prescriptions month after month — so that the units of one patient are not independent
trials: r and n are divided by Kish's design effect d = 1 + (m̄ − 1)ρw (Kish, Survey Sampling,
1965; m̄ the provider's size-weighted mean units a patient) and rounded, with ρw the
within-patient correlation of the act's *other* providers (`graph.stats.peers_design_effect`:
the moment estimator for clustered binary data, Ridout, Demétrio & Firth, Biometrics 55, 1999),
set only by those whose counts alone are within the null's binomial 99.5 % quantile (as p₀ is
winsorised). On an act whose honest repeats come in episodes a provider's longer episode weighs
about as its peers' do; on an act whose honest repeats are isolated, repeats concentrated on one
patient keep their weight: a provider's own clustering never excuses it (a design effect taken
from the provider's own repeats, tried on 2026-12-02, let a physiotherapist re-billing every
session of one patient, 63 repeats, go unflagged).
Tail probability P(R ≥ r/d) with R ~ beta-binomial(n/d, mean p₀, the intra-class correlation above).

**Cross-channel.** Unit: a practitioner affiliated `fulltime_hospital` to a hospital. Observed:
its private claims (no centre) on a patient that hospital billed the same day. Null model: a
private patient is at the hospital on a given day by coincidence, with probability (the patient's
days billed at that hospital) / (days of the window); expected matches E = Σ over its private
claims. Tail probability P(Poisson(E) ≥ matches). The alert carries the double-billing path
practitioner -WORKS_AT-> hospital -BILLED-> patient <-BILLED- practitioner with both claim ids.

**Decision**: Benjamini–Hochberg at `fdr` over all tests of each kind (every provider × act with a
patient-day; every full-time practitioner billing privately). **Score**: the euros billed beyond
what the null expects: (r − n·p₀) × the euros of a repeat, or (matches − E) × the euros of a
matched private claim.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa
from scipy import stats

from .findings import Findings, euros, make_findings
from .settings import DoubleBillingSettings
from .shared import Shared
from .stats import benjamini_hochberg, betabinom_logsf, grouped_rate_null, peers_design_effect, poisson_logsf, surprise_bits
from engine import query

# extra_amount: each repeated patient-day's extra euros (its euros × (lines − 1) / lines) in whole
# micro-euros, summed as integers: exact in any order, so the cent it rounds to never depends on the
# order an engine adds in (a sum of doubles on a half cent once came out either side of it)
_PER_ACT = """
WITH hospital_days AS (   -- the days each patient was billed through each hospital, any provider, any act
    SELECT DISTINCT patient_id, centre_id, service_date FROM g
    WHERE centre_id IN (SELECT centre_id FROM centres WHERE kind = 'hospital')
), stays AS (             -- a stay: a run of consecutive days there, keyed by its first day
    SELECT patient_id, centre_id, service_date,
           min(service_date) OVER (PARTITION BY patient_id, centre_id, run) AS admitted
    FROM (SELECT *, date_diff('day', DATE '1970-01-01', service_date)
                    - row_number() OVER (PARTITION BY patient_id, centre_id ORDER BY service_date) AS run
          FROM hospital_days)
), episodes AS (          -- the billing unit: a stay in a hospital, a patient-day anywhere else
    SELECT g.provider_id, g.service_code, g.patient_id, g.centre_id,
           coalesce(s.admitted, g.service_date) AS episode, max(g.lines) > 1 AS repeated
    FROM g LEFT JOIN stays s USING (patient_id, centre_id, service_date)
    GROUP BY ALL
), per_patient AS (       -- each patient a cluster: m episodes of the act, x of them repeated
    SELECT provider_id, service_code, patient_id, count(*) AS m, count(*) FILTER (WHERE repeated) AS x
    FROM episodes GROUP BY ALL
), moments AS (
    SELECT provider_id, service_code, count(*) AS patients, sum(m)::BIGINT AS groups, sum(x)::BIGINT AS repeated,
           sum(x * x)::BIGINT AS xx, sum(x * m)::BIGINT AS xm, sum(m * m)::BIGINT AS mm
    FROM per_patient GROUP BY ALL
), per_act AS (
SELECT provider_id, service_code, count(*) AS patient_days,
       count(*) FILTER (WHERE lines > 1) AS repeated_days,
       coalesce(sum(lines - 1), 0)::BIGINT AS extra_lines,
       round(coalesce(sum(CAST(round(amount * (lines - 1) / lines * 1000000, 0) AS BIGINT)) FILTER (WHERE lines > 1), 0)
             / 1000000, 2) AS extra_amount,
       round(sum(amount), 2) / sum(lines) AS unit_amount
FROM g GROUP BY ALL
)
SELECT * FROM per_act JOIN moments USING (provider_id, service_code) ORDER BY provider_id, service_code
"""

_REBILLED_EXAMPLES = """
WITH flagged AS (SELECT provider_id, service_code FROM f),
d AS (
    SELECT c.provider_id, c.service_code, c.patient_id, c.service_date, c.centre_id,
           list(c.claim_id ORDER BY c.claim_id) AS claim_ids
    FROM claims c JOIN flagged USING (provider_id, service_code)
    GROUP BY ALL HAVING count(*) > 1
)
SELECT * FROM (
    SELECT *, row_number() OVER (PARTITION BY provider_id ORDER BY service_date, claim_ids) AS k FROM d
) WHERE k <= $max_examples ORDER BY provider_id, k
"""

_CROSS = """
WITH ft AS (
    SELECT provider_id, centre_id, start_date, end_date FROM affiliations WHERE role = 'fulltime_hospital'
), private AS (
    SELECT c.claim_id, c.provider_id, ft.centre_id, c.patient_id, c.service_date, c.service_code, c.amount
    FROM claims c JOIN ft ON c.provider_id = ft.provider_id
    WHERE c.centre_id IS NULL
      AND c.service_date BETWEEN coalesce(ft.start_date, DATE '0001-01-01') AND coalesce(ft.end_date, DATE '9999-12-31')
), window_days AS (
    SELECT greatest(date_diff('day', min(service_date), max(service_date)) + 1, 1) AS days FROM claims
), at_hospital AS (     -- days each patient was billed at each centre
    SELECT centre_id, patient_id, count(DISTINCT service_date) AS days FROM claims
    WHERE centre_id IN (SELECT centre_id FROM ft) GROUP BY ALL
), matched AS (
    SELECT p.*, h.claim_id AS hospital_claim_id, h.service_code AS hospital_service_code,
           row_number() OVER (PARTITION BY p.claim_id
                              ORDER BY (h.service_code = p.service_code) DESC, h.claim_id) AS pick
    FROM private p JOIN claims h
      ON h.centre_id = p.centre_id AND h.patient_id = p.patient_id AND h.service_date = p.service_date
)
SELECT p.provider_id, p.centre_id, count(*) AS private_claims,
       round(sum(coalesce(a.days, 0)) / any_value((SELECT days FROM window_days)), 6) AS expected,
       count(m.claim_id) AS matches, round(coalesce(sum(m.amount), 0), 2) AS matched_amount,
       round(sum(p.amount) / count(*), 2) AS mean_amount
FROM private p
LEFT JOIN at_hospital a ON a.centre_id = p.centre_id AND a.patient_id = p.patient_id
LEFT JOIN (SELECT * FROM matched WHERE pick = 1) m ON m.claim_id = p.claim_id
GROUP BY ALL ORDER BY p.provider_id, p.centre_id
"""

_CROSS_EXAMPLES = """
SELECT p.claim_id, p.provider_id, p.hospital AS centre_id, p.patient_id, p.service_date, p.service_code,
       h.claim_id AS hospital_claim_id, h.service_code AS hospital_service_code,
       row_number() OVER (PARTITION BY p.claim_id ORDER BY (h.service_code = p.service_code) DESC, h.claim_id) AS pick
FROM (SELECT c.claim_id, c.provider_id, c.patient_id, c.service_date, c.service_code, f.centre_id AS hospital
      FROM claims c JOIN f USING (provider_id) WHERE c.centre_id IS NULL) p
JOIN claims h ON h.centre_id = p.hospital AND h.patient_id = p.patient_id AND h.service_date = p.service_date
QUALIFY pick = 1
ORDER BY p.provider_id, p.service_date, p.claim_id
"""


def detect_double_billing(tables: Mapping[str, pa.Table], shared: Shared, settings: DoubleBillingSettings) -> Findings:
    """Alerts for re-billed lines and cross-channel double billing (see module docstring).

    Parameters: contract tables `claims` and `affiliations`; the scan's `Shared` intermediates
    (`patient_days`); settings. Returns `Findings`: one alert per provider for re-billed lines
    (`double_billing:rebilled:<provider>`, the provider accused, up to five patients billed twice
    as victims) and one per practitioner and hospital for the cross-channel case
    (`double_billing:hospital:<provider>:<centre>`, the practitioner accused, the hospital and
    patients as victims: the channel used). Score and `excess_euros`: euros beyond the null.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> from .model import build_graph
        >>> from .shared import build_shared
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_double_billing(t, build_shared(t, build_graph(t)), DoubleBillingSettings()).alerts.num_rows
        0

    Notes: one aggregation of the patient-days; the beta-binomial tails are vectorised (scipy);
    evidence is fetched only for flagged providers.
    """
    s = settings
    per = query(_PER_ACT, g=shared.patient_days, centres=tables["centres"])
    n, r = per["groups"].to_numpy(), per["repeated"].to_numpy()
    p0, rho = grouped_rate_null(n, r, per["service_code"].to_numpy(zero_copy_only=False))
    # the peers' clustering, set by the providers whose counts alone are within the null's
    # binomial 99.5 % quantile (as `rate_null` winsorises)
    d = peers_design_effect(n, r, *(per[c].to_numpy() for c in ("xx", "xm", "mm")),
                            per["service_code"].to_numpy(zero_copy_only=False),
                            pool=r <= stats.binom.ppf(0.995, n, p0))
    r_eff = np.round(r / d)
    log_p = betabinom_logsf(r_eff, np.maximum(np.round(n / d), r_eff), p0, rho)
    hit = benjamini_hochberg(log_p, s.fdr) & (r > n * p0)
    flagged = per.filter(pa.array(hit)).append_column("usual_rate", pa.array(p0[hit])) \
        .append_column("design_effect", pa.array(d[hit])) \
        .append_column("expected", pa.array(n[hit] * p0[hit])).append_column("log_p", pa.array(log_p[hit]))
    examples = query(_REBILLED_EXAMPLES, {"max_examples": s.max_examples},
                     claims=tables["claims"], f=flagged).to_pylist()
    alerts, entities = [], []
    by_provider: dict[str, list[dict]] = {}
    for row in flagged.to_pylist():
        row["excess_amount"] = (row["repeated"] - row["expected"]) * row["extra_amount"] / row["repeated"]
        by_provider.setdefault(row["provider_id"], []).append(row)
    for provider, acts in by_provider.items():
        aid = f"double_billing:rebilled:{provider}"
        excess = sum(a["excess_amount"] for a in acts)
        lines = sum(a["extra_lines"] for a in acts)
        worst = max(acts, key=lambda a: (a["excess_amount"], a["service_code"]))
        bits = float(surprise_bits(sum(a["log_p"] for a in acts)))
        alerts.append({
            "alert_id": aid, "pattern": "double_billing", "score": excess, "excess_euros": excess,
            "surprise_bits": bits,
            "summary": (f"Provider {provider} billed {lines} line(s) twice for the same patient, act and day; on act "
                        f"{worst['service_code']} {worst['repeated']} of {worst['groups']} {_units(worst)} repeat where "
                        f"peers' usual rate predicts {worst['expected']:.1f} ({worst['usual_rate']:.1%}); "
                        f"{euros(excess)} beyond it."),
            "evidence": {"kind": "rebilled", "test": "beta-binomial tail, Benjamini-Hochberg", "fdr": s.fdr,
                         "acts": [{k: a[k] for k in ("service_code", "groups", "repeated", "patient_days", "repeated_days",
                                                     "patients", "design_effect",
                                                     "extra_lines", "extra_amount", "usual_rate", "expected",
                                                     "excess_amount")}
                                  | {"log10_p": a["log_p"] / np.log(10)} for a in acts],
                         "examples": [{k: e[k] for k in ("service_code", "patient_id", "service_date", "claim_ids")}
                                      for e in examples if e["provider_id"] == provider]},
        })
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": provider, "role": "biller",
                         "standing": "accused"})
        for e in examples:
            if e["provider_id"] == provider and e["k"] <= 5:
                entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": e["patient_id"],
                                 "role": "billed_twice", "standing": "victim"})
    _cross_channel(tables, s, alerts, entities)
    return make_findings(alerts, entities)


def _units(act: dict) -> str:
    """What an act's trials are, in words: patient-days, unless some were a hospital stay's."""
    if act["groups"] == act["patient_days"]:
        return "patient-days"
    return (f"stays and patient-days (a hospital stay counted once; {act['repeated_days']} of "
            f"{act['patient_days']} patient-days)")


def _cross_channel(tables, s: DoubleBillingSettings, alerts: list, entities: list):
    per = query(_CROSS, claims=tables["claims"], affiliations=tables["affiliations"])
    if per.num_rows == 0:
        return
    m, e = per["matches"].to_numpy(), per["expected"].to_numpy()
    log_p = poisson_logsf(m, e)
    hit = benjamini_hochberg(log_p, s.fdr) & (m > e)
    flagged = per.filter(pa.array(hit))
    examples = query(_CROSS_EXAMPLES, claims=tables["claims"], f=flagged).to_pylist()
    for row, lp in zip(flagged.to_pylist(), log_p[hit]):
        provider, centre = row["provider_id"], row["centre_id"]
        rows = [x for x in examples if x["provider_id"] == provider and x["centre_id"] == centre]
        aid = f"double_billing:hospital:{provider}:{centre}"
        excess = row["matched_amount"] - row["expected"] * row["mean_amount"]
        same_act = sum(x["service_code"] == x["hospital_service_code"] for x in rows)
        alerts.append({
            "alert_id": aid, "pattern": "double_billing", "score": excess, "excess_euros": excess,
            "surprise_bits": float(surprise_bits(lp)),
            "summary": (f"Full-time hospital practitioner {provider} billed privately {row['matches']} service(s) "
                        f"({euros(row['matched_amount'])}) to patients that hospital {centre} billed the same day "
                        f"({same_act} for the same act), where coincidence predicts {row['expected']:.1f}."),
            "evidence": {"kind": "hospital", "test": "Poisson tail, Benjamini-Hochberg", "fdr": s.fdr,
                         "matches": row["matches"], "expected": row["expected"],
                         "private_claims": row["private_claims"], "same_act": same_act, "log10_p": lp / np.log(10),
                         "paths": [
                {"nodes": [f"provider:{provider}", f"centre:{centre}", f"patient:{x['patient_id']}",
                           f"provider:{provider}"],
                 "rels": ["WORKS_AT", "BILLED", "BILLED"],
                 "role": "fulltime_hospital", "service_date": x["service_date"],
                 "hospital_claim_id": x["hospital_claim_id"], "private_claim_id": x["claim_id"],
                 "service_code": x["service_code"], "hospital_service_code": x["hospital_service_code"]}
                for x in rows[: s.max_examples]]},
        })
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": provider, "role": "biller",
                         "standing": "accused"})
        entities.append({"alert_id": aid, "entity_type": "centre", "entity_id": centre, "role": "hospital",
                         "standing": "victim"})
        for x in rows[:5]:
            entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": x["patient_id"],
                             "role": "billed_twice", "standing": "victim"})
