"""What detectors return: alerts and the entities each alert names, as Arrow tables.

`alerts`: alert_id (stable across runs for the same facts), pattern, score, summary, evidence
(JSON text: figures, claim ids, paths). `alert_entities`: alert_id, entity_type, entity_id, role.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa

ALERTS = pa.schema([("alert_id", pa.string()), ("pattern", pa.string()), ("score", pa.float64()),
                    ("summary", pa.string()), ("evidence", pa.string())])
ENTITIES = pa.schema([("alert_id", pa.string()), ("entity_type", pa.string()),
                      ("entity_id", pa.string()), ("role", pa.string())])


@dataclass(frozen=True)
class Findings:
    alerts: pa.Table
    entities: pa.Table


def make_findings(alerts: list[dict], entities: list[dict]) -> Findings:
    """From a detector's (few) alerts as dicts; evidence dicts become JSON text."""
    rows = [{**a, "score": round(float(a["score"]), 4),
             "evidence": json.dumps(a.get("evidence", {}), sort_keys=True, default=str)} for a in alerts]
    rows.sort(key=lambda a: (-a["score"], a["alert_id"]))
    ents = sorted({(e["alert_id"], e["entity_type"], e["entity_id"], e["role"]) for e in entities})
    return Findings(pa.Table.from_pylist(rows, ALERTS),
                    pa.Table.from_pylist([dict(zip(ENTITIES.names, e)) for e in ents], ENTITIES))


def combine(parts: list[Findings]) -> Findings:
    alerts = pa.concat_tables([p.alerts for p in parts]) if parts else ALERTS.empty_table()
    entities = pa.concat_tables([p.entities for p in parts]) if parts else ENTITIES.empty_table()
    return Findings(alerts, entities)


def euros(x: float) -> str:
    return f"€{x:,.2f}"
