"""Cases: list with filters, open, read, change (with If-Match), notes, decisions, the case file,
indicators, the actions catalogue and Excel-friendly exports. Viewers read; analysts and admins
work cases. Every read and change is written to the audit log; every change is also in the
case's own history."""
import re
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response
from fastapi.responses import HTMLResponse

from cases.actions import catalogue
from cases.export import csv_bytes
from cases.kpis import KPI_COLUMNS, kpis, rows
from cases.report import render
from cases.store import FILTER_MAX, LIST_COLUMNS, REGION_MAX, REGION_PATTERN, STATUSES, Actor, CaseStore
from cases.views import case_view
from contract.tables import MAX_COUNT
from contract.vocab import PATTERNS
from runs.audit import audit, case_target

from ..deps import AnalystUser, CurrentUser, Offset, StoreDep
from ..errors import responses
from ..models import VERSION, CaseCreate, CaseUpdate, DecisionCreate, DecisionUpdate, NoteCreate

router = APIRouter(prefix="/cases", tags=["cases"])

CSV = {200: {"content": {"text/csv": {}}, "description": "UTF-8 with a byte order mark"}}
Sep = Annotated[Literal[",", ";"], Query(description="the CSV separator; `;` also writes decimal commas")]
IfMatch = Annotated[str, Header(alias="If-Match", pattern=VERSION, description='the case\'s ETag from GET, e.g. "3"')]
CaseId = Annotated[str, Path(max_length=40, description="e.g. C-00001")]


def filters(status: Literal[STATUSES] | None = None,
            assignee: Annotated[str | None, Query(max_length=FILTER_MAX)] = None,
            pattern: Literal[PATTERNS] | None = None,
            region: Annotated[str | None, Query(max_length=REGION_MAX, pattern=REGION_PATTERN,
                                                description="a postcode prefix of a provider or centre, e.g. 69")] = None,
            profession: Annotated[str | None, Query(max_length=FILTER_MAX,
                                                    description="a provider kind or specialty, e.g. dentist")] = None):
    return {"status": status, "assignee": assignee, "pattern": pattern, "region": region, "profession": profession}


Filters = Annotated[dict, Depends(filters)]


def _actor(who) -> Actor:
    return Actor(who.name, who.role)


def _version(if_match: str | None, required: bool, case_id: str) -> int | None:
    """The version an If-Match header names (`"3"`, `W/"3"` or `3`), or 428 when it is required
    and missing."""
    if if_match is None:
        if required:
            raise HTTPException(428, f"this change needs an If-Match header with the version of case {case_id} "
                                     f"you read: send back the ETag that GET /api/v1/cases/{case_id} answered")
        return None
    return int(re.match(VERSION, if_match).group(1))     # the header's pattern was checked


def _case(response: Response, case: dict) -> dict:
    response.headers["ETag"] = f'"{case["version"]}"'
    return case


@router.get("", response_model=dict[str, Any], responses=responses(401, 422))
def list_cases(store: StoreDep, who: CurrentUser, given: Filters,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Offset = 0):
    """Cases, newest first, filtered by status, assignee, pattern (of one of its alerts), region and
    profession."""
    data, total = CaseStore(store).list(**given, limit=limit, offset=offset)
    audit(store, who.name, who.role, "cases.list", "cases")
    return {"data": data, "count": total}


@router.get("/export.csv", response_class=Response, responses={**CSV, **responses(401, 422)})
def export_cases(store: StoreDep, who: CurrentUser, given: Filters, sep: Sep = ","):
    """The filtered case list as a CSV file a spreadsheet opens as is (UTF-8 with a byte order
    mark; `sep=;` for a French or Belgian Excel, with decimal commas)."""
    data, _ = CaseStore(store).list(**given, limit=MAX_COUNT)
    audit(store, who.name, who.role, "cases.export", "cases")
    return Response(csv_bytes(LIST_COLUMNS, data, sep), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="cases.csv"'})


@router.get("/actions", response_model=dict[str, Any], responses=responses(401, 422))
def list_actions(store: StoreDep, _: CurrentUser):
    """The actions a decision may record: the store's catalogue (its `actions.toml`) or the shipped
    one, the INAMI SECM's and the Assurance Maladie's graduated actions, each with its source."""
    data = [asdict(a) for a in catalogue(store)]
    return {"data": data, "count": len(data)}


@router.get("/kpis", response_model=dict[str, Any], responses=responses(401, 422))
def get_kpis(store: StoreDep, _: CurrentUser, year: Annotated[int | None, Query(ge=1900, le=2200)] = None):
    """Indicators: cases by status and by assignee, cases opened per year, time to decision, and
    decisions with the amounts estimated, notified and recovered by year, action and profession."""
    return kpis(store, year)


@router.get("/kpis.csv", response_class=Response, responses={**CSV, **responses(401, 422)})
def get_kpis_csv(store: StoreDep, _: CurrentUser, year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
                 sep: Sep = ","):
    """The indicators as one long CSV table (year, indicator, status, assignee, action, profession,
    value), for a spreadsheet's pivot table."""
    return Response(csv_bytes(KPI_COLUMNS, rows(kpis(store, year)), sep), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="kpis.csv"'})


@router.post("", response_model=dict[str, Any], status_code=201, responses=responses(401, 403, 404, 409, 413, 422))
def open_case(body: CaseCreate, response: Response, store: StoreDep, who: AnalystUser):
    """Open a case on alerts (their entities come with them) or entities of a run (the current one
    by default). 409 when an alert is already in a case."""
    case = CaseStore(store).open(_actor(who), body.alerts, body.entities, body.title, body.assignee, body.note,
                                 body.run, body.opened_on)
    audit(store, who.name, who.role, "cases.open", case_target(store, case), case["run_id"])
    response.headers["Location"] = f"/api/v1/cases/{case['case_id']}"
    return _case(response, case)


@router.get("/{case_id}", response_model=dict[str, Any], responses=responses(401, 404))
def get_case(case_id: CaseId, response: Response, store: StoreDep, who: CurrentUser):
    """One case: status, qualification, assignee, alerts (with their first and last current runs and
    their score now), entities (patients counted), notes, decisions, history, and the impact
    measured by every scan since its first decision. Its ETag is its version."""
    case = case_view(store, case_id)
    audit(store, who.name, who.role, "cases.get", case_target(store, case))
    return _case(response, case)


@router.patch("/{case_id}", response_model=dict[str, Any], responses=responses(401, 403, 404, 409, 413, 422, 428))
def update_case(case_id: CaseId, body: CaseUpdate, response: Response, store: StoreDep, who: AnalystUser,
                if_match: IfMatch = None):
    """Change the status, assignee, qualification or title, with the If-Match header of the version
    you read: 409 when the case changed since (reload it), for a move its status does not allow,
    or for a qualification given to a case that is not (or does not become) confirmed."""
    case = CaseStore(store).update(case_id, _actor(who), _version(if_match, True, case_id), body.status, body.assignee,
                                   body.qualification, body.title)
    audit(store, who.name, who.role, "cases.update", case_target(store, case))
    return _case(response, case)


@router.post("/{case_id}/notes", response_model=dict[str, Any], status_code=201,
             responses=responses(401, 403, 404, 409, 413, 422))
def add_note(case_id: CaseId, body: NoteCreate, response: Response, store: StoreDep, who: AnalystUser,
             if_match: IfMatch = None):
    """Append a note (If-Match optional: notes never overwrite anything)."""
    case = CaseStore(store).note(case_id, _actor(who), body.text, _version(if_match, False, case_id))
    audit(store, who.name, who.role, "cases.note", case_target(store, case))
    return _case(response, case)


@router.post("/{case_id}/decisions", response_model=dict[str, Any], status_code=201,
             responses=responses(401, 403, 404, 409, 413, 422))
def add_decision(case_id: CaseId, body: DecisionCreate, response: Response, store: StoreDep, who: AnalystUser,
                 if_match: IfMatch = None):
    """Record a decision on a case in review or confirmed: an action of the catalogue, its date, a
    deadline, amounts. Every later scan measures its impact."""
    case = CaseStore(store).decide(case_id, _actor(who), body.action, body.decided_on, body.deadline,
                                   body.estimated_harm, body.overpayment_notified, body.recovered, body.note,
                                   _version(if_match, False, case_id))
    audit(store, who.name, who.role, "cases.decide", case_target(store, case))
    return _case(response, case)


@router.patch("/{case_id}/decisions/{decision_id}", response_model=dict[str, Any],
              responses=responses(401, 403, 404, 409, 413, 422, 428))
def update_decision(case_id: CaseId, decision_id: Annotated[int, Path(ge=1, le=MAX_COUNT)], body: DecisionUpdate,
                    response: Response, store: StoreDep, who: AnalystUser, if_match: IfMatch = None):
    """Change a decision's deadline or amounts (what is recovered comes later), with If-Match."""
    case = CaseStore(store).update_decision(case_id, decision_id, _actor(who), _version(if_match, True, case_id),
                                            body.deadline, body.estimated_harm, body.overpayment_notified, body.recovered)
    audit(store, who.name, who.role, "cases.update_decision", case_target(store, case))
    return _case(response, case)


@router.get("/{case_id}/report", response_class=Response, responses={
    200: {"content": {"text/html": {}}, "description": "the case file: one self-contained HTML page"},
    **responses(401, 404)})
def get_report(case_id: CaseId, store: StoreDep, who: CurrentUser):
    """The case file as one self-contained, printable HTML page: alerts and figures, a picture of
    the network, the peer comparison, decisions, impact, complete evidence (with CSV downloads),
    notes and history. Patients are counted, not named."""
    html = render(store, case_id)
    audit(store, who.name, who.role, "cases.report", case_target(store, CaseStore(store).get(case_id)))
    # the page needs nothing but its own inline styles: nothing else may load or run in it
    return HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

