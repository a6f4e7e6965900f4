"""Logging for `fraudnet serve`: uvicorn's configuration, with fraudnet's access log instead of
uvicorn's.

What the server writes: uvicorn's start and stop lines; one access line per request from
`api.guard` (logger `fraudnet.access`: client address, method, **route template**, status,
milliseconds, key name — never the path or the query string as sent, so nothing a URL carries,
encoded or not, reaches the log); unexpected errors with their stack and type, never their
message (`fraudnet.api`). uvicorn's own access log, which writes the raw path and query, is off
(`api.server`). An exception that reaches uvicorn's error log anyway is written without its
message (`WithholdMessages`).
"""
from __future__ import annotations

import copy
import logging

from contract.errors import trace


class WithholdMessages(logging.Filter):
    """Replaces a record's exception by its stack and type, without its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = trace(record.exc_info[1])
            record.exc_info = None
        return True


def log_config() -> dict:
    """uvicorn's logging configuration, every handler filtered by `WithholdMessages`, and the
    `fraudnet` loggers written by its default handler."""
    from uvicorn.config import LOGGING_CONFIG
    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["filters"] = {"withhold_messages": {"()": "api.logs.WithholdMessages"}}
    for handler in cfg["handlers"].values():
        handler["filters"] = ["withhold_messages"]
    cfg["loggers"]["fraudnet"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return cfg
