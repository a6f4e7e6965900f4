"""What detectors return: alerts and the entities each alert names, as Arrow tables.

`alerts`: alert_id (stable across runs for the same facts), pattern, score (the pattern's
expected excess, in its own unit; higher = more suspicious), summary, evidence (JSON text:
figures, claim ids, paths, the test), surprise_bits (−log2 of the alert's tail probability:
how surprising its facts are under honest behaviour), excess_euros (the money beyond what honest
behaviour explains, the alert's weight in entity risk).

`alert_entities`: alert_id, entity_type, entity_id, role (the entity's part: biller, pharmacy,
shopper, …), standing (`contract.vocab.STANDINGS`): `accused` (the alert is about it),
`participant` (took part, knowingly or not: a lead) or `victim` (deceived or used: a doctor
shopper's prescribers and pharmacies, the patients of a borrowed list), and excess_euros: the
part of the alert's euros that is this entity's own (a block member's share of the billed pairs,
a prescriber's flow), null when the entity answers for the whole alert. Only accused and
participant entities carry risk (`graph.risk`).

Alert ids never contain a patient id: an alert about a patient is named by a keyed digest of its
natural key (`opaque_id`), stable across runs for the same key and facts.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

import pyarrow as pa

from contract.vocab import STANDINGS

ALERTS = pa.schema([("alert_id", pa.string()), ("pattern", pa.string()), ("score", pa.float64()),
                    ("summary", pa.string()), ("evidence", pa.string()), ("surprise_bits", pa.float64()),
                    ("excess_euros", pa.float64())])
ENTITIES = pa.schema([("alert_id", pa.string()), ("entity_type", pa.string()),
                      ("entity_id", pa.string()), ("role", pa.string()), ("standing", pa.string()),
                      ("excess_euros", pa.float64())])


@dataclass(frozen=True)
class Findings:
    alerts: pa.Table
    entities: pa.Table


def opaque_id(key: bytes, pattern: str, natural_key: str) -> str:
    """`pattern:` + the first 32 hex digits of HMAC-SHA256(key, natural key): an alert id that
    names no patient (RFC 2104; NIST FIPS 198-1), the same for the same key and facts.

    >>> opaque_id(b"k", "doctor_shopping", "P0000001")
    'doctor_shopping:afe7c7d428c3a5ba0861192b9541fcb3'
    """
    digest = hmac.new(key, natural_key.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{pattern}:{digest[:32]}"


def make_findings(alerts: list[dict], entities: list[dict]) -> Findings:
    """From a detector's (few) alerts as dicts; evidence dicts become JSON text.

    Each alert: alert_id, pattern, score, summary, evidence (dict), surprise_bits, excess_euros.
    Each entity: alert_id, entity_type, entity_id, role, standing, and optionally excess_euros
    (its own part). Raises ValueError for a standing outside the contract's, or for an alert id
    given twice (two alerts would be one in every store, file and API answer: a detector's ids
    must tell its kinds of alert apart whatever the ids of the data hold).
    """
    seen: set[str] = set()
    for a in alerts:
        if a["alert_id"] in seen:
            raise ValueError(f"alert id {a['alert_id']!r} given to two alerts of pattern {a['pattern']}")
        seen.add(a["alert_id"])
    rows = [{"alert_id": a["alert_id"], "pattern": a["pattern"], "score": round(float(a["score"]), 4),
             "summary": a["summary"],
             "evidence": json.dumps(_rounded(a.get("evidence", {})), sort_keys=True, default=str),
             "surprise_bits": round(float(a.get("surprise_bits", 0.0)), 4),
             "excess_euros": round(float(a.get("excess_euros", 0.0)), 2)} for a in alerts]
    rows.sort(key=lambda a: (-a["score"], a["alert_id"]))
    for e in entities:
        if e["standing"] not in STANDINGS:
            raise ValueError(f"standing {e['standing']!r} is not one of {', '.join(STANDINGS)}")
    # an entity named twice in one alert keeps its strongest standing (accused > participant > victim)
    best: dict[tuple, tuple] = {}
    for e in entities:
        k = (e["alert_id"], e["entity_type"], e["entity_id"], e["role"])
        rank = STANDINGS.index(e["standing"])
        euros = None if e.get("excess_euros") is None else round(float(e["excess_euros"]), 2)
        if k not in best or rank < best[k][0]:
            best[k] = (rank, e["standing"], euros)
    ents = sorted((*k, s, x) for k, (_, s, x) in best.items())
    return Findings(pa.Table.from_pylist(rows, ALERTS),
                    pa.Table.from_pylist([dict(zip(ENTITIES.names, e)) for e in ents], ENTITIES))


def _rounded(x):
    """Evidence with its floats rounded to 6 decimals: the same facts always give the same text,
    although DuckDB adds in parallel."""
    if isinstance(x, float):
        return round(x, 6)
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):      # numpy scalars
        return _rounded(x.item())
    return x


def combine(parts: list[Findings]) -> Findings:
    alerts = pa.concat_tables([p.alerts for p in parts]) if parts else ALERTS.empty_table()
    entities = pa.concat_tables([p.entities for p in parts]) if parts else ENTITIES.empty_table()
    return Findings(alerts, entities)


def euros(x: float) -> str:
    return f"€{x:,.2f}"
