"""The OpenAPI 3.1 description of the JSON API, generated from the routes' own declarations.

Nothing here is written by hand per endpoint: every `ApiRoute` (server/jsonapi.py) contributes
its path, method, security, parameters and body, whose schemas are the validators' own
(server/validators.py).  Mounted routers are walked with their prefixes, so routes that later
live under a prefix (a centre's `/c/{centre}/…`) appear with it.  Served at GET /api/openapi.json.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.convertors import Convertor, FloatConvertor, IntegerConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Mount

from server.jsonapi import ApiRoute, Operation

PATH_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]+)?}")
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "staff": {
        "type": "apiKey",
        "in": "cookie",
        "name": "trygg-session",
        "description": "A staff session cookie (`__Host-trygg-session` over HTTPS). Unsafe methods "
        "also need the `X-CSRF-Token` header and a same-origin `Origin` (docs/API.md).",
    },
    "visitor": {
        "type": "http",
        "scheme": "bearer",
        "description": "A visitor's conversation token (from creating or resuming a conversation).",
    },
    "holder": {
        "type": "http",
        "scheme": "bearer",
        "description": "A booking holder token `h.<id>.<expiry>.<mac>` (from /api/booking/holders, "
        "/access or /from-chat).",
    },
}
COMMON_RESPONSES = {
    400: "Not JSON (or not UTF-8, nested too deep, a duplicate name, NaN or Infinity)",
    413: "The body is too large",
    415: "Not application/json (charset absent or utf-8)",
    422: "A field, query or path parameter is not valid",
    429: "Too many attempts; Retry-After says how long to wait",
}


def document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every ApiRoute under `routes`."""
    paths: dict[str, dict[str, Any]] = {}
    for prefix, route in api_routes(routes):
        path = prefix + PATH_PARAMETER.sub(r"{\1}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, prefix, path)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trygg JSON API",
            "version": _version(),
            "description": "Generated from the server's own validators; see docs/API.md.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": SECURITY_SCHEMES,
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }


def api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, ApiRoute]]:
    """Every ApiRoute with the path prefix of the mounts it sits in."""
    for route in routes:
        if isinstance(route, ApiRoute):
            yield prefix, route
        elif isinstance(route, Mount):
            yield from api_routes(route.routes, prefix + route.path)


def _operation(route: ApiRoute, prefix: str, path: str) -> dict[str, Any]:
    spec: Operation = route.operation
    doc = (route.endpoint.__doc__ or "").strip()
    result: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{route.method.lower()}{path}").strip("_"),
        "summary": doc.split("\n", 1)[0] or route.name.replace("_", " "),
        "parameters": [*_path_parameters(route, prefix), *_query_parameters(spec)],
        "responses": _responses(route, spec),
    }
    if spec.auth:
        result["security"] = [{name: []} if name else {} for name in spec.auth]
    else:
        result["security"] = []
    body_schema = spec.body.schema() if spec.body else spec.free_body
    if body_schema is not None:
        result["requestBody"] = {
            "required": not (spec.body and spec.body.may_be_empty),
            "content": {media: {"schema": body_schema} for media in spec.content_types},
        }
    return result


def _path_parameters(route: ApiRoute, prefix: str) -> list[dict[str, Any]]:
    convertors = dict(route.param_convertors)
    names = [*PATH_PARAMETER.findall(prefix), *convertors]
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": route.operation.path[name].schema
            if name in route.operation.path
            else _convertor_schema(convertors.get(name)),
        }
        for name in names
    ]


def _convertor_schema(convertor: Convertor[Any] | None) -> dict[str, Any]:
    if isinstance(convertor, UUIDConvertor):
        return {"type": "string", "format": "uuid"}
    if isinstance(convertor, IntegerConvertor):
        return {"type": "integer", "minimum": 0}
    if isinstance(convertor, FloatConvertor):
        return {"type": "number", "minimum": 0}
    return {"type": "string", "pattern": "^[^/]+$"}


def _query_parameters(spec: Operation) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "query", "required": False, "schema": check.schema}
        for name, check in spec.query.items()
    ]


def _responses(route: ApiRoute, spec: Operation) -> dict[str, Any]:
    success = min((code for code in spec.responses if code < 300), default=200)
    answers: dict[str, Any] = {}
    if success == 204:
        answers["204"] = {"description": spec.responses[204]}
    else:
        answers[str(success)] = {
            "description": spec.responses.get(success, "OK"),
            "content": {spec.produces: {}},
        }
    refusals = dict(COMMON_RESPONSES)
    if any(spec.auth):
        refusals[401] = "No valid credentials" if "" not in spec.auth else "Credentials that are not valid"
        refusals[403] = "Not allowed for this account or origin"
    if spec.path:
        refusals[404] = "Nothing with this reference or id"
    refusals.update({code: text for code, text in spec.responses.items() if code >= 300})
    if not (spec.body or spec.free_body):
        for code in (400, 413, 415):
            refusals.pop(code, None)
    for code, text in sorted(refusals.items()):
        answers[str(code)] = {
            "description": text or HTTPStatus(code).phrase,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return answers


def _version() -> str:
    try:
        return version("trygg")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0"
