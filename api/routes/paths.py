"""Shortest paths between two entities, avoiding hubs."""
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from contract.vocab import NODE_ID_PATTERN

from ..deps import Audit, HeavyUser, HubDegree, ResultsDep, RunQuery
from ..errors import responses

router = APIRouter(prefix="/paths", tags=["paths"])
NODE = NODE_ID_PATTERN


@router.get("", response_model=dict[str, Any], responses=responses(401, 404, 409, 422, 429, 503))
def get_paths(reader: ResultsDep, _: HeavyUser, audit: Audit,
              source: Annotated[str, Query(alias="from", pattern=NODE, description="type:id")],
              target: Annotated[str, Query(alias="to", pattern=NODE, description="type:id")],
              k: Annotated[int, Query(ge=1, le=10)] = 3,
              max_hops: Annotated[int, Query(ge=1, le=6)] = 4,
              hub_degree: HubDegree = 500,
              run: RunQuery = None):
    """Up to `k` shortest paths of at most `max_hops` links, never through a node of more than
    `hub_degree` links (the endpoints excepted); each path lists its nodes and edges."""
    run_id, body, counts = reader.heavy(run, "paths", source, target, k, max_hops, hub_degree)
    audit("paths.get", f"{audit.node(source)} -> {audit.node(target)}", run_id, counts["paths"])
    return Response(body, media_type="application/json")      # encoded by the worker
