"""The checks a run passes before it becomes current: its counts against the previous run's.

A half-delivered extract scans without an error and would replace the good run at once. So,
after its results are written, a run's counts are compared with those of the run current
before it, each within configurable bounds (`runs.settings.CheckSettings`):

- claims in all, providers, patients;
- claims of each calendar month both runs cover in full (a month cut by a window's or an
  extract's edge is not compared);
- alerts of each pattern.

A count moving below `(1 - max_drop)` or above `(1 + max_rise)` times the previous one fails,
unless both counts are below `min_count` (small counts move by chance). A run that fails is
**held**: kept with its results and change report, marked, reported, and not made current
unless an admin accepts it (`fraudnet runs accept`, `POST /api/v1/runs/{id}/accept`). The first
run of a store has nothing to be compared with and passes.
"""
from __future__ import annotations

import math

from datetime import date, timedelta

from .settings import Bounds, CheckSettings


def _months_in_full(first: str | None, last: str | None) -> set[str]:
    """The months `YYYY-MM` wholly inside [first, last] (ISO dates).

        >>> sorted(_months_in_full("2025-01-15", "2025-04-30"))
        ['2025-02', '2025-03', '2025-04']
    """
    if not first or not last:
        return set()
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    y, m = (a.year, a.month) if a.day == 1 else (a.year + (a.month == 12), a.month % 12 + 1)
    ends_month = (b + timedelta(days=1)).month != b.month
    ey, em = (b.year, b.month) if ends_month else (b.year - (b.month == 1), (b.month - 2) % 12 + 1)
    months = set()
    while (y, m) <= (ey, em):
        months.add(f"{y:04d}-{m:02d}")
        y, m = y + (m == 12), m % 12 + 1
    return months


def _judge(name: str, before: int, now: int, bounds: Bounds) -> dict:
    judged = max(before, now) >= bounds.min_count
    lo, hi = before * (1 - bounds.max_drop), before * (1 + bounds.max_rise)
    passed = not judged or (lo <= now <= hi)
    return {"check": name, "previous": before, "now": now,
            "ratio": round(now / before, 4) if before else None,
            "bounds": [round(lo, 1), round(hi, 1)], "allowed": [math.ceil(lo), math.floor(hi)],
            "judged": judged, "passed": passed}


def check_run(now: dict, previous: dict | None, settings: CheckSettings) -> dict:
    """Compare the figures of a run with the previous current run's.

    `now`, `previous`: {"counts": {claims, providers, patients, "alerts.<pattern>"…},
    "claims_by_month": {"YYYY-MM": n}, "coverage": {"first": date, "last": date}} (a run record's
    fields). Returns {"passed", "against" (previous run id or None), "failed" (names),
    "results": one row per check: check, previous, now, ratio, bounds (the counts' limits,
    rounded to 0.1), allowed (the whole counts within them), judged, passed}.
    """
    if not settings.enabled or previous is None:
        return {"passed": True, "against": previous["run_id"] if previous else None, "failed": [],
                "results": [], "note": "checks off" if not settings.enabled else "first run: nothing to compare"}
    c, p = now.get("counts", {}), previous.get("counts", {})
    results = [_judge(k, p.get(k, 0), c.get(k, 0), getattr(settings, k)) for k in ("claims", "providers", "patients")]
    shared = _months_in_full(**{k: now.get("coverage", {}).get(k) for k in ("first", "last")}) & \
        _months_in_full(**{k: previous.get("coverage", {}).get(k) for k in ("first", "last")})
    for m in sorted(shared):
        results.append(_judge(f"claims in {m}", previous.get("claims_by_month", {}).get(m, 0),
                              now.get("claims_by_month", {}).get(m, 0), settings.claims_per_month))
    patterns = sorted({k for k in list(c) + list(p) if k.startswith("alerts.")})
    for k in patterns:
        results.append(_judge(k, p.get(k, 0), c.get(k, 0), settings.alerts_per_pattern))
    failed = [r["check"] for r in results if not r["passed"]]
    return {"passed": not failed, "against": previous["run_id"], "failed": failed, "results": results}
