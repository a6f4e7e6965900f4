"""Every detector, run in a fixed order on the same tables: the one entry point of detection."""
from __future__ import annotations

from typing import Callable, Mapping

import pyarrow as pa

from .dense_block import detect_dense_blocks
from .doctor_shopping import detect_doctor_shopping
from .double_billing import detect_double_billing
from .entity_network import detect_entity_networks
from .findings import Findings, combine
from .model import Graph
from .peer_outlier import detect_peer_outliers
from .pharmacy_collusion import detect_pharmacy_collusion
from .settings import ScanSettings

Detector = Callable[[Mapping[str, pa.Table], Graph, ScanSettings], Findings]

DETECTORS: dict[str, Detector] = {
    "double_billing": lambda t, g, s: detect_double_billing(t, s.double_billing),
    "pharmacy_collusion": lambda t, g, s: detect_pharmacy_collusion(t, s.pharmacy_collusion),
    "doctor_shopping": lambda t, g, s: detect_doctor_shopping(t, s.doctor_shopping),
    "dense_block": lambda t, g, s: detect_dense_blocks(t, g, s.dense_block, s.network.patient_max),
    "entity_network": lambda t, g, s: detect_entity_networks(t, g, s.entity_network),
    "peer_outlier": lambda t, g, s: detect_peer_outliers(t, s.peer_outlier),
}


def detect(tables: Mapping[str, pa.Table], graph: Graph, settings: ScanSettings) -> Findings:
    """All alerts of every detector, highest score first within each pattern."""
    return combine([run(tables, graph, settings) for run in DETECTORS.values()])
