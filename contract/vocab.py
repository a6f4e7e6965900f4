"""The words every layer shares, written once: entity types, node ids, patterns, standings and
relationship types (../shared/CONTRACT.md and the graph model of `graph.model`).

A node of the graph is named by a stable string id, `<entity_type>:<entity_id>`
(`provider:10000000042`). Only `node_id` builds one and only `split_node_id` reads one back.

    >>> node_id("provider", "010000024")
    'provider:010000024'
    >>> split_node_id("legal_entity:SIREN:123")
    ('legal_entity', 'SIREN:123')
"""
from __future__ import annotations

import re

ENTITY_TYPES = ("provider", "centre", "legal_entity", "person", "patient")

# The contract's pattern names, in the order alerts are listed when patterns are interleaved.
PATTERNS = ("double_billing", "pharmacy_collusion", "doctor_shopping", "dense_block",
            "entity_network", "peer_outlier", "mega_consumer", "atypical_private_practice",
            "indicator_outlier")

# Patterns about one patient (CONTRACT.md): their alert ids are keyed hashes of the patient's id,
# and an id typed for one of them may hold a patient's id, so no face repeats an unknown one
# (`patient_alert`, `contract.errors.NotFound`).
PATIENT_PATTERNS = ("doctor_shopping", "mega_consumer")


def patient_alert(alert_id: str) -> bool:
    """Whether `alert_id` names (or was typed as) an alert of a patient-centred pattern.

    >>> patient_alert("doctor_shopping:2b1f"), patient_alert("peer_outlier:10000000064")
    (True, False)
    """
    return alert_id.split(":", 1)[0].strip().lower() in PATIENT_PATTERNS


# An alert entity's standing (CONTRACT.md, alert_entities.csv): only accused and participant
# entities carry the alert's risk.
STANDINGS = ("accused", "participant", "victim")
RISK_STANDINGS = ("accused", "participant")

# Relationship types of the graph (graph.model), also the Neo4j relationship types.
RELS = ("BILLED", "DISPENSED_TO", "PRESCRIBED_FOR", "FLOWS_TO", "WORKS_AT", "OPERATED_BY",
        "BILLS_UNDER", "OFFICER_OF", "SHARES_IDENTIFIER")

# Neo4j labels of the entity types.
LABELS = {"provider": "Provider", "patient": "Patient", "centre": "Centre",
          "legal_entity": "LegalEntity", "person": "Person"}

# Neo4j labels an entity carries besides its type's, derived from the results (runs.results.graph_nodes):
# a provider that prescribes, a pharmacy, a laboratory; named by an alert (Flagged), at risk
# through its network only (AtRisk).
DERIVED_LABELS = ("Prescriber", "Pharmacy", "Laboratory", "Flagged", "AtRisk", "Accused", "Participant", "Victim")

_SEP = ":"
NODE_ID_PATTERN = "^(" + "|".join(ENTITY_TYPES) + "):.+$"     # a node id, as a regular expression


def node_id(entity_type: str, entity_id: str) -> str:
    """The graph's id of an entity. Raises ValueError for an unknown entity type."""
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"unknown entity type {entity_type!r} (expected one of {', '.join(ENTITY_TYPES)})")
    return f"{entity_type}{_SEP}{entity_id}"


def split_node_id(node: str) -> tuple[str, str]:
    """(entity_type, entity_id) of a node id. Raises ValueError if it is not `type:id`."""
    entity_type, sep, entity_id = node.partition(_SEP)
    if not sep or entity_type not in ENTITY_TYPES or not entity_id:
        raise ValueError(f"{node!r} is not an entity id of the form type:id")
    return entity_type, entity_id


_WORD = re.compile(r"[A-Za-z_ -]{1,40}")


def is_word(value) -> bool:
    """Whether `value` is a word — letters, `_`, `-` and spaces, at most 40 — which a message may
    show where the value given might have been an id (a misspelt type `patiant` is shown; `P0009018`,
    maybe a patient's id, is not: ids hold digits)."""
    return isinstance(value, str) and _WORD.fullmatch(value) is not None


def is_patient_node(key) -> bool:
    """Whether `key` reads as a patient's node id (`patient:P1`, any case, spaces around), or holds
    one behind other prefixes (`provider:patient:P1`, a type given twice): given under another type,
    its id is still a patient's and is never repeated."""
    return isinstance(key, str) and any(part.strip().lower() == "patient" for part in key.split(_SEP)[:-1])

