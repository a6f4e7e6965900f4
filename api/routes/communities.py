"""Communities ranked by risk, and one community with its members and the alerts inside."""
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from runs import results

from ..deps import Audit, CurrentUser, Offset, ResultsDep, RunQuery
from ..errors import responses

router = APIRouter(prefix="/communities", tags=["communities"])


@router.get("", response_model=dict[str, Any], responses=responses(401, 404, 409, 422))
def list_communities(reader: ResultsDep, _: CurrentUser,
                     graph: Annotated[Literal["sp", "rx"] | None, Query(description="sp: shared patients, rx: prescription flows")] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     offset: Offset = 0, run: RunQuery = None):
    """Communities, riskiest first: size, density, flagged members, risk (figures only, no
    entity: not audited)."""
    run_id, cur = reader.cursor(run)
    try:
        data, total = results.communities(cur, graph, limit, offset)
    finally:
        cur.close()
    return {"run_id": run_id, "data": data, "count": total}


@router.get("/{community_id}", response_model=dict[str, Any], responses=responses(401, 404, 409, 503))
def get_community(community_id: str, reader: ResultsDep, audit: Audit, run: RunQuery = None):
    """One community: its figures, members with their risk, and the alerts naming a member."""
    run_id, cur = reader.cursor(run)
    try:
        found = results.community(cur, community_id)
    finally:
        cur.close()
    audit("communities.get", f"community:{community_id}", run_id, len(found["members"]))
    return {"run_id": run_id, **found}
