"""Schemathesis drives the live server from its own OpenAPI description (GET /api/openapi.json):
every JSON operation, with data that fits the schema and data that does not, as the staff
member, visitor or booking holder it asks for (and as the wrong one).

The assertions: never a 5xx, always an answer (no dropped connection), schema-invalid data
refused with a 4xx, and nothing in the database changed by any refused request.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, not_a_server_error
from schemathesis.core.parameters import ParameterLocation

from server import openapi
from tests.fuzzing import (
    EXAMPLES,
    RAW_BODY_LIST,
    STAFF,
    Site,
    changed,
    configured_app,
    fuzz_settings,
    seeded,
)

# Operations that end what later examples need (the visitor's chat): run last.
ENDING = {("DELETE", "/api/visitor/conversation"), ("POST", "/api/visitor/conversation/end")}


def described_cases() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) for every operation the app describes (negative data only where the
    operation takes any)."""
    document = openapi.document(configured_app().routes)
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            found.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation["parameters"] or "requestBody" in operation:
                found.append((method.upper(), path, GenerationMode.NEGATIVE))
    return sorted(found, key=lambda case: ((case[0], case[1]) in ENDING, case))


CASES = described_cases()


@pytest.fixture
def site(fuzz_site: Site) -> Site:
    return fuzz_site


@pytest.fixture(scope="module")
def schema(fuzz_site: Site) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_site.url}/api/openapi.json")


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    """One keep-alive session: a request that drops its connection fails the next one too."""
    with requests.Session() as http:
        yield http


@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=[f"{m} {p} {g.value}" for m, p, g in CASES])
def test_no_operation_gives_a_5xx_or_changes_anything_when_refusing(
    site: Site, schema: Any, session: requests.Session, method: str, path: str, mode: GenerationMode
) -> None:
    operation = schema[path][method]
    security = {name for requirement in operation.definition.raw.get("security", []) for name in requirement}
    ending = (method, path) in ENDING

    @seeded
    @fuzz_settings(EXAMPLES)
    @given(
        case=operation.as_strategy(generation_mode=mode),
        who=st.sampled_from(STAFF),
        real_ids=st.booleans(),
    )
    def exercise(case: Any, who: str, real_ids: bool) -> None:
        if ending:
            site.fresh_chat()
        if real_ids and "reference" in (case.path_parameters or {}):
            case.path_parameters["reference"] = site.reference  # past the 404, into the handler
        before = site.db.snapshot()
        response = case.call(
            base_url=site.url, session=session, headers=_credentials(site, case, security, who)
        )
        case.validate_response(response, checks=[not_a_server_error, negative_data_rejection])
        if 400 <= response.status_code < 500:
            after = site.db.snapshot()
            assert not changed(before, after), (
                f"refused ({response.status_code}) yet changed {changed(before, after)}"
            )

    exercise()


def test_raw_bodies_get_a_4xx_and_the_connection_stays_open(site: Site, schema: Any) -> None:
    """Bodies no generator makes from a schema (50,000 levels of nesting, one field nested 20,000
    deep, UTF-16, a byte order mark, NaN, 1e999, a lone surrogate, ...) to every operation that
    reads JSON, all over one keep-alive connection: each gets its 4xx, and the connection
    survives (a RecursionError used to drop it)."""
    connection = http.client.HTTPConnection(site.url.removeprefix("http://"), timeout=30)
    try:
        for path, item in schema.raw_schema["paths"].items():
            for method, operation in item.items():
                if "requestBody" not in operation:
                    continue
                security = {name for requirement in operation["security"] for name in requirement}
                headers = {**_credentials(site, None, security, "anna"), "content-type": "application/json"}
                for body in RAW_BODY_LIST:
                    before = site.db.snapshot()
                    target = path.replace("{reference}", site.reference)
                    connection.request(method.upper(), target, body=body, headers=headers)
                    answer = connection.getresponse()
                    answer.read()
                    assert 400 <= answer.status < 500, (method, path, body[:40], answer.status)
                    assert answer.getheader("connection") != "close", (method, path, body[:40])
                    assert not changed(before, site.db.snapshot()), (method, path, body[:40])
    finally:
        connection.close()


def _credentials(site: Site, case: Any, security: set[str], who: str) -> dict[str, str]:
    """What the operation asks for: a staff session with its CSRF token, a visitor's or a holder's
    bearer token (unless Schemathesis made the credentials themselves invalid on purpose).
    Always our own Origin: a cross-site request is refused before anything else."""
    headers = {"origin": site.url}
    meta = case.meta if case is not None else None
    if "staff" in security and not (meta and meta.is_negative_at(ParameterLocation.COOKIE)):
        headers.update(site.staff_headers[who])
    if not (meta and meta.is_negative_at(ParameterLocation.HEADER)):
        if "visitor" in security:
            headers["authorization"] = f"Bearer {site.chat.token}"
        if "holder" in security:
            headers["authorization"] = f"Bearer {site.holder_token}"
    return headers
