"""Reading JSON request bodies with the field validators of server/validators.py (as the websocket does)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from server.errors import PublicError
from server.i18n import N_

BAD_JSON = N_("The request could not be understood.")


async def read_json(
    request: Request,
    schema: dict[str, Callable[[Any], Any]],
    optional: dict[str, Callable[[Any], Any]] | None = None,
) -> dict[str, Any]:
    """The body as a JSON object with exactly the fields of `schema` (and any of `optional`),
    each validated; else 4xx."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise PublicError(
            415, N_("This kind of content is not accepted here."), code="unsupported_media_type"
        )
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise PublicError(400, BAD_JSON, code="bad_json") from None
    optional = optional or {}
    if not isinstance(data, dict) or not set(schema) <= set(data) <= set(schema) | set(optional):
        raise PublicError(422, BAD_JSON, code="bad_fields")
    return {
        name: check(data[name]) for name, check in {**schema, **optional}.items() if name in data
    }  # validators raise a 422
