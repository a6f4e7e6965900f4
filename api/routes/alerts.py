"""Alerts of a run: filtered lists and one alert with its entities and evidence."""
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query

from contract.vocab import NODE_ID_PATTERN, PATTERNS, split_node_id
from cases.views import alert_content, alert_marks
from runs import results

from ..deps import Audit, Offset, ResultsDep, RunQuery
from ..errors import responses
from ..models import AlertPublic, AlertsPublic

router = APIRouter(prefix="/alerts", tags=["alerts"])

Pattern = Literal[PATTERNS]
ENTITY = NODE_ID_PATTERN


@router.get("", response_model=AlertsPublic, response_model_exclude_none=True,
            responses=responses(401, 404, 409, 422, 503))
async def list_alerts(reader: ResultsDep, audit: Audit,
                      pattern: Pattern | None = None,
                      min_score: Annotated[float | None, Query(description="lowest score kept (a finite number)",
                                                               allow_inf_nan=False)] = None,
                      entity: Annotated[str | None, Query(description="only alerts naming this entity, as type:id",
                                                          pattern=ENTITY)] = None,
                      run: RunQuery = None,
                      sort: Annotated[Literal["rank", "-score", "score"], Query(
                          description="rank: by rank within each pattern (each pattern's best first); "
                                      "-score/score: by score (comparable within one pattern only)")] = "rank",
                      limit: Annotated[int, Query(ge=1, le=500)] = 50,
                      offset: Offset = 0) -> AlertsPublic:
    """Alerts with filters, in the one order of alerts (by rank within their pattern)."""
    await reader.ready(run)                             # the view built off the event loop
    with reader.reading(run) as (run_id, source):       # the current run: from memory
        rows, total = results.alerts(source, pattern, min_score, split_node_id(entity) if entity else None,
                                     sort, limit, offset)
    given = {"pattern": pattern, "min_score": min_score, "entity": entity and audit.node(entity), "sort": sort,
             "limit": limit,
             "offset": offset}
    audit("alerts.list", "alerts?" + urlencode({k: v for k, v in given.items() if v is not None}), run_id, len(rows))
    return AlertsPublic(count=total, data=[AlertPublic(run_id=run_id, **r) for r in rows])


@router.get("/{alert_id}", response_model=AlertPublic, responses=responses(401, 404, 409, 503))
async def get_alert(alert_id: str, reader: ResultsDep, audit: Audit, run: RunQuery = None) -> AlertPublic:
    """One alert as every face shows it (`cases.views.alert_content`): its entities but patients
    (with roles, standing, excess euros), its patients counted, its statistic against peers, its
    evidence (paths, claim ids, figures) and number of evidence lines, its first and last current
    runs, and its case."""
    await reader.ready(run)                             # the view built off the event loop
    with reader.reading(run) as (run_id, source):       # the current run: from memory
        found = alert_content(source, alert_id)
    audit("alerts.get", f"alert:{alert_id}", run_id)
    return AlertPublic(run_id=run_id, **found, **alert_marks(reader.store, alert_id))
