"""The change report of a run, POSTed as JSON to a webhook (a scheduled job's `webhook`).

The body names no patient: alert ids are opaque where an alert is about a patient, summaries
never name one, and patients are left out of the risk risers. A webhook must be `https://`,
except on the loopback interface (a relay on the same host). Logs name the webhook by its
scheme and host only (a URL may carry a token).
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

log = logging.getLogger("fraudnet.webhook")
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def check_url(url: str) -> str:
    """`url` if it may receive change reports; raises ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return url
    raise ValueError("a webhook must be https:// (plain http:// only to the loopback interface)")


def where(url: str) -> str:
    """The URL without path, query or credentials: what logs and messages may show."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def body(report: dict, status: str = "succeeded", warnings: list[str] = ()) -> dict:
    """The webhook's JSON body from a change report (see module docstring), with the run's
    `status` and `warnings` (`scheduler.schedule.run_warnings`; an empty list when it has none)."""
    out = {k: v for k, v in report.items() if k != "risk_risers"}
    out["status"] = status
    out["warnings"] = list(warnings)
    out["risk_risers"] = [r for r in report.get("risk_risers", []) if r.get("entity_type") != "patient"]
    return out


def notify(url: str, payload: dict, timeout: float) -> str:
    """POST `payload`; returns `delivered (status)` or `failed: reason`. A dead webhook fails
    the notification, never the scan."""
    request = urllib.request.Request(check_url(url), data=json.dumps(payload, default=str).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return f"delivered ({r.status})"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        log.warning("webhook %s failed: %s", where(url), type(e).__name__)
        return f"failed: {reason}"
