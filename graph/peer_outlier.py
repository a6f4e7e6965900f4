"""peer_outlier: a provider whose volume of an act per patient is far beyond its peers.

National-control style. Unit: a provider and an act, within its peer group (provider kind and
specialty, at least `min_peers` providers billing the act). Volume of a patient: the days on
which the provider billed the act to that patient (same-day repeats are double billing's
business).

Null model: an honest provider's patients are like its peers' patients *alike*:
* regular patients (the provider billing them the act most often among its kind) with regular
  patients, occasional ones with occasional ones;
* care billed through a centre with care billed through a centre (a chain of centres billing
  crowns does not set private dentists' yardstick);
* the act prescribed by the same kind of prescriber (a neurologist's rehabilitation course is not
  a GP's sprain);
* the same regimen: an act billed twice a day over a course of at least `HEAVY_DAYS` days
  (insulin) is compared with twice-daily regimens;
* as many other carers (not pharmacies or laboratories) seeing the patient at least weekly
  (`graph.shared.CARE_DAYS`): a nursing-home resident cared for daily by a team is compared with
  patients cared for like that — a heavy use corroborated by independent carers — and not judged
  where no other provider has enough such patients to estimate the quantile. A colleague is no
  independent carer where it adds its days to the provider's: two providers who take turns on
  the patients they share (a rota, read from the claims as dense_block reads one:
  `graph.dense_block.rota_pairs`) but bill a patient an act on the same days as often as chance
  (`adding_colleagues`) do not count as each other's other carer on that act — two nurses of a
  practice each over-billing wound care to the patients they otherwise share out would
  otherwise corroborate each other, alone in a stratum too small to judge. Colleagues taking
  turns on the act itself (a nursing home's nurses, one a day) remain each other's carers.

A patient counts beyond a quantile with its days capped at those the patients alike have at the
rank of the patient's *care* — its days of the act from every provider of that kind, as a
mid-rank (`ecdf`, `at_rank`); the others' yardstick stays their own days. Both must be high: a
nursing-home nurse taking turns with colleagues bills a resident more days than a home
practice's second nurse does, but the resident's care (a forfait every day) is any dependent
patient's — a team sharing the days, not more care; a nurse adding days on top of the main
nurse's raises both. In a stratum where each patient has one provider of the kind, the cap is
the patient's own days: nothing changes. The cap only lowers a provider's count: it can clear a
provider, never accuse one.

Each of its patients exceeds a quantile of the volumes of the *other* providers' patients alike
(`QUANTILES`: 90 % and 99 %; leave-one-out, so that a provider does not set its own yardstick,
and leaving out providers far beyond, so that several plants in one peer group do not hide each
other) with the share p of those patients who do; its expected count is E = Σ p, and, the
peers' tail being known only so well, the test uses the upper 95 % bound of each share
(Clopper–Pearson), never below the quantile's own 10 % or 1 % (peers' volumes tied at the
quantile do not make the tail beyond it thinner), and only where ten peers' patients lie beyond
it. Honest providers' differences (specialised practices, heavier patients) are carried by the
strata "alike" and by that conservative bound, not by a variance fitted to the providers, which
the plants of a small peer group would widen. Observed: the number c of the provider's n
patients beyond; c ~ binomial(n, E⁺/n): many patients moderately beyond (90 %), or fewer far
beyond (99 %). Days are whole numbers that peers' patients tie on: where the 90 % quantile's
value is one a fifth of them reach (3 days where most have 1), a provider billing every patient
exactly that value is beyond no one. The moderate level is therefore also read *at or beyond*
its value (`LEVELS`; only where that value lies above the peers' median: below, it is the bulk,
not a tail), its share the peers' share at or beyond it. That share is wide, and how many of a
provider's patients reach it is its habit as much as chance (a dentist who scales every
patient twice a year): there c ~ beta-binomial(n, E⁺/n, ρ), ρ the intra-class correlation of
that share between the providers of the act's peer group (`graph.stats.grouped_rho`:
`robust_tau2`, Paule–Mandel's moment equation at a quantile, one-sided — a quarter of the
providers may be far beyond without widening it). The same holds beyond the 90 % quantile where
its value is the peers' median's (days tied in the bulk: most patients scaled once a year, the
quantile one day): beyond it is at or beyond the next value, a share set by practices' habits
(patients of a small town coming back) — that test is beta-binomial too, with its own ρ, for a
provider most of whose patients lie in such strata. The smallest tail probability of the three
tests, times three (Bonferroni). Being
a count of patients, it is exact for small counts: six patients all beyond the 90 % quantile are
beyond doubt (0.1⁶ = 10⁻⁶), two are not (10⁻²).

Decision: Benjamini–Hochberg at `fdr` over every provider × act tested. The centre through
which the provider billed most of a flagged act's days (`claims.centre_id`: the establishment
that was paid) is named as a participant: an inflated volume billed through a health or dental
centre is the centre's billing too, and the lead to whoever runs it. Who is accused: a
practitioner's volume through a centre is the sum of its own habit and the centre's (provider
profiling's two levels, the practitioner within its institution: Normand, Glickman & Gatsonis,
JASA 92, 1997); where at least `MIN_CENTRE_BEYOND` of the practitioners of the kind and
specialty billing the act mostly through that centre, and at least half of them, are beyond
their peers on it, the excess is the centre's, not one practitioner's: the centre is accused on
that act and the practitioner takes part. One practitioner beyond among honest colleagues stays
accused. Alerts: one per centre so accused (`peer_outlier:centre:<centre>`, the centre's node id),
naming its flagged practitioners as participants, each with its own excess, and listing each
one's figures act by act; one per provider (`peer_outlier:<provider>`) over the acts it stands out
on alone, where it is accused. A practitioner of an accused centre has its own alert only for an
act of its own. Score: the excess
euros, Σ over the provider's patients of (days − the median days of peers' patients alike) ×
the provider's euros per day of the act. Drugs are left out by default (`acts_only`): dispensing
volumes follow prescriptions, and abnormal flows are pharmacy_collusion's business.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from .findings import Findings, euros, make_findings
from .settings import PeerOutlierSettings
from .shared import Shared
from .dense_block import rota_pairs
from .stats import (benjamini_hochberg, betabinom_logsf, group_index, grouped_rho, sorted_codes,
                    surprise_bits)
from engine import query

# Per flagged provider and act (`f.hit`): the centre through which it billed more than half of the
# act's days, and that centre's team on the act — the units (`f`: every provider and act judged) of
# the same kind and specialty billing it mostly through the same centre — and how many of them
# are flagged
_CENTRES = """
WITH ch AS (      -- per provider and act, its days through each channel (a centre, or none)
    SELECT g.provider_id, g.service_code, g.centre_id, count(DISTINCT g.service_date) AS days
    FROM g JOIN f USING (provider_id, service_code) GROUP BY g.provider_id, g.service_code, g.centre_id
), home AS (
    SELECT provider_id, service_code, arg_max(centre_id, (days, centre_id)) FILTER (WHERE centre_id IS NOT NULL) AS centre_id,
           max(days) FILTER (WHERE centre_id IS NOT NULL) AS days, sum(days) AS total
    FROM ch GROUP BY provider_id, service_code
), units AS (
    SELECT f.provider_id, f.service_code, f.kind, f.specialty, f.hit, h.centre_id
    FROM f JOIN home h USING (provider_id, service_code) WHERE h.centre_id IS NOT NULL AND 2 * h.days > h.total
), teams AS (
    SELECT centre_id, service_code, kind, specialty, count(*) AS colleagues, count(*) FILTER (WHERE hit) AS beyond
    FROM units GROUP BY centre_id, service_code, kind, specialty
)
SELECT u.provider_id, u.service_code, u.centre_id, t.colleagues, t.beyond
FROM units u JOIN teams t ON t.centre_id = u.centre_id AND t.service_code = u.service_code
     AND t.kind IS NOT DISTINCT FROM u.kind AND t.specialty IS NOT DISTINCT FROM u.specialty
WHERE u.hit ORDER BY u.provider_id, u.service_code
"""

# Per pair of heavy carers of a patient (`carers`, a < b), patient and act both billed it over
# overlapping periods: the span, each one's days of the act in it and the days both billed it
# (`graph.dense_block.rota_pairs`' input)
_TURNS = """
WITH pr AS (SELECT x.provider_id AS a, y.provider_id AS b, x.patient_id
            FROM carers x JOIN carers y ON x.patient_id = y.patient_id AND x.provider_id < y.provider_id
), d AS (SELECT DISTINCT g.provider_id, g.patient_id, g.service_code, g.service_date FROM g SEMI JOIN carers USING (provider_id, patient_id)
), s AS (SELECT provider_id, patient_id, service_code, min(service_date) AS first_day, max(service_date) AS last_day
         FROM d GROUP BY ALL
), w AS (
    SELECT p.a, p.b, p.patient_id, x.service_code, greatest(x.first_day, y.first_day) AS lo, least(x.last_day, y.last_day) AS hi
    FROM pr p JOIN s x ON x.provider_id = p.a AND x.patient_id = p.patient_id
    JOIN s y ON y.provider_id = p.b AND y.patient_id = p.patient_id AND y.service_code = x.service_code
    WHERE greatest(x.first_day, y.first_day) <= least(x.last_day, y.last_day)
)
SELECT w.a, w.b, w.patient_id AS patient, w.service_code, date_diff('day', w.lo, w.hi) + 1 AS span,
       count(*) FILTER (WHERE d.provider_id = w.a) AS days_a, count(*) FILTER (WHERE d.provider_id = w.b) AS days_b,
       count(*) - count(DISTINCT d.service_date) AS both_days
FROM w JOIN d ON d.patient_id = w.patient_id AND d.service_code = w.service_code AND d.provider_id IN (w.a, w.b)
    AND d.service_date BETWEEN w.lo AND w.hi
GROUP BY ALL ORDER BY w.a, w.b, w.patient_id, w.service_code
"""

_VOLUMES = """
WITH cen AS (     -- the provider, patient, act and day of rows billed through a centre
    SELECT DISTINCT provider_id, patient_id, service_code, service_date FROM g WHERE centre_id IS NOT NULL
), repeats AS (   -- a day billed through several channels (centres, or a centre and privately) is one day
    SELECT provider_id, patient_id, service_code, sum(n - 1) AS extra
    FROM (SELECT provider_id, patient_id, service_code, service_date, count(*) AS n
          FROM g SEMI JOIN cen USING (provider_id, patient_id, service_code, service_date)
          GROUP BY ALL HAVING count(*) > 1)
    GROUP BY ALL
), r AS (         -- per provider, patient and act: rows (a day and channel each), euros, the prescriber
    SELECT g.provider_id, g.patient_id, g.service_code, count(*) AS n, count(*) FILTER (WHERE g.lines >= 2) AS doubled,
           round(sum(g.amount), 2) AS amount, count(g.centre_id) AS at_centres, min(g.prescriber_id) AS prescriber_id
    FROM g LEFT JOIN services s USING (service_code)
    WHERE NOT $acts_only OR s.kind IS NULL OR s.kind IN ('act', 'lab')
    GROUP BY g.provider_id, g.patient_id, g.service_code
), d AS (         -- per provider, patient and act: days, whether twice a day, the prescriber
    SELECT r.provider_id, r.patient_id, r.service_code, days, r.amount,
           r.doubled * 2 >= r.n AND days >= $heavy AS twice, r.at_centres * 2 > r.n AS at_centre, r.prescriber_id
    FROM (SELECT r.*, CAST(r.n - coalesce(x.extra, 0) AS BIGINT) AS days
          FROM r LEFT JOIN repeats x USING (provider_id, patient_id, service_code)) r
), care AS (      -- who cares for a patient heavily (`graph.shared`: CARE_DAYS days or more)
    SELECT provider_id, patient_id FROM carers
), heavy AS (SELECT patient_id, count(*) AS n FROM care GROUP BY ALL
), adding AS (    -- per provider, patient and act: its colleagues among the patient's heavy carers who add days to its own
    SELECT d.provider_id, d.patient_id, d.service_code, count(*) AS n
    FROM d JOIN apart a ON a.provider_id = d.provider_id AND a.service_code = d.service_code
    JOIN care cr ON cr.provider_id = a.other_id AND cr.patient_id = d.patient_id GROUP BY ALL
), c0 AS (
    SELECT d.*, p.kind, coalesce(p.specialty, '') AS specialty,
           coalesce(pr.kind || '|' || coalesce(pr.specialty, ''), CASE WHEN d.prescriber_id IS NULL THEN '' ELSE '?' END)
               AS prescribed_by,
           coalesce(h.n, 0) - (cr.provider_id IS NOT NULL)::INT - coalesce(ad.n, 0) AS others
    FROM d JOIN providers p USING (provider_id) LEFT JOIN providers pr ON pr.provider_id = d.prescriber_id
    LEFT JOIN heavy h USING (patient_id) LEFT JOIN care cr USING (provider_id, patient_id)
    LEFT JOIN adding ad USING (provider_id, patient_id, service_code)
), most AS (SELECT patient_id, service_code, kind, max(days) AS days FROM c0 GROUP BY ALL
), top AS (       -- per patient, act and kind of provider: the provider billing it most often (the first id of ties)
    SELECT patient_id, service_code, kind, min(provider_id) AS provider_id
    FROM c0 JOIN most USING (patient_id, service_code, kind, days) GROUP BY ALL
), c AS (
    SELECT c0.*, t.provider_id IS NOT NULL AS main
    FROM c0 LEFT JOIN top t USING (patient_id, service_code, kind, provider_id)
), peers AS (
    SELECT kind, specialty, service_code FROM c GROUP BY ALL HAVING count(DISTINCT provider_id) >= $min_peers
), ref AS (
    SELECT kind, specialty, service_code, prescribed_by, twice, others, main, at_centre, median(days) AS median_days
    FROM c JOIN peers USING (kind, specialty, service_code) GROUP BY ALL
)
SELECT c.provider_id, c.kind, c.specialty, c.service_code,
       c.prescribed_by || '|' || c.twice || '|' || c.others || '|' || c.main || '|' || c.at_centre AS stratum,
       c.days, c.amount, sum(c.days) OVER (PARTITION BY c.patient_id, c.service_code, c.kind) AS patient_days,
       c.days - r.median_days AS excess_days
FROM c JOIN ref r USING (kind, specialty, service_code, prescribed_by, twice, others, main, at_centre)
ORDER BY c.kind, c.specialty, c.service_code, c.provider_id, c.patient_id
"""

# a course of at least this many days (monthly or more often) can be a regimen
HEAVY_DAYS = 12
# the levels of the peers' distribution a provider's patients are counted beyond: many patients
# moderately beyond, or fewer far beyond
QUANTILES = (0.9, 0.99)
# the tests, (quantile, at): patients beyond the quantile's value, and, for the level of many
# patients moderately beyond, patients *at or beyond* it — days are whole numbers that peers'
# patients tie on, and where the 90 % quantile's value is shared by many (one day where most have
# one, three where a fifth have three or more) a provider billing every patient exactly that value
# is beyond no one while all its patients sit in the peers' top fifth. The far level (99 %) counts
# only patients past its value: one at it is not far beyond.
LEVELS = ((0.9, False), (0.9, True), (0.99, False))
# an act's excess is its centre's billing when at least this many of the practitioners billing it
# mostly through the centre (and at least half of them) are beyond their peers on it
MIN_CENTRE_BEYOND = 2


def detect_peer_outliers(tables: Mapping[str, pa.Table], shared: Shared, settings: PeerOutlierSettings) -> Findings:
    """One alert per provider (`peer_outlier:<provider>`, the provider accused, its centre a
    participant) over the acts on which it stands out alone, and one per centre whose
    practitioners' excess is its billing (`peer_outlier:centre:<centre>`, the centre accused, the
    practitioners participants with their own `excess_euros`), each listing its figures per
    provider and act in `evidence["acts"]` (see module docstring). Score and `excess_euros`:
    euros, the sum over the acts the alert lists.

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
                g=shared.patient_days, carers=shared.carers, providers=tables["providers"],
                services=tables["services"], apart=adding_colleagues(query(_TURNS, g=shared.patient_days,
                                                                             carers=shared.carers), s.fdr))
    col = lambda k: pts[k].to_numpy(zero_copy_only=False)
    key = lambda k: sorted_codes(pts[k])      # a string column as integers in its sorted order
    unit, k = group_index(key("provider_id"), key("service_code"))
    stratum = group_index(key("kind"), key("specialty"), key("service_code"), key("stratum"))[0]
    days = col("days").astype(float)
    # a patient counts beyond when both the provider's days and the patient's days of the act (all
    # providers of the kind) are high among patients alike: its days, capped at the days of the
    # stratum at the rank of the patient's care
    counted = np.minimum(days, at_rank(days, stratum, ecdf(col("patient_days").astype(float), stratum)))
    first = np.unique(unit, return_index=True)[1]
    per = pts.select(["provider_id", "kind", "specialty", "service_code"]).take(pa.array(first))
    key_of = lambda a: sorted_codes(pc.fill_null(a, ""))
    n = np.bincount(unit, minlength=k).astype(float)
    counts = [loo_exceedance(days, stratum, unit, k, q, counted, at) for q, at in LEVELS]
    # each level judged against the upper 95 % bound of the peers' share (their tail is known only
    # so well); the stronger level kept, Bonferroni-corrected for their number
    # at or beyond a tied value the share is wide (a fifth, a third of patients), and how many of a
    # provider's patients reach it is the provider's habit as much as chance (a dentist who scales
    # every patient twice a year): that level is judged beta-binomial, with the spread of the share
    # between the providers of the act's peer group (`grouped_rho`, robust: a quarter of them may
    # be far beyond without widening it)
    group = [key_of(per[c_]) for c_ in ("kind", "specialty", "service_code")]
    rho = [grouped_rho(n, b, e, *group, one_sided=True) if at or q < 0.99 else np.zeros(k)
           for (b, e, _, _), (q, at) in zip(counts, LEVELS)]
    # beyond a quantile whose value is the median's is at or beyond the next value: judged so too
    # where most of the provider's patients lie in such strata
    rho = [r if at else np.where(2 * bulk > n, r, 0.0) for r, (_, _, _, bulk), (_, at) in zip(rho, counts, LEVELS)]
    tests = [np.where(b > top, betabinom_logsf(b, n, top / np.maximum(n, 1), r), 0.0)
             for (b, _, top, _), r in zip(counts, rho)]
    level = np.argmin(np.stack(tests), axis=0) if k else np.zeros(0, int)
    pick = lambda arrays: np.choose(level, arrays) if k else np.zeros(0)
    log_p = np.minimum(pick(tests) + np.log(len(LEVELS)), 0.0)
    c, e, upper = (pick([x[j] for x in counts]) for j in range(3))
    excess_days = np.bincount(unit, col("excess_days").astype(float), k)
    hit = benjamini_hochberg(log_p, s.fdr) & (c > upper) & (excess_days > 0)
    amount, total_days = np.bincount(unit, col("amount").astype(float), k), np.bincount(unit, days, k)
    rows = per.filter(pa.array(hit)).to_pylist()
    labels = dict(zip(tables["services"]["service_code"].to_pylist(), tables["services"]["label"].to_pylist()))
    # a centre is named when the act's days were billed through it more than privately or elsewhere;
    # its team: the providers of the kind and specialty billing the act mostly through it (`_CENTRES`)
    centres = {(r["provider_id"], r["service_code"]): r for r in query(
        _CENTRES, g=shared.patient_days,
        f=per.select(["provider_id", "service_code", "kind", "specialty"]).append_column("hit", pa.array(hit))).to_pylist()}
    by_provider: dict[str, list[dict]] = {}
    for r, i in zip(rows, np.flatnonzero(hit)):
        home = centres.get((r["provider_id"], r["service_code"]), {})
        # the centre's billing: at least two of its practitioners billing the act through it, and
        # at least half of them, beyond their peers on it
        r.update(centre_id=home.get("centre_id"), centre_colleagues=home.get("colleagues", 0),
                 centre_beyond=home.get("beyond", 0))
        r["centre_billing"] = r["centre_beyond"] >= MIN_CENTRE_BEYOND and 2 * r["centre_beyond"] >= r["centre_colleagues"]
        r.update(patients=int(n[i]), days=int(total_days[i]), excess_days=float(excess_days[i]),
                 excess_amount=excess_days[i] * amount[i] / total_days[i], log10_p=log_p[i] / np.log(10),
                 quantile=LEVELS[level[i]][0], at_quantile=LEVELS[level[i]][1], beyond=int(c[i]),
                 expected_beyond=float(e[i]),
                 bound=float(upper[i]))
        by_provider.setdefault(r["provider_id"], []).append(r)
    alerts, entities = [], []

    def alert(aid: str, acts: list[dict], summary: str) -> dict:
        """An alert over `acts` (a provider's own, or a centre's practitioners'): score and
        `excess_euros` their excess, surprise their tails together, evidence each one's figures."""
        excess = sum(a["excess_amount"] for a in acts)
        return {"alert_id": aid, "pattern": "peer_outlier", "score": excess, "excess_euros": excess,
                "surprise_bits": float(surprise_bits(sum(a["log10_p"] for a in acts) * np.log(10))),
                "summary": summary,
                "evidence": {"test": "binomial tail of patients beyond the peers' quantiles (at or beyond the 90% "
                                     "quantile, and beyond it where its value is the median's: beta-binomial), "
                                     "Bonferroni over the three, Benjamini-Hochberg",
                             "fdr": s.fdr, "acts": [{k: a[k] for k in _ACT_FIGURES} for a in acts]}}
    # an act a practitioner stands out on alone is its own: one alert per provider, accused, over
    # those acts (the centre it billed them through a participant)
    for provider, acts in by_provider.items():
        acts = [a for a in acts if not a["centre_billing"]]
        if not acts:
            continue
        aid = provider_alert_id(provider)
        top = max(acts, key=lambda a: (a["excess_amount"], a["service_code"]))
        excess = sum(a["excess_amount"] for a in acts)
        alerts.append(alert(aid, acts, f"Provider {provider} billed {_figures(top, labels)}; excess {euros(excess)}"
                                       + (f" over {len(acts)} acts." if len(acts) > 1 else ".")))
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": provider, "role": "biller",
                         "standing": "accused"})
        for centre in sorted({a["centre_id"] for a in acts if a["centre_id"]}):     # the paid establishment
            entities.append({"alert_id": aid, "entity_type": "centre", "entity_id": centre, "role": "centre",
                             "standing": "participant",
                             "excess_euros": sum(a["excess_amount"] for a in acts if a["centre_id"] == centre)})
    # an excess its centre's practitioners share is the centre's billing: one alert per centre
    # (`peer_outlier:centre:<centre>`, the centre's node id), the centre accused, its flagged
    # practitioners participants with their own part; score the sum of their excess
    by_centre: dict[str, list[dict]] = {}
    for acts in by_provider.values():
        for a in acts:
            if a["centre_billing"]:
                by_centre.setdefault(a["centre_id"], []).append(a)
    for centre, acts in sorted(by_centre.items()):
        aid = f"peer_outlier:centre:{centre}"
        acts.sort(key=lambda a: (a["service_code"], a["provider_id"]))
        excess = sum(a["excess_amount"] for a in acts)
        part: dict[tuple, float] = {}     # per act and team (kind, specialty): the practitioners' excess
        for a in acts:
            key = (a["service_code"], a["kind"], a["specialty"])
            part[key] = part.get(key, 0.0) + a["excess_amount"]
        first, codes = max(part, key=lambda key: (part[key], key)), {key[0] for key in part}
        lead = max((a for a in acts if (a["service_code"], a["kind"], a["specialty"]) == first),
                   key=lambda a: (a["excess_amount"], a["provider_id"]))
        alerts.append(alert(aid, acts, (
            f"Centre {centre}: {lead['centre_beyond']} of the {lead['centre_colleagues']} practitioners "
            f"({_peer(lead)}) billing {labels.get(lead['service_code']) or lead['service_code']} through it are "
            f"beyond their peers on it, the centre's billing; provider {lead['provider_id']} billed it "
            f"{_figures(lead, labels, act=False)}; excess {euros(excess)}"
            + (f" over {len(codes)} acts." if len(codes) > 1 else "."))))
        entities.append({"alert_id": aid, "entity_type": "centre", "entity_id": centre, "role": "centre",
                         "standing": "accused", "excess_euros": excess})
        for provider in sorted({a["provider_id"] for a in acts}):
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": provider, "role": "biller",
                             "standing": "participant",
                             "excess_euros": sum(a["excess_amount"] for a in acts if a["provider_id"] == provider)})
    return make_findings(alerts, entities)


def provider_alert_id(provider: str) -> str:
    """A provider's own alert id: `peer_outlier:<provider>`, or `peer_outlier:provider:<provider>`
    for a provider id that begins with `centre:` or `provider:` — so that no provider's alert id is
    ever a centre's (`peer_outlier:centre:<centre>`) or another provider's (ids are the data's: a
    mapped extract may hold `centre:75089401` as a provider id).

    >>> provider_alert_id("10000000013"), provider_alert_id("centre:75089401")
    ('peer_outlier:10000000013', 'peer_outlier:provider:centre:75089401')
    """
    escaped = provider.startswith(("centre:", "provider:"))
    return f"peer_outlier:{'provider:' if escaped else ''}{provider}"


# the figures of an act an alert's evidence lists, one entry per provider and act
_ACT_FIGURES = ("provider_id", "service_code", "kind", "specialty", "patients", "days", "quantile", "at_quantile",
                "beyond", "expected_beyond", "bound", "excess_days", "excess_amount", "log10_p", "centre_id",
                "centre_colleagues", "centre_beyond", "centre_billing")


def _peer(a: dict) -> str:
    """The peer group of an act's figures, for people: `physiotherapist`, `dentist (orthodontics)`."""
    return a["kind"] + (f" ({a['specialty'].replace('_', ' ')})" if a["specialty"] else "")


def _figures(a: dict, labels: dict, act: bool = True) -> str:
    """What a provider billed of an act and how far beyond its peers, for a summary."""
    return ((f"{labels.get(a['service_code']) or a['service_code']} " if act else "")
            + f"on {a['days'] / a['patients']:.1f} days per patient to {a['patients']} patients; "
            f"{a['beyond']} of them {'at or ' if a['at_quantile'] else ''}beyond the {a['quantile']:.1%} "
            f"quantile of {_peer(a)} peers' patients alike, where {a['expected_beyond']:.1f} would be")


def adding_colleagues(overlaps: pa.Table, fdr: float) -> pa.Table:
    """The colleagues who add days to each other's on an act: `provider_id, other_id,
    service_code`, both ways.

    `overlaps`: `_TURNS` rows (a pair of heavy carers of a patient, the patient, an act both billed
    it over overlapping periods, the span, each one's days and the days both billed it). Two
    providers are colleagues when they take turns on the patients they share (a rota,
    `graph.dense_block.rota_pairs`: over all their shared care, the same day far less often than
    independent carers would). On an act they share out — the same day less often than chance,
    the same test on that act's overlaps alone, Benjamini–Hochberg at `fdr` over the rotas' acts
    — one replaces the other (a nursing home's nurses giving a resident's daily care in turn):
    each is the other's fellow carer, as before. On an act they both bill a patient on the same
    days as often as independent carers would, a practice that otherwise takes turns adds the
    days of one to the other's: the colleague is no independent carer corroborating the
    patient's heavy use, and is not counted among the patient's other carers on that act.
    """
    empty = pa.table({"provider_id": pa.array([], pa.string()), "other_id": pa.array([], pa.string()),
                      "service_code": pa.array([], pa.string())})
    rota = rota_pairs(overlaps, fdr)
    if rota.num_rows == 0:
        return empty
    o = query("SELECT o.* FROM o SEMI JOIN r USING (a, b)", o=overlaps, r=rota)
    col = lambda k: o[k].to_numpy(zero_copy_only=False)
    span, na, nb = (col(x).astype(float) for x in ("span", "days_a", "days_b"))
    unit, k = group_index(col("a"), col("b"), col("service_code"))
    expected = np.bincount(unit, na * nb / np.maximum(span, 1), k)
    both = np.bincount(unit, col("both_days").astype(float), k)
    turns = benjamini_hochberg(stats.poisson.logcdf(both, expected), fdr) & (both < expected)
    first = np.unique(unit, return_index=True)[1]
    adds = o.select(["a", "b", "service_code"]).take(pa.array(first)).filter(pa.array(~turns))
    return query("SELECT a AS provider_id, b AS other_id, service_code FROM x UNION ALL "
                 "SELECT b, a, service_code FROM x ORDER BY 1, 2, 3", x=adds)


def loo_exceedance(days: np.ndarray, stratum: np.ndarray, unit: np.ndarray, k: int,
                   q: float, counted: np.ndarray | None = None,
                   at: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per unit (one of `k`): how many of its patients lie beyond (`at`: at or beyond) the value
    of the `q` quantile of the *other* units' patients of the same stratum, how many would (their
    share beyond, plus half a patient, times its patients), and at most (the share's upper 95 %
    bound), summed over its strata. One row per patient: its `days`, its
    `stratum`, its `unit`, and the days it `counted` beyond the quantile with (at most its days
    and one of its stratum's values; default its days): the others' yardstick stays their days.

    Leave-one-out, so that a unit's own patients never set its yardstick; and in two passes: the
    units far beyond the others in a stratum (a binomial tail below the Bonferroni bound 0.05 / the
    stratum's units) are left out of everyone else's yardstick in the second — several plants in
    one peer group do not hide each other. A stratum with fewer than 10 / (1 − q) other patients
    (ten in the tail) has no estimable tail and is not judged at that level. Fourth: how many of
    its patients lie in strata judged where the quantile's value is the others' median's (days
    tied in the bulk: beyond it is at or beyond the next value).
    """
    beyond, expected, upper, in_bulk = np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(k)
    if len(days) == 0:
        return beyond, expected, upper, in_bulk
    order = np.lexsort((days, stratum))
    bounds = np.flatnonzero(np.diff(stratum[order])) + 1
    for rows in np.split(order, bounds):
        values, pos = np.unique(days[rows], return_inverse=True)
        units, ui = np.unique(unit[rows], return_inverse=True)
        hist = np.zeros((len(units), len(values)))
        np.add.at(hist, (ui, pos), 1)
        own = np.cumsum(hist, axis=1)                  # each unit's patients at or below each value
        mine = own
        if counted is not None:
            hist = np.zeros((len(units), len(values)))
            np.add.at(hist, (ui, np.searchsorted(values, counted[rows])), 1)
            mine = np.cumsum(hist, axis=1)
        b, share, top, ok, tied = _beyond(own, np.ones(len(units), bool), q, mine, at)
        far = ok & (stats.binom.logsf(b - 1, own[:, -1], share) < np.log(0.05 / len(units))) & (b > 0)
        if far.any() and (~far).sum() >= 1:
            b, share, top, ok, tied = _beyond(own, ~far, q, mine, at)
        beyond[units[ok]] += b[ok]
        expected[units[ok]] += (own[:, -1] * share)[ok]
        upper[units[ok]] += (own[:, -1] * top)[ok]
        in_bulk[units[ok & tied]] += own[:, -1][ok & tied]
    return beyond, expected, upper, in_bulk


def _beyond(own: np.ndarray, ref: np.ndarray, q: float, mine: np.ndarray,
            at: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each unit (row of `own`, its cumulative counts of patients at or below each value):
    its patients beyond (`at`: at or beyond) the value of the `q` quantile of the reference units'
    patients (`ref`, itself left out), their share beyond it (plus half a patient), the upper 95 %
    Clopper–Pearson bound of that share (at least 1 − q: ties at the quantile do not make the tail
    thinner than a quantile's), and whether there were enough of them. `mine`: the cumulative
    counts its patients are counted beyond with (`own`, or lower). Last: whether the quantile's
    value is the reference patients' median's (ties in the bulk)."""
    total = own[ref].sum(axis=0)
    others_cum = total - np.where(ref[:, None], own, 0)
    others = others_cum[:, -1]
    ok = others * (1 - q) >= 10                    # a tail is estimated from ten patients in it
    at_ = np.argmax(others_cum >= np.ceil(q * others)[:, None], axis=1)   # the others' q quantile, per unit
    idx = np.arange(len(own))
    below = lambda cum: np.where(cut >= 0, cum[idx, np.maximum(cut, 0)], 0)   # at or below the cut
    cut = at_ - 1 if at else at_                   # at or beyond the quantile: beyond the value below it
    # the quantile's value is the median's (days tied in the bulk): beyond it is at or beyond the
    # next value, a share that is a practice's habit as much as chance (as `at`)
    tied = at_ == np.argmax(others_cum >= np.ceil(0.5 * others)[:, None], axis=1)
    b = mine[:, -1] - below(mine)
    past = others - below(others_cum)
    if at:      # at or beyond a value the peers' median reaches is no tail: the bulk, not judged
        ok = ok & (2 * past < others)
    share = (past + 0.5) / (others + 1)
    # a volume's tail past its 90 % quantile holds 10 % of patients; where ties hide it (every
    # peer's patient at or below the quantile), it is not taken to be thinner
    top = np.maximum(stats.beta.ppf(0.95, past + 1, np.maximum(others - past, 1)), 1 - q)
    return b, share, top, ok, tied


def ecdf(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row, its mid-rank within its group (`group`: an integer index): the share of the
    group's rows below its value plus half the share at it — a value most of the group shares (a
    daily forfait all year) ranks in the middle, not at the top."""
    if len(values) == 0:
        return np.zeros(0)
    _, rank = np.unique(values, return_inverse=True)
    width = int(rank.max()) + 1
    key = group.astype(np.int64) * width + rank
    ordered = np.sort(key)
    start = np.searchsorted(ordered, group.astype(np.int64) * width)
    below = np.searchsorted(ordered, key, side="left") - start
    at = np.searchsorted(ordered, key, side="right") - start - below
    return (below + at / 2) / np.bincount(group)[group]


def at_rank(values: np.ndarray, group: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per row, the value of its group (`group`: an integer index) at `rank` (a share, 0 to 1) of
    the group's values sorted: the group's quantile function, as a value the group holds."""
    if len(values) == 0:
        return np.zeros(0)
    order = np.lexsort((values, group))
    size = np.bincount(group)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    pos = start[group] + np.minimum((rank * size[group]).astype(np.int64), size[group] - 1)
    return values[order][pos]
