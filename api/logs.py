"""Logging for `fraudnet serve`: uvicorn's own configuration, with patient identifiers masked.

The access log prints request paths, and a path may name a patient (`/entities/patient/P123`,
`?entity=patient:P123`, `?from=patient:P123`): every log record passes through
`MaskPatients`, which replaces what follows `patient/` or `patient:` (also URL-encoded) by `***`.
"""
from __future__ import annotations

import copy
import logging
import re

PATIENT = re.compile(r"(patient(?:/|:|%3A|%3a))[^/?&#\s\"']+")


def mask(text: str) -> str:
    return PATIENT.sub(r"\1***", text)


class MaskPatients(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        return True


def log_config() -> dict:
    from uvicorn.config import LOGGING_CONFIG
    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["filters"] = {"mask_patients": {"()": "api.logs.MaskPatients"}}
    for handler in cfg["handlers"].values():
        handler["filters"] = ["mask_patients"]
    return cfg
