"""peer_outlier: a provider whose volume of an act per patient is far beyond its peers.

National-control style: for every act and every peer group (provider kind + specialty), each
provider's volume of the act per patient — days on which it billed the act to the patient, so
that same-day repeats, double billing's business, do not count twice — is compared with the
group's median on a
robust scale: z = (x - median) / (1.4826 · MAD), the MAD floored at 5 % of the median so that a
group of identical peers does not make every small difference infinite. A provider is flagged on
an act with at least `min_patients` patients of that act, at least `min_peers` peers, a z of
`min_z` and `min_ratio` times the median. Drugs are left out by default (`acts_only`): dispensing
volumes follow prescriptions, and abnormal flows are pharmacy_collusion's business. The score is
the excess amount: (x - median) × patients × the provider's average amount per day of the act.
"""
from __future__ import annotations

from typing import Mapping

import pyarrow as pa

from .findings import Findings, euros, make_findings
from .settings import PeerOutlierSettings
from engine import query

_OUTLIERS = """
WITH c AS (
    SELECT c.provider_id, c.patient_id, c.service_code, c.service_date, c.amount,
           p.kind, coalesce(p.specialty, '') AS specialty
    FROM claims c JOIN providers p USING (provider_id) LEFT JOIN services s USING (service_code)
    WHERE NOT $acts_only OR s.kind IS NULL OR s.kind IN ('act', 'lab')
), per AS (
    SELECT provider_id, kind, specialty, service_code, count(DISTINCT patient_id) AS patients,
           count(DISTINCT (patient_id, service_date))::BIGINT AS units, round(sum(amount), 2) AS amount
    FROM c GROUP BY ALL
), elig AS (
    SELECT *, units / patients AS x FROM per WHERE patients >= $min_patients
), med AS (
    SELECT kind, specialty, service_code, count(*) AS peers, median(x) AS median
    FROM elig GROUP BY ALL HAVING count(*) >= $min_peers
), mad AS (
    SELECT e.kind, e.specialty, e.service_code, median(abs(e.x - m.median)) AS mad
    FROM elig e JOIN med m USING (kind, specialty, service_code) GROUP BY ALL
)
SELECT e.*, m.peers, m.median, d.mad,
       (e.x - m.median) / greatest(1.4826 * d.mad, 0.05 * m.median, 1e-9) AS z
FROM elig e JOIN med m USING (kind, specialty, service_code) JOIN mad d USING (kind, specialty, service_code)
WHERE e.x >= $min_ratio * m.median
  AND (e.x - m.median) / greatest(1.4826 * d.mad, 0.05 * m.median, 1e-9) >= $min_z
ORDER BY provider_id, service_code
"""


def detect_peer_outliers(tables: Mapping[str, pa.Table], settings: PeerOutlierSettings) -> Findings:
    """One alert per provider (`peer_outlier:<provider>`), listing each act on which it stands out.

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_peer_outliers(t, PeerOutlierSettings()).alerts.num_rows
        0
    """
    s = settings
    rows = query(_OUTLIERS, {"acts_only": s.acts_only, "min_patients": s.min_patients, "min_peers": s.min_peers,
                             "min_ratio": s.min_ratio, "min_z": s.min_z},
                 claims=tables["claims"], providers=tables["providers"], services=tables["services"]).to_pylist()
    labels = dict(zip(tables["services"]["service_code"].to_pylist(), tables["services"]["label"].to_pylist()))
    by_provider: dict[str, list[dict]] = {}
    for r in rows:
        r["excess_amount"] = (r["x"] - r["median"]) * r["patients"] * r["amount"] / r["units"]
        by_provider.setdefault(r["provider_id"], []).append(r)
    alerts, entities = [], []
    for provider, acts in by_provider.items():
        aid = f"peer_outlier:{provider}"
        top = max(acts, key=lambda a: (a["excess_amount"], a["service_code"]))
        peer = f"{top['kind']}" + (f" ({top['specialty'].replace('_', ' ')})" if top["specialty"] else "")
        alerts.append({
            "alert_id": aid, "pattern": "peer_outlier", "score": sum(a["excess_amount"] for a in acts),
            "summary": (f"Provider {provider} billed {labels.get(top['service_code']) or top['service_code']} on "
                        f"{top['x']:.1f} days per patient to {top['patients']} patients, {top['x'] / top['median']:.1f}× the median of "
                        f"{top['peers']} {peer} peers ({top['median']:.1f}; robust z {top['z']:.0f}); "
                        f"excess {euros(sum(a['excess_amount'] for a in acts))}"
                        + (f" over {len(acts)} acts." if len(acts) > 1 else ".")),
            "evidence": {"acts": [{k: a[k] for k in ("service_code", "kind", "specialty", "patients", "units", "x",
                                                    "peers", "median", "mad", "z", "excess_amount")} for a in acts]},
        })
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": provider, "role": "biller"})
    return make_findings(alerts, entities)
