"""Errors to HTTP, in one place: a `FraudnetError` raised anywhere below the routes becomes a
status and a `{"detail": …}` message worded for an HTTP client (no server path, process or
patient). Routes declare the statuses they can answer with `responses(...)`, so the OpenAPI page
says what the server returns.
"""
from __future__ import annotations

import duckdb
from fastapi import Request
from fastapi.responses import JSONResponse

from cases.store import REGION_PATTERN
from contract.errors import (AuditUnavailable, Busy, DatasetError, FraudnetError, Invalid, NoPublishedRun,
                             NotFound, NotReady, Refused, SettingsError, Stale, StoreUnwritable, Unreadable,
                             worded_alert, worded_patient)
from contract.vocab import NODE_ID_PATTERN

from .models import ACTION, NOT_BLANK, VERSION, Message

DESCRIPTIONS = {
    401: "no API key, or an unknown one",
    403: "the key's role does not allow this",
    404: "no such run, alert, entity, community or case; or no current run yet",
    408: "the request body did not arrive in time",
    409: "the run has no results in its state, a scan is running, the case changed since it was read (reload it), "
         "or the request conflicts with the state",
    413: "the request body is too large",
    422: "a parameter or the body is invalid; `detail` names it",
    428: "the change needs an If-Match header with the case's ETag (its version, from GET)",
    429: "too many heavy calls at once for this key",
    503: "the audit log cannot be written (reads are refused until it can), or the store cannot be written",
}


# a pattern a parameter must match, worded for a person (never the regular expression)
PATTERN_WORDS = {
    NOT_BLANK: "must not be blank",
    VERSION: "must be the version of case {case_id}, as the ETag of GET /api/v1/cases/{case_id} gives it: a "
             'number, quoted or not ("2", W/"2" or 2)',
    NODE_ID_PATTERN: "must be an entity as type:id, e.g. provider:10000000063",
    REGION_PATTERN: "must be a postcode prefix: letters and digits, e.g. 69",
    ACTION: "must be an action id of GET /api/v1/cases/actions (lower-case letters, digits and _)",
}


def validation_detail(errors: list[dict], path_params: dict | None = None) -> str:
    """A 422's detail from a request's validation errors (`RequestValidationError.errors()`),
    each naming where (`body parameter 'title'`) and what, in words: a body that is not JSON says
    where it breaks, a pattern is said in words (`PATTERN_WORDS`, filled with the request's
    `path_params`), not as its regular expression."""
    parts = []
    for e in errors:
        if e["type"] == "json_invalid":
            parts.append(f"the body is not valid JSON: {e.get('ctx', {}).get('error', 'cannot be read')} "
                         f"(at character {e['loc'][-1]})")
            continue
        loc = ".".join(str(x) for x in e["loc"][1:]) or str(e["loc"][0])
        msg = e["msg"]
        if e["type"] == "string_pattern_mismatch":
            msg = PATTERN_WORDS.get(e.get("ctx", {}).get("pattern"), "is not in the form expected (see /docs)") \
                .format(case_id=(path_params or {}).get("case_id", "…"))
        parts.append(f"{e['loc'][0]} parameter {loc!r}: {msg}")
    return "; ".join(parts)


def responses(*codes: int) -> dict:
    """OpenAPI `responses` for these statuses, each with the error shape."""
    return {c: {"model": Message, "description": DESCRIPTIONS[c]} for c in codes}


def status_and_detail(e: FraudnetError, run: str | None = None) -> tuple[int, str]:
    """The status and detail of an error; `run`, the run the request named (its `run` parameter),
    if any."""
    if isinstance(e, NoPublishedRun):
        return 404, "no current run yet"
    if isinstance(e, NotFound) and e.kind == "patient":      # never the id the request gave
        return 404, worded_patient(e.run_id or run)
    if isinstance(e, NotFound) and e.unsaid:                 # a patient-centred alert's id: nor this one
        return 404, worded_alert(e.key, e.run_id or run)
    if isinstance(e, NotFound):
        return 404, f"no {e.kind} {e.key!r}"
    if isinstance(e, Unreadable):
        return 409, f"{e}: see GET /api/v1/runs/{e.run_id}"
    if isinstance(e, NotReady):
        return 409, f"run {e.run_id} has no {e.wanted} (status {e.status})"
    if isinstance(e, Busy):
        return 409, "a scan is already running" + (f" (run {e.holder})" if e.holder else "")
    if isinstance(e, Refused):
        return 409, e.reason
    if isinstance(e, Stale):
        return 409, (f"{e.kind} {e.key} changed since you read it (it is at version {e.version}, you sent "
                     f"{e.expected}): reload it and apply your change again")
    if isinstance(e, Invalid):
        return 422, "; ".join(e.problems)
    if isinstance(e, SettingsError):
        return 422, "invalid settings: " + "; ".join(e.problems)
    if isinstance(e, DatasetError):
        return 422, f"{e.total} problem(s) in the dataset: " + "; ".join(str(p) for p in e.problems)
    if isinstance(e, AuditUnavailable):
        return 503, f"the audit log cannot be written ({e.reason}): reads of entity-level data are refused until it can"
    if isinstance(e, StoreUnwritable):
        return 503, f"{e}: nothing was started or changed"
    return 500, f"{type(e).__name__}"


async def handle(request: Request, exc: FraudnetError) -> JSONResponse:
    status, detail = status_and_detail(exc, request.query_params.get("run"))
    return JSONResponse(status_code=status, content={"detail": detail})


async def handle_damaged(request: Request, exc: Exception) -> JSONResponse:
    """What DuckDB raised reading a run's results (`runs.store.DAMAGED`: a block that fails its
    checksum) is the `Unreadable` of the run read: the one the request named, or the current one."""
    if isinstance(exc, duckdb.ProgrammingError):      # a query's mistake (binder, catalog, parser): a bug
        raise exc
    store = request.app.state.store
    asked = request.query_params.get("run") or request.path_params.get("run_id")
    run_id = asked if asked and asked != "current" else store.current()
    if run_id is None:
        raise exc
    return await handle(request, store.damaged(run_id, exc, current=asked in (None, "current")))
