"""Alerts of a run: filtered lists and one alert with its entities and evidence."""
import json
from typing import Annotated, Literal

from contract.vocab import PATTERNS
from fastapi import APIRouter, HTTPException, Query

from runs.audit import audit
from ..deps import CurrentUser, ResultsDep
from ..models import AlertPublic, AlertsPublic

router = APIRouter(prefix="/alerts", tags=["alerts"])

Pattern = Literal[PATTERNS]


@router.get("", response_model=AlertsPublic, response_model_exclude_none=True)
async def list_alerts(results: ResultsDep, who: CurrentUser,
                pattern: Pattern | None = None,
                min_score: Annotated[float | None, Query(description="lowest score kept")] = None,
                entity: Annotated[str | None, Query(description="only alerts naming this entity, as type:id",
                                                    pattern=r"^(provider|centre|legal_entity|person|patient):.+$")] = None,
                run: Annotated[str | None, Query(description="a run id (default: the published run)")] = None,
                sort: Literal["score", "-score"] = "-score",
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> AlertsPublic:
    """Alerts with filters, by score (highest first unless `sort=score`)."""
    run_id, cur = results.cursor(run)
    try:
        etype, _, eid = entity.partition(":") if entity else (None, None, None)
        where = """($pattern IS NULL OR pattern = $pattern) AND ($min IS NULL OR score >= $min)
                   AND ($etype IS NULL OR alert_id IN (SELECT alert_id FROM alert_entities
                                                        WHERE entity_type = $etype AND entity_id = $eid))"""
        params = {"pattern": pattern, "min": min_score, "etype": etype, "eid": eid}
        total = cur.execute(f"SELECT count(*) FROM alerts WHERE {where}", params).fetchall()[0][0]
        order = "score DESC, alert_id" if sort == "-score" else "score ASC, alert_id"
        rows = cur.execute(f"SELECT alert_id, pattern, score, summary FROM alerts WHERE {where} "
                           f"ORDER BY {order} LIMIT $limit OFFSET $offset",
                           {**params, "limit": limit, "offset": offset}).fetchall()
    finally:
        cur.close()
    if entity:
        audit(results.store, who, "alerts.list", entity)
    return AlertsPublic(count=total, data=[
        AlertPublic(alert_id=a, run_id=run_id, pattern=p, score=s, summary=m) for a, p, s, m in rows])


@router.get("/{alert_id}", response_model=AlertPublic)
async def get_alert(alert_id: str, results: ResultsDep, who: CurrentUser,
              run: Annotated[str | None, Query(description="a run id (default: the published run)")] = None
              ) -> AlertPublic:
    """One alert with its entities (and their roles) and its evidence (paths, claim ids, figures)."""
    run_id, cur = results.cursor(run)
    try:
        row = cur.execute("SELECT pattern, score, summary, evidence FROM alerts WHERE alert_id = $id",
                          {"id": alert_id}).fetchall()
        if not row:
            raise HTTPException(404, f"no alert {alert_id!r} in run {run_id}")
        ents = cur.execute("SELECT entity_type, entity_id, role FROM alert_entities WHERE alert_id = $id "
                           "ORDER BY entity_type, entity_id, role", {"id": alert_id}).fetchall()
    finally:
        cur.close()
    audit(results.store, who, "alerts.get", f"alert:{alert_id}")
    pattern, score, summary, evidence = row[0]
    return AlertPublic(alert_id=alert_id, run_id=run_id, pattern=pattern, score=score, summary=summary,
                       evidence=json.loads(evidence),
                       entities=[{"entity_type": t, "entity_id": i, "role": r} for t, i, r in ents])
