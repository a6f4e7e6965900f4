"""The audit log of reads, for admins."""
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query

from contract.errors import AuditUnavailable
from contract.vocab import NODE_ID_PATTERN
from runs.audit import read_audit

from ..deps import AdminUser, Audit, Offset, StoreDep
from ..errors import responses

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=dict[str, Any], responses=responses(401, 403, 422))
def list_audit(store: StoreDep, _: AdminUser, audit: Audit,
               day: Annotated[date | None, Query(description="YYYY-MM-DD (UTC)")] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Offset = 0,
               target: Annotated[str | None, Query(pattern=NODE_ID_PATTERN, description=(
                   "only the reads of this entity, as type:id (a patient by its id: the log names it "
                   "by its keyed pseudonym, patient:~…)"))] = None):
    """Who read which entity, alert, list, file, path or community, and when; newest first.
    `damaged` counts lines that could not be read (cut by a crash), skipped. Reading the log is
    itself audited when it can be; it is served even when the log cannot be written (a full
    disk), so admins can always see it."""
    named = audit.node(target) if target else None
    day = day.isoformat() if day else None      # a date of the calendar: 2026-13-01 is refused (422)
    data, total, damaged = read_audit(store, day, limit, offset, named)
    try:
        audit("audit.read", "audit?" + urlencode({"day": day or "", **({"target": named} if named else {})}), None,
              len(data))
    except AuditUnavailable:
        pass
    return {"data": data, "count": total, "damaged": damaged}
