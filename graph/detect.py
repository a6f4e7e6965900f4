"""Every detector, run in a fixed order on the same tables: the one entry point of detection."""
from __future__ import annotations

from typing import Callable, Mapping

import pyarrow as pa

from .double_billing import detect_double_billing
from .findings import Findings, combine
from .model import Graph
from .settings import ScanSettings

Detector = Callable[[Mapping[str, pa.Table], Graph, ScanSettings], Findings]

DETECTORS: dict[str, Detector] = {
    "double_billing": lambda t, g, s: detect_double_billing(t, s.double_billing),
}


def detect(tables: Mapping[str, pa.Table], graph: Graph, settings: ScanSettings) -> Findings:
    """All alerts of every detector, highest score first within each pattern."""
    return combine([run(tables, graph, settings) for run in DETECTORS.values()])
