"""atypical_private_practice: a full-time hospital practitioner whose private activity is beyond
what a full-time post leaves room for.

The second axis of the control of full-time hospital practitioners with a private practice
(*activité libérale atypique*); the first, the same patient billed by both channels the same
day, is double billing's. Unit: a practitioner affiliated `fulltime_hospital` during the window.
Private activity: its claims with no centre (private practice), within its full-time
affiliation's dates.

Null model: a full-time post leaves room for private activity for at most `fulltime_share` of
the hospital service time (20 % in France: Code de la santé publique, art. L6154-2). At the same
pace in both channels, an honest full-timer's private acts are then at most a share
s / (1 + s) of all its acts (private, and billed through a centre during its post): r private acts
of n ~ at most binomial(n, s / (1 + s)). The practitioner's own hospital activity is the yardstick
of its post (a full-time surgeon and a full-time geriatrician bill at different paces); the
private practitioners and part-time hospital practitioners of its kind and specialty are shown
beside it (their median private acts), as the control compares with them. Statistic:
P(R ≥ r).

Decision: Benjamini–Hochberg at `fdr` over every full-time practitioner. Score and
`excess_euros`: the private euros beyond the allowance A = s × hospital acts,
(r − A) / r × private euros.
Evidence: private lines, days and days per week, euros, the top private acts, the peers' figures.
Part-time practitioners with a large private practice are peers, never units; full-timers with a
small private activity stay below the allowance. A full-timer with no act through a centre in the
window is not judged: its post cannot be measured (its hospital acts may be billed under the
establishment's number).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa

from .findings import Findings, euros, make_findings
from .settings import AtypicalPrivatePracticeSettings
from .stats import benjamini_hochberg, binom_logsf, surprise_bits
from engine import query

_ACTIVITY = """
WITH win AS (SELECT min(service_date) AS first, max(service_date) AS last FROM claims),
ft AS (       -- full-time posts overlapping the window, clipped to it
    SELECT provider_id, min(greatest(coalesce(start_date, (SELECT first FROM win)), (SELECT first FROM win))) AS since,
           max(least(coalesce(end_date, (SELECT last FROM win)), (SELECT last FROM win))) AS until
    FROM affiliations WHERE role = 'fulltime_hospital' GROUP BY ALL
), status AS (
    SELECT p.provider_id, p.kind, coalesce(p.specialty, '') AS specialty,
           CASE WHEN ft.provider_id IS NOT NULL AND ft.since <= ft.until THEN 'fulltime'
                WHEN p.provider_id IN (SELECT provider_id FROM affiliations WHERE role = 'parttime_hospital') THEN 'parttime'
                WHEN p.provider_id IN (SELECT provider_id FROM affiliations WHERE role IN ('fulltime_hospital', 'salaried'))
                    THEN 'other'
                ELSE 'private' END AS status, ft.since, ft.until
    FROM providers p LEFT JOIN ft USING (provider_id)
    WHERE p.kind NOT IN ('pharmacy', 'laboratory')
), private AS (   -- private lines and euros per provider and day, then per provider: lines, days, euros
    SELECT provider_id, CAST(sum(lines) AS BIGINT) AS lines, count(*) AS days, round(sum(amount), 2) AS amount
    FROM (SELECT c.provider_id, c.service_date, count(*) AS lines, sum(c.amount) AS amount
          FROM claims c JOIN status s USING (provider_id)
          WHERE c.centre_id IS NULL AND (s.status <> 'fulltime' OR c.service_date BETWEEN s.since AND s.until)
          GROUP BY c.provider_id, c.service_date)
    GROUP BY provider_id
), post AS (     -- a full-timer's lines through a centre during its post: its full-time activity
    SELECT c.provider_id, count(*) AS post_lines
    FROM claims c JOIN status s USING (provider_id)
    WHERE s.status = 'fulltime' AND c.centre_id IS NOT NULL AND c.service_date BETWEEN s.since AND s.until
    GROUP BY ALL
)
SELECT s.provider_id, s.kind, s.specialty, s.status, s.since, s.until,
       coalesce(date_diff('day', s.since, s.until) + 1, 0) AS post_days,
       (SELECT date_diff('day', first, last) + 1 FROM win) AS window_days,
       coalesce(h.post_lines, 0) AS post_lines,
       coalesce(p.lines, 0) AS lines, coalesce(p.days, 0) AS days, coalesce(p.amount, 0) AS amount
FROM status s LEFT JOIN private p USING (provider_id) LEFT JOIN post h USING (provider_id)
ORDER BY s.provider_id
"""

_TOP_ACTS = """
SELECT c.provider_id, c.service_code, count(*) AS lines, round(sum(c.amount), 2) AS amount,
       row_number() OVER (PARTITION BY c.provider_id ORDER BY count(*) DESC, c.service_code) AS k
FROM claims c JOIN f USING (provider_id)
WHERE c.centre_id IS NULL AND c.service_date BETWEEN f.since AND f.until
GROUP BY c.provider_id, c.service_code QUALIFY k <= $max_acts ORDER BY c.provider_id, k
"""


def detect_atypical_private_practice(tables: Mapping[str, pa.Table],
                                     settings: AtypicalPrivatePracticeSettings) -> Findings:
    """One alert per full-time hospital practitioner (`atypical_private_practice:<provider>`, the
    provider accused) whose private activity is beyond the allowance of a full-time post (see
    module docstring). Score and `excess_euros`: euros.

    Parameters: contract tables `claims`, `providers` (kind, specialty), `affiliations` (role,
    start_date, end_date); settings.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_atypical_private_practice(t, AtypicalPrivatePracticeSettings()).alerts.num_rows
        0
    """
    s = settings
    act = query(_ACTIVITY, claims=tables["claims"], providers=tables["providers"],
                affiliations=tables["affiliations"]).to_pylist()
    units = [a for a in act if a["status"] == "fulltime"]
    if not units:
        return make_findings([], [])
    peers: dict[tuple, list] = {}
    for a in act:
        if a["status"] in ("private", "parttime") and a["lines"] > 0:
            peers.setdefault((a["kind"], a["specialty"]), []).append(a["lines"])
    for u in units:
        ref = peers.get((u["kind"], u["specialty"]), [])
        u.update(peers=len(ref), peer_median=float(np.median(ref)) if ref else None,
                 allowance=s.fulltime_share * u["post_lines"])
    # private lines r of all n lines; at most share / (1 + share) of them for private time at most
    # `share` of the hospital time, at the same pace
    r = np.array([u["lines"] for u in units], float)
    n = r + np.array([u["post_lines"] for u in units], float)
    cap = s.fulltime_share / (1 + s.fulltime_share)
    # a post without acts through a centre in the window cannot be measured (its hospital acts may
    # be billed under the establishment's number): not judged
    measured = np.array([u["post_lines"] > 0 for u in units], bool)
    log_p = np.where(measured, binom_logsf(r, n, cap), 0.0)
    hit = benjamini_hochberg(log_p, s.fdr) & measured & (r > n * cap)
    flagged = [dict(u, log_p=float(lp)) for u, lp, h in zip(units, log_p, hit) if h]
    if not flagged:
        return make_findings([], [])
    f = pa.table({"provider_id": [u["provider_id"] for u in flagged], "since": [u["since"] for u in flagged],
                  "until": [u["until"] for u in flagged]})
    top = query(_TOP_ACTS, {"max_acts": s.max_acts}, claims=tables["claims"], f=f).to_pylist()
    alerts, entities = [], []
    for u in flagged:
        aid = f"atypical_private_practice:{u['provider_id']}"
        excess = (u["lines"] - u["allowance"]) / u["lines"] * u["amount"]
        weeks = max(u["post_days"], 1) / 7
        alerts.append({
            "alert_id": aid, "pattern": "atypical_private_practice", "score": excess, "excess_euros": excess,
            "surprise_bits": float(surprise_bits(u["log_p"])),
            "summary": (f"Full-time hospital practitioner {u['provider_id']} billed {u['lines']} private act(s) on "
                        f"{u['days']} days ({u['days'] / weeks:.1f} a week, {euros(u['amount'])}), where a full-time "
                        f"post leaves room for {u['allowance']:.0f} ({s.fulltime_share:.0%} of its {u['post_lines']} hospital "
                        f"act(s)); {euros(excess)} beyond it."),
            "evidence": {"test": "binomial tail of private acts among all acts against the allowance of a "
                                 "full-time post, Benjamini-Hochberg", "fdr": s.fdr, "fulltime_share": s.fulltime_share,
                         "private_lines": u["lines"], "private_days": u["days"], "days_per_week": u["days"] / weeks,
                         "private_amount": u["amount"], "post_days": u["post_days"], "hospital_lines": u["post_lines"],
                         "allowance": u["allowance"], "peers": u["peers"], "peer_median_private_lines": u["peer_median"], "log10_p": u["log_p"] / np.log(10),
                         "top_acts": [{k: t[k] for k in ("service_code", "lines", "amount")}
                                      for t in top if t["provider_id"] == u["provider_id"]]},
        })
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": u["provider_id"], "role": "biller",
                         "standing": "accused"})
    return make_findings(alerts, entities)
