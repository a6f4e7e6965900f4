"""The audit log of reads, for admins."""
from typing import Annotated, Any

from fastapi import APIRouter, Query

from runs.audit import read_audit

from ..deps import AdminUser, StoreDep
from ..errors import responses

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=dict[str, Any], responses=responses(401, 403, 422))
def list_audit(store: StoreDep, _: AdminUser,
               day: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0):
    """Who read which entity, alert, path or community, and when; newest first."""
    data, total = read_audit(store, day, limit, offset)
    return {"data": data, "count": total}
