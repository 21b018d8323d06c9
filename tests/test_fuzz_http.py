"""Schemathesis drives the live server from its own OpenAPI description (GET /api/openapi.json):
every JSON operation, with data that fits the schema and data that does not, as the staff
member, visitor or booking holder it asks for (and as the wrong one).

The assertions: never a 5xx, always an answer (no dropped connection), schema-invalid data
refused with a 4xx, and nothing in the database changed by any refused request.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
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
from server.app import create_app
from server.settings import load_settings
from tests.conftest import app_env
from tests.fuzzing import EXAMPLES, Site, changed, fuzz_settings, live_site, postgres_database, seeded
from tests.services import need_postgres

STAFF = ("admin", "anna", "ivan")
# Operations that end what later examples need (the visitor's chat): run last.
ENDING = {("DELETE", "/api/visitor/conversation"), ("POST", "/api/visitor/conversation/end")}


def described_cases() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) for every operation the app describes (negative data only where the
    operation takes any), read from a configuration-only app."""
    root = Path(os.environ.get("TMPDIR", "/tmp"))
    env = app_env(root, "sqlite+aiosqlite:///:memory:", TRYGG_SECRET_KEY="fuzz" * 16)
    document = openapi.document(create_app(load_settings(env)).routes)
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            found.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation["parameters"] or "requestBody" in operation:
                found.append((method.upper(), path, GenerationMode.NEGATIVE))
    return sorted(found, key=lambda case: ((case[0], case[1]) in ENDING, case))


CASES = described_cases()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with ExitStack() as stack:
        database = None
        if request.param == "postgresql":
            database = stack.enter_context(postgres_database(need_postgres()))
        yield stack.enter_context(live_site(tmp_path_factory.mktemp("fuzz-http"), database))


@pytest.fixture(scope="module")
def schema(site: Site) -> Any:
    return schemathesis.openapi.from_url(f"{site.url}/api/openapi.json")


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


def _credentials(site: Site, case: Any, security: set[str], who: str) -> dict[str, str]:
    """What the operation asks for: a staff session with its CSRF token, a visitor's or a holder's
    bearer token (unless Schemathesis made the credentials themselves invalid on purpose).
    Always our own Origin: a cross-site request is refused before anything else."""
    headers = {"origin": site.url}
    meta = case.meta
    if "staff" in security and not (meta and meta.is_negative_at(ParameterLocation.COOKIE)):
        headers.update(site.staff_headers[who])
    if not (meta and meta.is_negative_at(ParameterLocation.HEADER)):
        if "visitor" in security:
            headers["authorization"] = f"Bearer {site.chat.token}"
        if "holder" in security:
            headers["authorization"] = f"Bearer {site.holder_token}"
    return headers
