"""Every detector, run in a fixed order on the same tables: the one entry point of detection."""
from __future__ import annotations

from typing import Callable, Mapping

import pyarrow as pa

from .atypical_private_practice import detect_atypical_private_practice
from .campaigns import detect_indicator_outliers
from .dense_block import detect_dense_blocks
from .doctor_shopping import detect_doctor_shopping
from .double_billing import detect_double_billing
from .entity_network import detect_entity_networks
from .findings import Findings, combine
from .mega_consumer import detect_mega_consumers
from .model import Graph
from .peer_outlier import detect_peer_outliers
from .pharmacy_collusion import detect_pharmacy_collusion
from .settings import ScanSettings
from .shared import Shared, build_shared

# (tables, graph, shared intermediates, settings, alert-id key) -> Findings
Detector = Callable[[Mapping[str, pa.Table], Graph, Shared, ScanSettings, bytes], Findings]

DETECTORS: dict[str, Detector] = {
    "double_billing": lambda t, g, sh, s, k: detect_double_billing(t, sh, s.double_billing),
    "pharmacy_collusion": lambda t, g, sh, s, k: detect_pharmacy_collusion(t, s.pharmacy_collusion),
    "doctor_shopping": lambda t, g, sh, s, k: detect_doctor_shopping(t, s.doctor_shopping, k),
    "dense_block": lambda t, g, sh, s, k: detect_dense_blocks(t, g, sh, s.dense_block, s.network.patient_max),
    "entity_network": lambda t, g, sh, s, k: detect_entity_networks(t, g, s.entity_network, sh.pairs),
    "peer_outlier": lambda t, g, sh, s, k: detect_peer_outliers(t, sh, s.peer_outlier),
    "mega_consumer": lambda t, g, sh, s, k: detect_mega_consumers(t, sh, s.mega_consumer, k),
    "atypical_private_practice": lambda t, g, sh, s, k: detect_atypical_private_practice(t, s.atypical_private_practice),
    "indicator_outlier": lambda t, g, sh, s, k: detect_indicator_outliers(t, s.campaigns),
}


def detect(tables: Mapping[str, pa.Table], graph: Graph, settings: ScanSettings, key: bytes,
           shared: Shared | None = None) -> Findings:
    """All alerts of every detector, highest score first within each pattern.

    `key`: the secret that keys opaque alert ids (an alert about a patient is named by
    HMAC-SHA256(key, its natural key), never by the patient's id); the same key gives the same
    ids for the same facts, so keep it per store. `shared`: the scan's intermediates
    (`graph.shared.build_shared`), built here when not given. Raises ValueError for an empty key.
    """
    if not key:
        raise ValueError("detect needs a non-empty key for opaque alert ids")
    shared = shared or build_shared(tables, graph, settings.network.patient_max)
    return combine([run(tables, graph, shared, settings, key) for run in DETECTORS.values()])
