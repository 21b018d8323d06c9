"""The OpenAPI description at /api/openapi.json: generated from the routes, complete, valid."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from starlette.routing import Mount, Route

from server import openapi
from server.jsonapi import ApiRoute, Operation
from tests.conftest import Client

JSON_OUTSIDE_API = {"/healthz", "/csp-report"}  # JSON routes whose paths are not under /api/


def app_routes(client: Client) -> list[tuple[str, Route]]:
    found = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                walk(route.routes, prefix + route.path)
            elif isinstance(route, Route):
                found.append((prefix, route))

    walk(client.app.routes, "")  # type: ignore[attr-defined]
    return found


@pytest.fixture
def document(client: Client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def test_every_json_route_is_described_and_nothing_else(client: Client, document: dict[str, Any]) -> None:
    described = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    served = set()
    for prefix, route in app_routes(client):
        full = openapi.PATH_PARAMETER.sub(r"{\1}", prefix + route.path)
        if full.startswith("/api/") or full in JSON_OUTSIDE_API:
            assert isinstance(route, ApiRoute), f"{full} is a JSON route: declare it as an ApiRoute"
        if isinstance(route, ApiRoute):
            served.add((route.method, full))
    assert described == served
    assert ("GET", "/api/openapi.json") in described
    assert len(described) >= 30


def test_the_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    operation_ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            assert operation["responses"], (method, path)
            templated = set(openapi.PATH_PARAMETER.findall(path))
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert templated == declared, (method, path)
            for requirement in operation["security"]:
                assert set(requirement) <= set(document["components"]["securitySchemes"])
            schemas = [p["schema"] for p in operation["parameters"]]
            for media in operation.get("requestBody", {}).get("content", {}).values():
                schemas.append(media["schema"])
            for schema in schemas:
                jsonschema.Draft202012Validator.check_schema(schema)
    assert len(operation_ids) == len(set(operation_ids))


def test_bodies_are_the_validators_schemas(document: dict[str, Any]) -> None:
    """One source of truth: the published body is exactly what read_json checks."""
    book = document["paths"]["/api/booking/bookings"]["post"]
    schema = book["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["start", "kind", "payload", "fuller_invite", "same_counsellor"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["start"]["format"] == "date-time"
    assert book["security"] == [{"holder": []}]
    slots = document["paths"]["/api/booking/slots"]["get"]
    assert {p["name"] for p in slots["parameters"]} == {"from", "days", "same_counsellor"}
    assert slots["security"] == [{}, {"holder": []}]
    cancel = document["paths"]["/api/booking/bookings/{reference}/cancel"]["post"]
    assert cancel["requestBody"]["required"] is False


def test_mounted_routes_keep_their_prefix() -> None:
    """Issue 16: routes under a centre's prefix are described with it (and its parameter)."""

    async def endpoint(request: Any) -> Any:
        raise AssertionError("not called")

    routes = [Mount("/c/{centre}", routes=[ApiRoute("/api/booking/options", endpoint, "GET", Operation())])]
    doc = openapi.document(routes)
    (parameter,) = doc["paths"]["/c/{centre}/api/booking/options"]["get"]["parameters"]
    assert parameter["name"] == "centre"
    assert parameter["in"] == "path"
