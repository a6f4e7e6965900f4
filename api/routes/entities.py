"""Entities: attributes, risk, alerts, communities, centrality; and their neighbourhood."""
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from contract.vocab import ENTITY_TYPES, node_id
from cases.views import entity_extras
from runs import results

from ..deps import Audit, HeavyUser, HubDegree, ResultsDep, RunQuery
from ..errors import responses

router = APIRouter(prefix="/entities", tags=["entities"])

EntityType = Literal[ENTITY_TYPES]


@router.get("/{entity_type}/{entity_id}", response_model=dict[str, Any], responses=responses(401, 404, 409, 422, 503))
async def get_entity(entity_type: EntityType, entity_id: str, reader: ResultsDep, audit: Audit, run: RunQuery = None):
    """An entity's attributes, risk score and reasons, alerts (with its role), communities and centrality."""
    await reader.ready(run)                             # the view built off the event loop
    with reader.reading(run) as (run_id, source):       # the current run: from memory
        found = results.entity(source, entity_type, entity_id)
    audit("entities.get", audit.node(node_id(entity_type, entity_id)), run_id)
    return {"run_id": run_id, **found}


@router.get("/{entity_type}/{entity_id}/neighbourhood", response_model=dict[str, Any],
            responses=responses(401, 404, 409, 422, 429, 503))
def get_neighbourhood(entity_type: EntityType, entity_id: str, reader: ResultsDep, _: HeavyUser, audit: Audit,
                      depth: Annotated[int, Query(ge=1, le=3)] = 1,
                      max_nodes: Annotated[int, Query(ge=2, le=2000)] = 200,
                      hub_degree: HubDegree = 500,
                      run: RunQuery = None):
    """The ego network up to `depth` hops as nodes and edges, strongest links first, capped at
    `max_nodes`; hubs are shown but not expanded (`hub: true`); `truncated` says if the cap cut."""
    run_id, body, counts = reader.heavy(run, "neighbourhood", node_id(entity_type, entity_id), depth, max_nodes,
                                        hub_degree)
    audit("entities.neighbourhood", audit.node(node_id(entity_type, entity_id)), run_id, counts["nodes"])
    return Response(body, media_type="application/json")      # encoded by the worker


@router.get("/{entity_type}/{entity_id}/profile", response_model=dict[str, Any],
            responses=responses(401, 404, 409, 422, 503))
def get_profile(entity_type: EntityType, entity_id: str, reader: ResultsDep, audit: Audit, run: RunQuery = None):
    """What an investigator weighs an entity by: its billing profile against its peers' medians
    (providers: patients, lines, patient-days and euros, in all and per patient), the cases naming
    it, and its risk score in every run that was current."""
    run_id, cur = reader.cursor(run)
    try:
        results.entity(cur, entity_type, entity_id)       # 404 for an unknown entity
    finally:
        cur.close()
    found = entity_extras(reader.store, entity_type, entity_id, run_id)
    audit("entities.profile", audit.node(node_id(entity_type, entity_id)), run_id)
    return {"run_id": run_id, "entity_type": entity_type, "entity_id": entity_id, **found}
