"""The behaviour behind an alert, measured from the claims: one statistic per pattern, for the
entities an alert or a case is about (the **subjects**) and for their **peers**.

Each statistic counts events over an exposure in a period (a rate x / n), for every unit (a
provider, or a patient for doctor shopping), defined here from the claims alone, not from the
detectors:

| pattern | unit | events x / exposure n | peers |
|---|---|---|---|
| double_billing | provider | lines beyond the first for the same patient, act and day (any channel) / patient-act-days | same kind and specialty |
| pharmacy_collusion | pharmacy | patients living outside the pharmacy's area (postcode prefix) / patients with a known postcode | every pharmacy |
| doctor_shopping | patient | dispensings of a watched molecule made while an earlier supply of it still ran / such dispensings | every patient dispensed a watched molecule |
| dense_block | provider of the block | patients also billed by another provider of the block / patients | same kind and specialty as a block member |
| entity_network | billing provider | patient-days / patients | same kind and specialty |
| peer_outlier | provider | days of the act per patient, on the act where the subjects stood out most / patients of the act | same kind and specialty, billing the act |
| mega_consumer | patient | provider-days of a care (act, drug, test) / days of the period, shown a year, on the care where the subjects stood out most | same age band and sex, receiving the care |
| atypical_private_practice | full-time hospital practitioner (`fulltime_hospital` affiliation) with acts through a centre in the period | private acts (no centre) / all its acts | full-time hospital practitioners of the same kind and specialty |
| indicator_outlier | the campaign's unit (provider or prescriber) | the campaign's numerator / its denominator (`graph.campaigns.measures`), on the campaign where the subjects stood out most | the campaign's peer group |

mega_consumer's strata here leave the chronic conditions out (the detector's null model keeps
them): the statistic says what the patient received against patients alike by age and sex, so
that a chart or a before/after comparison does not depend on the detector's pooling.
indicator_outlier needs the scan's campaigns (`campaigns`): without them it has no statistic.

Two uses:

- `peer_distribution`: per alert, the statistic over the scanned window for its subjects and for
  each peer, as a histogram (the case file's peer chart);
- `measure`: the **impact of a decision**. For a watched case and pattern with a decision date D,
  two periods of equal length are taken on each side of D (as long as the data allow on the
  shorter side): *before* ends the day before D, *after* starts on D. The subjects' rate and the
  peers' rate are compared across them — a **difference in differences**, Δ = (subjects after −
  subjects before) − (peers after − peers before), so that what changed for everyone (a new
  nomenclature, a season) is not credited to the decision (Angrist & Pischke, *Mostly Harmless
  Econometrics*, 2009, ch. 5) — with a 95 % interval from the Poisson variance of each rate,
  (x + 0.5) / n² (the 0.5 keeps a rate of zero from having no uncertainty). The verdict:
  - `not_enough_data`: fewer than `min_days` days of data after D, fewer than `min_exposure`
    units of exposure for the subjects before D or for the peers in a period, fewer than
    `min_exposure_after` for the subjects after D (they stopped more than the behaviour: a closed
    practice says nothing about its billing), or fewer than `min_peers` peers;
  - `changed`: the interval lies below 0 and at least `min_reduction` (half) of the subjects'
    excess over peers is gone;
  - `worse`: the interval lies above 0;
  - `no_excess`: otherwise, when the subjects were not above their peers before D (their excess
    ≤ 0): there was nothing for the decision to remove, so no verdict on it — not `unchanged`,
    which calls for the next, stronger action;
  - `unchanged`: otherwise.

Pure functions of the contract tables and settings; column-wise SQL (`engine.query`), Python only
over the few aggregated figures.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping

import numpy as np
import pyarrow as pa
from pydantic import ConfigDict, Field

from contract.numbers import PlainNumbers
from contract.tables import MAX_COUNT, MAX_DAYS, empty_table
from engine import query

from .campaign_model import Campaign
from .campaigns import MEASURE_UNITS, measures
from .profile import DAYS, PROVIDER_DAYS, patient_days, provider_days

VERDICTS = ("changed", "unchanged", "worse", "no_excess", "not_enough_data")
Z95 = 1.959964


class ImpactSettings(PlainNumbers):
    """Thresholds of the impact measurement (see the module docstring)."""
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)   # a number is finite
    min_days: int = Field(30, ge=1, le=MAX_DAYS, description="days of data after the decision needed to judge")
    min_exposure: int = Field(20, ge=1, le=MAX_COUNT, description="units of exposure (patient-days, patients, dispensings) "
                                                    "the subjects need before the decision, and the peers in "
                                                    "each period")
    min_exposure_after: int = Field(5, ge=1, le=MAX_COUNT, description="units of exposure the subjects need after the decision "
                                                         "(less: they stopped more than the behaviour)")
    min_peers: int = Field(3, ge=1, le=MAX_COUNT, description="peers needed in each period")
    min_reduction: float = Field(0.5, gt=0, le=1, description="share of the excess over peers that must be gone "
                                                              "for `changed`")
    area_prefix: int = Field(2, ge=1, le=5, description="postcode characters that make an area "
                                                        "(pharmacy_collusion; 2: a French département)")
    supply_days: int = Field(28, ge=1, le=MAX_DAYS, description="days one unit of a dispensing lasts (doctor_shopping)")


@dataclass(frozen=True)
class Statistic:
    name: str          # what is counted, for people
    unit: str          # how a rate is shown
    scale: float       # rate × scale is shown (100: a percentage)
    sql: str           # → grp, period, unit, peer_key, x, n, detail
    subject_type: str = "provider"
    reads: tuple = ("days",)        # which of `days` (by act) and `pdays` (by day) it reads


# Each statistic's SQL sees `days` (`graph.profile.patient_days` of the periods: period, provider,
# patient, act, day, lines) or `pdays` (`provider_days`: the same without the act), the contract
# tables claims, providers, patients, services, and
# `periods` (period, first_day, last_day); it returns one row per period and unit (and act for
# peer_outlier: `detail`) with its events x, its exposure n and its peer group (`peer_key`). Only
# dense_block depends on the subjects (`s`: grp, entity_type, entity_id): its rows are per group;
# the others' `grp` is ''.

_PEER_KEY = "pr.kind || '|' || coalesce(pr.specialty, '')"

_DOUBLE_BILLING = f"""
WITH u AS (SELECT period, provider_id, sum(lines - 1) AS x, count(*) AS n FROM days GROUP BY period, provider_id)
SELECT '' AS grp, u.period, u.provider_id AS unit, {_PEER_KEY} AS peer_key, u.x::DOUBLE AS x, u.n::DOUBLE AS n,
       NULL AS detail
FROM u JOIN providers pr USING (provider_id)
"""

_PHARMACY_COLLUSION = """
WITH pp AS (
    SELECT DISTINCT d.period, d.provider_id, d.patient_id,
           left(pt.postcode, $area_prefix) <> left(pr.postcode, $area_prefix) AS outside
    FROM pdays d JOIN providers pr ON pr.provider_id = d.provider_id AND pr.kind = 'pharmacy'
    JOIN patients pt USING (patient_id)
    WHERE pt.postcode IS NOT NULL AND pr.postcode IS NOT NULL)
SELECT '' AS grp, period, provider_id AS unit, 'pharmacy' AS peer_key,
       count(*) FILTER (WHERE outside)::DOUBLE AS x, count(*)::DOUBLE AS n, NULL AS detail
FROM pp GROUP BY ALL
"""

_DOCTOR_SHOPPING = """
WITH d AS (
    SELECT c.patient_id, c.service_code, c.service_date, c.claim_id,
           c.service_date + CAST(coalesce(c.quantity, 1) * $supply_days AS INTEGER) AS runs_until
    FROM claims c JOIN services sv ON sv.service_code = c.service_code AND sv.watch
    JOIN providers pr ON pr.provider_id = c.provider_id AND pr.kind = 'pharmacy'
), o AS (
    SELECT *, coalesce(service_date < max(runs_until) OVER (
               PARTITION BY patient_id, service_code ORDER BY service_date, claim_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), FALSE) AS overlapping
    FROM d
)
SELECT '' AS grp, p.period, o.patient_id AS unit, 'patient' AS peer_key,
       count(*) FILTER (WHERE overlapping)::DOUBLE AS x, count(*)::DOUBLE AS n, NULL AS detail
FROM o JOIN periods p ON o.service_date BETWEEN p.first_day AND p.last_day GROUP BY ALL
"""

_DENSE_BLOCK = f"""
WITH block AS (SELECT DISTINCT grp, entity_id AS provider_id FROM s WHERE entity_type = 'provider'),
keys AS (SELECT DISTINCT b.grp, {_PEER_KEY} AS peer_key FROM block b JOIN providers pr USING (provider_id)),
pp AS (SELECT DISTINCT d.period, d.provider_id, d.patient_id, {_PEER_KEY} AS peer_key
       FROM pdays d JOIN providers pr USING (provider_id)
       WHERE {_PEER_KEY} IN (SELECT peer_key FROM keys)),
bp AS (   -- per block, period and patient: how many of the block's providers billed them
    SELECT b.grp, pp.period, pp.patient_id, count(*) AS k FROM pp JOIN block b USING (provider_id) GROUP BY ALL
)
SELECT k.grp, pp.period, pp.provider_id AS unit, pp.peer_key,
       count(*) FILTER (WHERE coalesce(bp.k, 0) - (b.provider_id IS NOT NULL)::INTEGER >= 1)::DOUBLE AS x,
       count(*)::DOUBLE AS n, NULL AS detail
FROM keys k JOIN pp USING (peer_key)
LEFT JOIN block b ON b.grp = k.grp AND b.provider_id = pp.provider_id
LEFT JOIN bp ON bp.grp = k.grp AND bp.period = pp.period AND bp.patient_id = pp.patient_id
GROUP BY k.grp, pp.period, pp.provider_id, pp.peer_key
"""

_ENTITY_NETWORK = f"""
WITH u AS (SELECT period, provider_id, count(*) AS x, count(DISTINCT patient_id) AS n FROM pdays
           GROUP BY period, provider_id)
SELECT '' AS grp, u.period, u.provider_id AS unit, {_PEER_KEY} AS peer_key, u.x::DOUBLE AS x, u.n::DOUBLE AS n,
       NULL AS detail
FROM u JOIN providers pr USING (provider_id)
"""

_PEER_OUTLIER = f"""
WITH u AS (      -- grouped first; the peer key, a provider's, joined after
    SELECT d.period, d.provider_id, d.service_code, count(*) AS x, count(DISTINCT d.patient_id) AS n
    FROM days d LEFT JOIN services sv USING (service_code)
    WHERE sv.kind IS NULL OR sv.kind IN ('act', 'lab')
    GROUP BY d.period, d.provider_id, d.service_code
)
SELECT '' AS grp, u.period, u.provider_id AS unit, {_PEER_KEY} AS peer_key,
       u.x::DOUBLE AS x, u.n::DOUBLE AS n, u.service_code AS detail
FROM u JOIN providers pr USING (provider_id)
"""

_MEGA_CONSUMER = """
WITH pt AS (SELECT patient_id, any_value(birth_year) AS birth_year, any_value(sex) AS sex FROM patients GROUP BY ALL),
u AS (SELECT period, patient_id, service_code, count(*) AS x FROM days GROUP BY ALL)   -- the key after grouping
SELECT '' AS grp, u.period, u.patient_id AS unit,
       CASE WHEN pt.birth_year IS NULL THEN '?'
            WHEN year(p.last_day) - pt.birth_year < 18 THEN '0-17'
            WHEN year(p.last_day) - pt.birth_year < 45 THEN '18-44'
            WHEN year(p.last_day) - pt.birth_year < 65 THEN '45-64'
            WHEN year(p.last_day) - pt.birth_year < 80 THEN '65-79' ELSE '80+' END
       || '|' || coalesce(pt.sex, '') AS peer_key,
       u.x::DOUBLE AS x, (date_diff('day', p.first_day, p.last_day) + 1)::DOUBLE AS n, u.service_code AS detail
FROM u JOIN periods p USING (period) LEFT JOIN pt USING (patient_id)
"""

_ATYPICAL_PRIVATE_PRACTICE = f"""
SELECT '' AS grp, p.period, c.provider_id AS unit, any_value({_PEER_KEY}) AS peer_key,
       count(*) FILTER (WHERE c.centre_id IS NULL)::DOUBLE AS x, count(*)::DOUBLE AS n, NULL AS detail
FROM claims c JOIN providers pr USING (provider_id)
JOIN periods p ON c.service_date BETWEEN p.first_day AND p.last_day
WHERE c.provider_id IN (SELECT provider_id FROM affiliations WHERE role = 'fulltime_hospital')
GROUP BY p.period, c.provider_id
HAVING count(*) FILTER (WHERE c.centre_id IS NOT NULL) > 0    -- no act through a centre: its post is not measured
"""

STATISTICS: dict[str, Statistic] = {
    "double_billing": Statistic("lines billed again for the same patient, act and day", "per 100 patient-act-days",
                                100.0, _DOUBLE_BILLING),
    "pharmacy_collusion": Statistic("patients from outside the pharmacy's area", "% of its patients", 100.0,
                                    _PHARMACY_COLLUSION, reads=("pdays",)),
    "doctor_shopping": Statistic("dispensings of a watched molecule overlapping a supply still running",
                                 "% of such dispensings", 100.0, _DOCTOR_SHOPPING, "patient", reads=()),
    "dense_block": Statistic("patients also billed by another provider of the block", "% of its patients", 100.0,
                             _DENSE_BLOCK, reads=("pdays",)),
    "entity_network": Statistic("days billed per patient", "patient-days per patient", 1.0, _ENTITY_NETWORK,
                                reads=("pdays",)),
    "peer_outlier": Statistic("days of the act per patient", "days per patient", 1.0, _PEER_OUTLIER),
    "mega_consumer": Statistic("days a provider billed the patient the care", "provider-days a year", 365.0,
                               _MEGA_CONSUMER, "patient"),
    "atypical_private_practice": Statistic("acts billed in private practice", "% of its acts", 100.0,
                                           _ATYPICAL_PRIVATE_PRACTICE, reads=()),
    # its figures come from the campaigns (`_campaign_units`); name, unit and scale from the campaign
    "indicator_outlier": Statistic("the campaign's indicator", "the campaign's measure", 1.0, "", reads=()),
}


def shown(pattern: str, detail: str | None, campaigns: tuple[Campaign, ...] = ()) -> tuple[str, str, float]:
    """(statistic, unit, scale) of a pattern's statistic as shown; for indicator_outlier, those of
    the campaign named `detail` (its label, its measure's unit)."""
    stat = STATISTICS[pattern]
    cp = next((c for c in campaigns if c.name == detail), None) if pattern == "indicator_outlier" else None
    if cp is None:
        return stat.name, stat.unit, stat.scale
    unit, scale = MEASURE_UNITS[cp.measure]
    return cp.label, unit, scale


def _campaign_units(tables: Mapping[str, pa.Table], campaigns: tuple[Campaign, ...],
                    periods: list[tuple[str, date, date]]) -> pa.Table:
    """Every campaign unit's numerator x and denominator n in each period: rows (grp '', period,
    unit, peer_key and detail: the campaign's name; detail None with a single campaign, so that
    no campaign has to be picked)."""
    schema = pa.schema([("grp", pa.string()), ("period", pa.string()), ("unit", pa.string()),
                        ("peer_key", pa.string()), ("x", pa.float64()), ("n", pa.float64()), ("detail", pa.string())])
    claims, parts = tables["claims"], [schema.empty_table()]
    for cp in campaigns:
        for name, first, last in periods:
            inside = query("SELECT * FROM c WHERE service_date BETWEEN $first AND $last",
                           {"first": first, "last": last}, keep=True, c=claims)
            per, n, r = measures({**tables, "claims": inside}, cp)
            k = per.num_rows
            parts.append(pa.table({"grp": pa.array([""] * k, pa.string()), "period": pa.array([name] * k, pa.string()),
                                   "unit": per["unit_id"], "peer_key": pa.array([cp.name] * k, pa.string()),
                                   "x": pa.array(r, pa.float64()), "n": pa.array(n, pa.float64()),
                                   "detail": pa.array([cp.name if len(campaigns) > 1 else None] * k, pa.string())},
                                  schema=schema))
    return pa.concat_tables(parts)

# each group's subjects and their peers (units of a subject's peer group), with the act picked for
# peer_outlier: the one where the subjects' rate over the peers' is highest in period $pick. The
# peers' sums per group and act are the sums over the group's peer keys less the subjects' (every
# statistic's x and n count events and exposure: whole numbers, summed exactly in any order), so
# that no group × peer-key × act rows are made for the pick: only the picked act's are.
_MEMBER_ROWS = """
WITH subj AS (SELECT DISTINCT grp, entity_id AS unit FROM s WHERE entity_type = $etype),
keys AS (SELECT DISTINCT x.grp, u.peer_key FROM subj x JOIN u ON u.unit = x.unit AND u.grp IN ('', x.grp)),
tot AS (    -- per unit group, peer key and act, in period $pick
    SELECT grp AS ugrp, peer_key, detail, sum(x) AS x, sum(n) AS n, count(*) AS rows
    FROM u WHERE period = $pick AND detail IS NOT NULL GROUP BY ALL
), everyone AS (
    SELECT k.grp, t.detail, sum(t.x) AS x, sum(t.n) AS n, sum(t.rows) AS rows
    FROM keys k JOIN tot t ON t.peer_key = k.peer_key AND t.ugrp IN ('', k.grp) GROUP BY ALL
), subjects AS (
    SELECT x.grp, u.detail, sum(u.x) AS x, sum(u.n) AS n, count(*) AS rows
    FROM subj x JOIN u ON u.unit = x.unit AND u.grp IN ('', x.grp)
    WHERE u.period = $pick AND u.detail IS NOT NULL GROUP BY ALL
), r AS (
    SELECT e.grp, e.detail, sb.n AS sn, sb.x / sb.n AS sr,
           CASE WHEN e.rows > coalesce(sb.rows, 0)
                THEN (e.x - coalesce(sb.x, 0)) / (e.n - coalesce(sb.n, 0)) END AS pr
    FROM everyone e LEFT JOIN subjects sb USING (grp, detail)
), act AS (
    SELECT grp, arg_max(detail, sr / pr) AS detail FROM r WHERE sn >= $min_exposure AND pr > 0 GROUP BY grp
), picked AS (SELECT k.grp, k.peer_key, a.detail FROM keys k LEFT JOIN act a USING (grp)
), m AS (     -- the rows without an act, and those of the act picked (two joins: each on equal keys)
    SELECT k.grp, u.period, u.unit, u.x, u.n, u.detail
    FROM picked k JOIN u ON u.peer_key = k.peer_key AND u.detail IS NULL AND u.grp IN ('', k.grp)
    UNION ALL
    SELECT k.grp, u.period, u.unit, u.x, u.n, u.detail
    FROM picked k JOIN u ON u.peer_key = k.peer_key AND u.detail = k.detail AND u.grp IN ('', k.grp)
), members AS (
    SELECT m.grp, m.period, m.unit, x.unit IS NOT NULL AS subject, m.x, m.n, m.detail
    FROM m LEFT JOIN subj x ON x.grp = m.grp AND x.unit = m.unit
)
"""
_MEMBERS = _MEMBER_ROWS + "SELECT * FROM members ORDER BY grp, period, unit\n"

# The peer charts' figures of `_MEMBER_ROWS`, without its rows (issue #18: at 5M claims they are
# millions): each subject's row (unit and first_unit its own), and the other rows counted by
# equal figures (unit NULL; first_unit the least unit among them) — a peer's value, x / n, is all
# a chart reads of it. first_unit tells the group's first row in the (period, unit) order.
_MEMBER_FIGURES = _MEMBER_ROWS + """, shown AS (SELECT *, CASE WHEN subject THEN unit END AS shown FROM members)
SELECT grp, period, subject, shown AS unit, x, n, detail, count(*) AS k, min(unit) AS first_unit
FROM shown GROUP BY grp, period, subject, shown, x, n, detail
ORDER BY grp, period, subject, unit, x, n, detail
"""

UNITS = pa.schema([("grp", pa.string()), ("period", pa.string()), ("unit", pa.string()), ("subject", pa.bool_()),
                   ("x", pa.float64()), ("n", pa.float64()), ("detail", pa.string())])
_SUBJECTS = pa.schema([("grp", pa.string()), ("entity_type", pa.string()), ("entity_id", pa.string())])


def unit_rates(tables: Mapping[str, pa.Table], pattern: str, subjects: pa.Table,
               periods: list[tuple[str, date, date]], settings: ImpactSettings = ImpactSettings(),
               pick: str | None = None, days: pa.Table | None = None, pdays: pa.Table | None = None,
               campaigns: tuple[Campaign, ...] = ()) -> pa.Table:
    """The statistic of `pattern` for the subjects of each group and their peers: `UNITS` rows
    (grp, period, unit, subject, x events, n exposure, detail: the act for peer_outlier).

    `subjects`: grp, entity_type, entity_id. `periods`: (name, first day, last day), inclusive.
    `pick`: the period in which peer_outlier picks its act (default: the first). `days`, `pdays`:
    `graph.profile.patient_days(claims, periods)` and `provider_days(days)` when already made.
    `campaigns`: the scan's, for indicator_outlier (detail: the campaign's name, with more than
    one). A pattern without a statistic, or subjects it does not apply to, give no rows."""
    got = _units(tables, pattern, subjects, periods, settings, pick, days, pdays, campaigns)
    if got is None:
        return UNITS.empty_table()
    units, s, params = got
    return query(_MEMBERS, params, u=units, s=s).cast(UNITS)


FIGURES = pa.schema([("grp", pa.string()), ("period", pa.string()), ("subject", pa.bool_()), ("unit", pa.string()),
                     ("x", pa.float64()), ("n", pa.float64()), ("detail", pa.string()), ("k", pa.int64()),
                     ("first_unit", pa.string())])


def unit_figures(tables: Mapping[str, pa.Table], pattern: str, subjects: pa.Table,
                 periods: list[tuple[str, date, date]], settings: ImpactSettings = ImpactSettings(),
                 pick: str | None = None, days: pa.Table | None = None, pdays: pa.Table | None = None,
                 campaigns: tuple[Campaign, ...] = ()) -> pa.Table:
    """`unit_rates`' rows counted by their figures, without the rows themselves: `FIGURES` rows
    (grp, period, subject, unit, x, n, detail, k, first_unit), one per subject's row (unit: its
    own) and one per group, period, x, n and detail of the other rows (unit NULL), `k` the rows
    it stands for, `first_unit` the least unit among them — all a peer chart reads of the peers
    (their values x / n; the group's first row in the (period, unit) order, for its detail). The
    same arguments as `unit_rates`. At 5M claims `unit_rates` gives millions of rows (every peer
    of every alert) where these are thousands (issue #18: they set the scan's peak memory)."""
    got = _units(tables, pattern, subjects, periods, settings, pick, days, pdays, campaigns)
    if got is None:
        return FIGURES.empty_table()
    units, s, params = got
    return query(_MEMBER_FIGURES, params, u=units, s=s).cast(FIGURES)


def _units(tables: Mapping[str, pa.Table], pattern: str, subjects: pa.Table, periods: list[tuple[str, date, date]],
           settings: ImpactSettings, pick: str | None, days: pa.Table | None, pdays: pa.Table | None,
           campaigns: tuple[Campaign, ...]):
    """The statistic's rows of every unit (`Statistic.sql`, or the campaigns'), the subjects and
    the parameters of `_MEMBER_ROWS`; None when `unit_rates` gives no rows (its docstring)."""
    if pattern not in STATISTICS or subjects.num_rows == 0 or not periods \
            or (pattern == "indicator_outlier" and not campaigns):
        return None
    stat = STATISTICS[pattern]
    per = pa.table({"period": [p[0] for p in periods], "first_day": pa.array([p[1] for p in periods], pa.date32()),
                    "last_day": pa.array([p[2] for p in periods], pa.date32())})
    params = {k: v for k, v in (("area_prefix", settings.area_prefix), ("supply_days", settings.supply_days))
              if f"${k}" in stat.sql}
    s = subjects.select(_SUBJECTS.names).cast(_SUBJECTS)
    if days is None and stat.reads:
        days = patient_days(tables["claims"], periods)
    if pdays is None and "pdays" in stat.reads:
        pdays = provider_days(days)
    if pattern == "indicator_outlier":
        units = _campaign_units(tables, campaigns, periods)
    else:
        units = query(stat.sql, params, keep=True, claims=tables["claims"], providers=tables["providers"],
                      patients=tables["patients"], services=tables["services"],
                      affiliations=tables.get("affiliations", empty_table("affiliations")), periods=per, s=s,
                      days=days if "days" in stat.reads else DAYS.empty_table(),
                      pdays=pdays if "pdays" in stat.reads else PROVIDER_DAYS.empty_table())
    return units, s, {"etype": stat.subject_type, "pick": pick or periods[0][0], "min_exposure": settings.min_exposure}


def span(claims: pa.Table) -> tuple[date | None, date | None]:
    """The first and last service dates of the claims (None, None without claims)."""
    row = query("SELECT min(service_date) AS a, max(service_date) AS b FROM c", c=claims).to_pylist()[0]
    return row["a"], row["b"]


# --- the peer chart --------------------------------------------------------------------------

PEER_DISTRIBUTION = pa.schema([
    ("alert_id", pa.string()), ("statistic", pa.string()), ("unit", pa.string()), ("detail", pa.string()),
    ("subject_units", pa.list_(pa.string())), ("subject_values", pa.list_(pa.float64())),
    ("subject_value", pa.float64()), ("peers", pa.int64()), ("peer_median", pa.float64()),
    ("peer_p90", pa.float64()), ("share_below", pa.float64()),
    ("bin_edges", pa.list_(pa.float64())), ("bin_counts", pa.list_(pa.int64()))])


def peer_distribution(tables: Mapping[str, pa.Table], alerts: pa.Table, alert_entities: pa.Table,
                      settings: ImpactSettings = ImpactSettings(), bins: int = 30,
                      days: pa.Table | None = None, pdays: pa.Table | None = None,
                      campaigns: tuple[Campaign, ...] = ()) -> pa.Table:
    """Per alert, its pattern's statistic over the whole window: the value of each subject entity
    (scaled: a percentage, days per patient…), the subjects pooled (`subject_value`), the peers'
    count, median and 90th percentile, the share of peers below the pooled subjects, and a
    histogram of the peers' values (`bins` equal bins from 0 to the largest of the peers' 99th
    percentile and the subjects' values; larger values fall in the last). `PEER_DISTRIBUTION`
    rows; alerts whose pattern has no statistic, or without peers, have none. `days`, `pdays`: the
    window's `graph.profile.patient_days` and `provider_days` (period `window`) when already made.
    `campaigns`: the scan's; an indicator_outlier alert (`indicator_outlier:<campaign>:<unit>`) is
    shown on its own campaign's indicator, in its measure's unit (`shown`)."""
    first, last = span(tables["claims"])
    if first is None:
        return PEER_DISTRIBUTION.empty_table()
    window = [("window", first, last)]
    days = days if days is not None else patient_days(tables["claims"], window)
    pdays = pdays if pdays is not None else provider_days(days)
    rows = []
    jobs = []    # (pattern, the campaign judged, alerts' id prefix)
    for pattern in sorted(set(alerts["pattern"].to_pylist()) & set(STATISTICS)):
        jobs += [(pattern, (cp,), f"{pattern}:{cp.name}:") for cp in campaigns] \
            if pattern == "indicator_outlier" else [(pattern, (), "")]
    for pattern, judged, prefix in jobs:
        name, unit, scale = shown(pattern, judged[0].name if judged else None, judged)
        subjects = query("SELECT e.alert_id AS grp, e.entity_type, e.entity_id FROM e JOIN a USING (alert_id) "
                         "WHERE a.pattern = $p AND starts_with(a.alert_id, $prefix) ORDER BY 1, 2, 3",
                         {"p": pattern, "prefix": prefix}, e=alert_entities, a=alerts)
        figures = unit_figures(tables, pattern, subjects, window, settings, days=days, pdays=pdays,
                               campaigns=judged)
        for grp, part in _groups(figures):
            subj = part["subject"]
            sx, sn = part["x"][subj], part["n"][subj]
            peers = ~subj & (part["n"] > 0)
            # each peer's value, as many times as peers have it (numpy's figures of a multiset: the
            # quantiles, histogram and share below are those of the peers' values one by one)
            values = np.repeat((part["x"][peers] / part["n"][peers]) * scale, part["k"][peers])
            if not subj.any() or len(values) == 0:
                continue
            sv = sx / np.maximum(sn, 1e-12) * scale
            pooled = sx.sum() / max(sn.sum(), 1e-12) * scale
            top = max(float(np.quantile(values, 0.99)), float(sv.max()), 1e-9)
            edges = np.linspace(0.0, top * 1.02, bins + 1)
            counts = np.histogram(np.clip(values, 0, edges[-1]), edges)[0]
            rows.append({"alert_id": grp, "statistic": name, "unit": unit,
                         "detail": judged[0].name if judged else part["detail"],
                         "subject_units": part["unit"][subj].tolist(), "subject_values": [round(v, 6) for v in sv],
                         "subject_value": round(pooled, 6), "peers": int(len(values)),
                         "peer_median": round(float(np.median(values)), 6),
                         "peer_p90": round(float(np.quantile(values, 0.9)), 6),
                         "share_below": round(float((values < pooled).mean()), 6),
                         "bin_edges": [round(e, 6) for e in edges], "bin_counts": counts.tolist()})
    return pa.Table.from_pylist(rows, PEER_DISTRIBUTION)


def _groups(figures: pa.Table):
    """(grp, its rows) for each group of `unit_figures` rows, groups in sorted order: numpy columns
    `subject`, `x`, `n`, `k` and `unit` (objects), a subject's row repeated `k` times, the subjects'
    rows in the (period, unit) order `unit_rates` gives them (so their values and their sums are
    those of its rows, in its order), and `detail`: that of the group's first row in that order."""
    rows = figures.to_pylist()
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["grp"], []).append(r)
    for grp in sorted(by):
        got = by[grp]
        first = min(got, key=lambda r: (r["period"], r["first_unit"]))
        subjects = sorted((r for r in got if r["subject"]), key=lambda r: (r["period"], r["unit"]))
        others = [r for r in got if not r["subject"]]
        got = [r for r in subjects for _ in range(r["k"])] + others
        yield grp, {"subject": np.array([r["subject"] for r in got], bool),
                    "x": np.array([r["x"] for r in got], np.float64), "n": np.array([r["n"] for r in got], np.float64),
                    "k": np.array([1 if r["subject"] else r["k"] for r in got], np.int64),
                    "unit": np.array([r["unit"] for r in got], dtype=object), "detail": first["detail"]}


# --- the impact of a decision ----------------------------------------------------------------

IMPACT = pa.schema([
    ("case_id", pa.string()), ("pattern", pa.string()), ("statistic", pa.string()), ("unit", pa.string()),
    ("detail", pa.string()), ("decided_on", pa.date32()),
    ("before_first", pa.date32()), ("before_last", pa.date32()), ("after_first", pa.date32()),
    ("after_last", pa.date32()), ("days_after", pa.int64()),
    ("subject_x_before", pa.float64()), ("subject_n_before", pa.float64()),
    ("subject_x_after", pa.float64()), ("subject_n_after", pa.float64()),
    ("peers_x_before", pa.float64()), ("peers_n_before", pa.float64()),
    ("peers_x_after", pa.float64()), ("peers_n_after", pa.float64()),
    ("peers_before", pa.int64()), ("peers_after", pa.int64()),
    ("subject_rate_before", pa.float64()), ("subject_rate_after", pa.float64()),
    ("peers_rate_before", pa.float64()), ("peers_rate_after", pa.float64()),
    ("excess_before", pa.float64()), ("excess_after", pa.float64()),
    ("did", pa.float64()), ("did_low", pa.float64()), ("did_high", pa.float64()),
    ("verdict", pa.string()), ("why", pa.string())])


def periods_around(decided_on: date, first: date, last: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """The (first, last) days of two periods of equal length on each side of a decision: as
    many days as the data has on its shorter side, the after period starting on `decided_on`.

        >>> periods_around(date(2025, 7, 1), date(2025, 1, 1), date(2025, 12, 31))
        ((datetime.date(2025, 1, 1), datetime.date(2025, 6, 30)), (datetime.date(2025, 7, 1), datetime.date(2025, 12, 28)))
    """
    days = max(min((decided_on - first).days, (last - decided_on).days + 1), 0)
    return ((decided_on - timedelta(days=days), decided_on - timedelta(days=1)),
            (decided_on, decided_on + timedelta(days=days - 1)))


def judge(sx_b: float, sn_b: float, sx_a: float, sn_a: float, px_b: float, pn_b: float, px_a: float, pn_a: float,
          peers_b: int, peers_a: int, days: int, settings: ImpactSettings = ImpactSettings(),
          scale: float = 1.0) -> dict:
    """The difference in differences and the verdict, from the subjects' and the peers' events x
    and exposure n before (`_b`) and after (`_a`), the peers counted in each period and the days
    of each period. Rates are x / n × `scale`; Δ = (subjects after − before) − (peers after −
    before), with its 95 % interval (Poisson variance of each rate, (x + 0.5) / n²). Returns
    excess_before, excess_after (the subjects' rate minus the peers'), did, did_low, did_high
    (None when the data do not allow a judgement), verdict and why.

        >>> judge(50, 270, 0, 270, 5, 2500, 5, 2500, 20, 20, 180)["verdict"]
        'changed'
        >>> judge(50, 270, 48, 270, 5, 2500, 5, 2500, 20, 20, 180)["verdict"]
        'unchanged'
        >>> judge(50, 270, 90, 270, 5, 2500, 5, 2500, 20, 20, 180)["verdict"]
        'worse'
        >>> judge(50, 270, 48, 270, 5, 2500, 5, 2500, 20, 20, 10)["verdict"]
        'not_enough_data'
        >>> judge(5, 2500, 3, 2500, 5, 2500, 5, 2500, 20, 20, 180)["verdict"]
        'no_excess'
    """
    s = settings
    short = []
    if days < s.min_days:
        short.append(f"{max(days, 0)} day(s) of data after the decision (needs {s.min_days})")
    for who, n, least in (("the subjects", sn_b, s.min_exposure), ("the subjects", sn_a, s.min_exposure_after),
                          ("the peers", min(pn_b, pn_a), s.min_exposure)):
        if n < least:
            short.append(f"{who} have {n:,.0f} unit(s) of exposure {'after' if n is sn_a else 'in a period'} "
                         f"(needs {least})")
    if min(peers_b, peers_a) < s.min_peers:
        short.append(f"{min(peers_b, peers_a)} peer(s) in a period (needs {s.min_peers})")
    if short:
        return {"excess_before": None, "excess_after": None, "did": None, "did_low": None, "did_high": None,
                "verdict": "not_enough_data", "why": "; ".join(short)}
    rate = {k: x / n * scale for k, (x, n) in
            {"sb": (sx_b, sn_b), "sa": (sx_a, sn_a), "pb": (px_b, pn_b), "pa": (px_a, pn_a)}.items()}
    did = (rate["sa"] - rate["sb"]) - (rate["pa"] - rate["pb"])
    se = scale * math.sqrt(sum((x + 0.5) / n ** 2 for x, n in ((sx_b, sn_b), (sx_a, sn_a), (px_b, pn_b), (px_a, pn_a))))
    low, high = did - Z95 * se, did + Z95 * se
    ex_b, ex_a = rate["sb"] - rate["pb"], rate["sa"] - rate["pa"]
    told = (f"excess over peers {ex_b:+,.2f} before and {ex_a:+,.2f} after; difference in differences {did:+,.2f} "
            f"(95% interval {low:+,.2f} to {high:+,.2f})")
    if low > 0:
        verdict, why = "worse", f"up: {told}"
    elif ex_b <= 0:
        verdict, why = "no_excess", f"not above peers before the decision, nothing for it to remove: {told}"
    elif high < 0 and ex_a <= (1 - s.min_reduction) * ex_b:
        verdict, why = "changed", f"down: {told}"
    elif high < 0:
        verdict, why = "unchanged", f"down, but less than {s.min_reduction:.0%} of the excess over peers is gone: {told}"
    else:
        verdict, why = "unchanged", f"no significant change: {told}"
    return {"excess_before": round(ex_b, 6), "excess_after": round(ex_a, 6), "did": round(did, 6),
            "did_low": round(low, 6), "did_high": round(high, 6), "verdict": verdict, "why": why}


def measure(tables: Mapping[str, pa.Table], watches: pa.Table, settings: ImpactSettings = ImpactSettings(),
            campaigns: tuple[Campaign, ...] = ()) -> pa.Table:
    """The impact of each watched decision: `watches` (case_id, pattern, entities: list of
    {entity_type, entity_id}, decided_on) → `IMPACT` rows, one per watch: the periods, the
    subjects' and peers' counts and rates (in the statistic's unit) before and after, the
    subjects' excess over peers, Δ with its 95 % interval, the verdict (`VERDICTS`) and why. A
    pattern without a statistic gives `not_enough_data`, saying so. `campaigns`: the scan's
    (indicator_outlier is measured on the campaign where its subjects stood out most before)."""
    first, last = span(tables["claims"])
    rows = []
    for w in watches.to_pylist():
        stat = STATISTICS.get(w["pattern"])
        base = {"case_id": w["case_id"], "pattern": w["pattern"], "decided_on": w["decided_on"],
                "statistic": stat.name if stat else None, "unit": stat.unit if stat else None}
        if stat is None or first is None or (w["pattern"] == "indicator_outlier" and not campaigns):
            rows.append({**base, "verdict": "not_enough_data",
                         "why": f"no impact statistic for {w['pattern']}" if stat is None
                         else "no claims in the window" if first is None else "no control campaign in the scan"})
            continue
        (b0, b1), (a0, a1) = periods_around(w["decided_on"], first, last)
        days = (a1 - a0).days + 1
        subjects = pa.Table.from_pylist([{"grp": w["case_id"], **e} for e in w["entities"]], _SUBJECTS)
        periods = [("before", b0, b1), ("after", a0, a1)] if days > 0 else []
        units = unit_rates(tables, w["pattern"], subjects, periods, settings, pick="before", campaigns=campaigns)
        f = query("""SELECT
              coalesce(sum(x) FILTER (WHERE subject AND period = 'before'), 0) AS sx_b,
              coalesce(sum(n) FILTER (WHERE subject AND period = 'before'), 0) AS sn_b,
              coalesce(sum(x) FILTER (WHERE subject AND period = 'after'), 0) AS sx_a,
              coalesce(sum(n) FILTER (WHERE subject AND period = 'after'), 0) AS sn_a,
              coalesce(sum(x) FILTER (WHERE NOT subject AND period = 'before'), 0) AS px_b,
              coalesce(sum(n) FILTER (WHERE NOT subject AND period = 'before'), 0) AS pn_b,
              coalesce(sum(x) FILTER (WHERE NOT subject AND period = 'after'), 0) AS px_a,
              coalesce(sum(n) FILTER (WHERE NOT subject AND period = 'after'), 0) AS pn_a,
              count(DISTINCT unit) FILTER (WHERE NOT subject AND period = 'before' AND n > 0) AS peers_b,
              count(DISTINCT unit) FILTER (WHERE NOT subject AND period = 'after' AND n > 0) AS peers_a,
              any_value(detail) AS detail FROM u""", u=units).to_pylist()[0]
        if w["pattern"] == "indicator_outlier" and len(campaigns) == 1:
            f["detail"] = campaigns[0].name
        name, unit, scale = shown(w["pattern"], f["detail"], campaigns)
        verdict = judge(f["sx_b"], f["sn_b"], f["sx_a"], f["sn_a"], f["px_b"], f["pn_b"], f["px_a"], f["pn_a"],
                        f["peers_b"], f["peers_a"], days, settings, scale)

        def rate(x, n):
            return round(x / n * scale, 6) if n else None
        rows.append({**base, "statistic": name, "unit": unit, "detail": f["detail"], "before_first": b0, "before_last": b1, "after_first": a0,
                     "after_last": a1, "days_after": max(days, 0),
                     "subject_x_before": f["sx_b"], "subject_n_before": f["sn_b"],
                     "subject_x_after": f["sx_a"], "subject_n_after": f["sn_a"],
                     "peers_x_before": f["px_b"], "peers_n_before": f["pn_b"],
                     "peers_x_after": f["px_a"], "peers_n_after": f["pn_a"],
                     "peers_before": f["peers_b"], "peers_after": f["peers_a"],
                     "subject_rate_before": rate(f["sx_b"], f["sn_b"]), "subject_rate_after": rate(f["sx_a"], f["sn_a"]),
                     "peers_rate_before": rate(f["px_b"], f["pn_b"]), "peers_rate_after": rate(f["px_a"], f["pn_a"]),
                     **verdict})
    return pa.Table.from_pylist(rows, IMPACT)
