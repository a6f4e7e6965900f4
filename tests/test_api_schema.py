"""Schemathesis: generated requests against the app's own OpenAPI schema, on a real store.

Every operation's request strategy is run through Hypothesis, and each response is validated
(no server error, status code, content type and body documented in the schema).
"""
import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from api.auth import parse_keys
from runs.store import Store

from .conftest import examples

ADMIN = "admin-key-0123456789abcdef"


@pytest.fixture(scope="module")
def api_schema(region, tmp_path_factory):
    root = tmp_path_factory.mktemp("schema") / "store"
    shutil.copytree(region["store"].root, root)
    app = create_app(Store(root), parse_keys(f"ops:admin:{ADMIN}", "test"))   # no data root: POST /runs is 409
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_api_conforms_to_its_openapi_schema(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 29 + 3      # the API's, and the Neo4j Browser's style, guide and favourites
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=examples(25), deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            # some rules no JSON schema states, so schema-valid requests may be refused there, as
            # documented: POST /runs (settings' start not after their end: 422), opening a case (its
            # opened_on not in the future: 422), a decision (its action in the store's own catalogue, a
            # deadline where the action needs one and not before its date, a date neither in the future
            # nor before the case was opened, amounts ≥ 0, no more recovered than notified: 422), and
            # the changes that need an If-Match header (428 without one)
            refusing = {("/api/v1/runs", "post"), ("/api/v1/cases", "post"), ("/api/v1/cases/{case_id}/decisions", "post"),
                        ("/api/v1/cases/{case_id}", "patch"), ("/api/v1/cases/{case_id}/decisions/{decision_id}", "patch")}
            skip = [positive_data_acceptance] if (operation.path, operation.method) in refusing else []
            case.call_and_validate(headers={"X-API-Key": ADMIN}, excluded_checks=skip)
        try:
            check()
        except Exception as e:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {e}") from e


def test_not_blank_means_the_same_to_the_server_and_to_a_client_of_the_schema():
    """`\\S` differs between the server's regex (U+0085 is a space) and ECMAScript's, which
    OpenAPI clients use (U+0085 is not, U+FEFF is): a note of U+0085 alone was schema-valid and
    refused. Both characters are written out, so every string gets one answer."""
    import re

    from api.models import NOT_BLANK, NoteCreate as NoteIn
    for blank in ("\u0085", "\ufeff", " \t", "\u3000"):
        assert not re.search(NOT_BLANK, blank)
        with pytest.raises(ValueError):
            NoteIn(text=blank)
    assert NoteIn(text=" a ").text == " a "
