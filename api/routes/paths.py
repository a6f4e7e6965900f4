"""Shortest paths between two entities, avoiding hubs."""
from typing import Annotated, Any

from fastapi import APIRouter, Query

from runs import results as explore
from runs.audit import audit
from ..deps import CurrentUser, ResultsDep

router = APIRouter(prefix="/paths", tags=["paths"])
NODE = r"^(provider|centre|legal_entity|person|patient):.+$"


@router.get("", response_model=dict[str, Any])
def get_paths(results: ResultsDep, who: CurrentUser,
              source: Annotated[str, Query(alias="from", pattern=NODE, description="type:id")],
              target: Annotated[str, Query(alias="to", pattern=NODE, description="type:id")],
              k: Annotated[int, Query(ge=1, le=10)] = 3,
              max_hops: Annotated[int, Query(ge=1, le=6)] = 4,
              hub_degree: Annotated[int, Query(ge=1)] = 500,
              run: Annotated[str | None, Query(description="a run id (default: the published run)")] = None):
    """Up to `k` shortest paths of at most `max_hops` links, never through a node of more than
    `hub_degree` links (the endpoints excepted); each path lists its nodes and edges."""
    run_id, cur = results.cursor(run)
    try:
        found = explore.paths(cur, source, target, k, max_hops, hub_degree)
    finally:
        cur.close()
    audit(results.store, who, "paths.get", f"{source} -> {target}")
    return {"run_id": run_id, **found}
