"""The JSON API's routes: each declares what it reads, and that declaration is the only schema.

An `ApiRoute` is a Starlette route with an `Operation`: who may call it, the JSON body it
takes (a `Body` of validators from server/validators.py), its query and path parameters.
Handlers read their input with `read_json(request)` and `read_query(request)`, which
validate against the operation of the route that matched; server/openapi.py publishes the
same declarations as the OpenAPI description (GET /api/openapi.json) the fuzzers run from.

JSON is read strictly (RFC 8259): UTF-8 only, no byte order mark, no duplicate names, no
NaN or Infinity, finite numbers, at most `MAX_DEPTH` levels of nesting (checked before the
parser recurses), no lone surrogates.  The websocket's frames go through the same `loads`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from server.errors import PublicError
from server.i18n import N_
from server.validators import Field, Invalid

BAD_JSON = N_("The request could not be understood.")
UNSUPPORTED = N_("This kind of content is not accepted here.")
MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 40
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
OPERATION_KEY = "trygg.operation"


# --- strict JSON -----------------------------------------------------------------------------


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON strictly; ValueError (with a reason for developers) for anything else."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw  # UnicodeDecodeError is a ValueError
    if text.startswith("\ufeff"):
        raise ValueError("no byte order mark")
    _check_depth(text, max_depth)
    data = json.loads(
        text,
        object_pairs_hook=_unique_names,
        parse_constant=_no_constant,
        parse_float=_finite_float,
        parse_int=_short_int,
    )
    if _SURROGATE_ESCAPE.search(text):
        _no_lone_surrogates(data)
    return data


def _check_depth(text: str, max_depth: int) -> None:
    """Refuse nesting deeper than `max_depth` without recursing: every pass removes the innermost
    empty pairs of a skeleton of the brackets outside strings (C-speed regular expressions)."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(max_depth):
        reduced = _EMPTY_PAIR.sub("", skeleton)
        if reduced == skeleton:
            break
        skeleton = reduced
    if skeleton:
        raise ValueError(f"nested deeper than {max_depth} levels (or unbalanced)")


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate names in an object")
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def _short_int(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS:
        raise ValueError("number out of range")
    return int(text)


def _no_lone_surrogates(value: Any) -> None:
    """Escaped lone surrogates (\\ud800) make strings no encoder accepts: refuse them."""
    if isinstance(value, str):
        value.encode("utf-8")  # UnicodeEncodeError is a ValueError
    elif isinstance(value, dict):
        for key, item in value.items():
            key.encode("utf-8")
            _no_lone_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            _no_lone_surrogates(item)


def is_json_content_type(header: str) -> bool:
    """`application/json`, with no charset or charset=utf-8 (RFC 8259: JSON is UTF-8)."""
    media_type, *params = (part.strip().lower() for part in header.split(";"))
    if media_type != "application/json":
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return True


# --- what an operation reads -----------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """A JSON object with exactly the `required` fields and any of the `optional` ones.

    `may_be_empty`: the body may be left out altogether (an optional precondition).
    """

    required: Mapping[str, Field[Any]]
    optional: Mapping[str, Field[Any]] = field(default_factory=dict)
    may_be_empty: bool = False

    @property
    def fields(self) -> dict[str, Field[Any]]:
        return {**self.required, **self.optional}

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the body (what the OpenAPI description publishes)."""
        return {
            "type": "object",
            "properties": {name: check.schema for name, check in self.fields.items()},
            "required": list(self.required),
            "additionalProperties": False,
        }

    def check(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not set(self.required) <= set(data) <= set(self.fields):
            raise Invalid(f"expected an object with {', '.join(self.required) or 'no'} fields")
        return {name: check(data[name]) for name, check in self.fields.items() if name in data}


@dataclass(frozen=True)
class Operation:
    """What one JSON route reads and who may call it (`auth`: names of security schemes in
    server/openapi.py; any one of them will do; empty for everyone)."""

    auth: tuple[str, ...] = ()
    body: Body | None = None
    query: Mapping[str, Field[Any]] = field(default_factory=dict)
    path: Mapping[str, Field[Any]] = field(default_factory=dict)
    responses: Mapping[int, str] = field(default_factory=dict)
    content_types: tuple[str, ...] = ("application/json",)
    free_body: dict[str, Any] | None = None  # the schema of a body the handler reads itself
    produces: str = "application/json"


class ApiRoute(Route):
    """A route of the JSON API: a Starlette route with its `Operation`."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        method: str,
        operation: Operation | None = None,
    ) -> None:
        super().__init__(path, endpoint, methods=[method])
        self.method = method
        self.operation = operation or Operation()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[OPERATION_KEY] = self.operation
        await super().handle(scope, receive, send)


def operation_of(request: Request) -> Operation:
    found = request.scope.get(OPERATION_KEY)
    assert isinstance(found, Operation), "read_json and read_query are for ApiRoute handlers"
    return found


async def read_json(request: Request) -> dict[str, Any]:
    """The body as its route's `Body` declares it, each field validated; else 4xx."""
    body = operation_of(request).body
    assert body is not None, "this route declares no body"
    raw = await request.body()
    if not raw and body.may_be_empty:
        return {}
    if not is_json_content_type(request.headers.get("content-type", "")):
        raise PublicError(415, UNSUPPORTED, code="unsupported_media_type")
    try:
        data = loads(raw)
    except ValueError:
        raise PublicError(400, BAD_JSON, code="bad_json") from None
    return body.check(data)  # validators raise a 422


def read_query(request: Request) -> dict[str, Any]:
    """The query parameters as the route declares them (each at most once); else 422."""
    declared = operation_of(request).query
    query = request.query_params
    if set(query) - set(declared) or any(len(query.getlist(name)) > 1 for name in query):
        raise PublicError(422, BAD_JSON, code="bad_query")
    try:
        return {name: check(query[name]) for name, check in declared.items() if name in query}
    except Invalid:
        raise PublicError(422, BAD_JSON, code="bad_query") from None
