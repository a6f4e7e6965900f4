"""Shortest paths between two entities, avoiding hubs."""
from typing import Annotated, Any

from fastapi import APIRouter, Query

from contract.vocab import NODE_ID_PATTERN
from runs import results
from runs.audit import audit

from ..deps import CurrentUser, ResultsDep, RunQuery
from ..errors import responses

router = APIRouter(prefix="/paths", tags=["paths"])
NODE = NODE_ID_PATTERN


@router.get("", response_model=dict[str, Any], responses=responses(401, 404, 409, 422, 503))
def get_paths(reader: ResultsDep, who: CurrentUser,
              source: Annotated[str, Query(alias="from", pattern=NODE, description="type:id")],
              target: Annotated[str, Query(alias="to", pattern=NODE, description="type:id")],
              k: Annotated[int, Query(ge=1, le=10)] = 3,
              max_hops: Annotated[int, Query(ge=1, le=6)] = 4,
              hub_degree: Annotated[int, Query(ge=1)] = 500,
              run: RunQuery = None):
    """Up to `k` shortest paths of at most `max_hops` links, never through a node of more than
    `hub_degree` links (the endpoints excepted); each path lists its nodes and edges."""
    run_id, cur = reader.cursor(run)
    try:
        found = results.paths(cur, source, target, k, max_hops, hub_degree)
    finally:
        cur.close()
    audit(reader.store, who, "paths.get", f"{source} -> {target}")
    return {"run_id": run_id, **found}
