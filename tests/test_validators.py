"""Each validator's JSON Schema is never stricter than its check: whatever the server accepts,
the published schema allows (so the OpenAPI description and the fuzzers built from it are
truthful).  Values come from the schema itself and from tricky text and JSON of every type."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import server.routes
from server.jsonapi import ApiRoute
from server.realtime.frames import SCHEMAS, frame_schema, parse
from server.validators import Field, Invalid
from tests.fuzzing import from_schema

EXAMPLES = int(os.environ.get("TRYGG_FUZZ_EXAMPLES", "60"))
TRICKY = st.sampled_from(
    [
        "",
        "²",
        "٩",
        "\x00",
        "\ud800",
        "é",
        "2027-03-29T07:00:00Z",
        "2027-03-29t07:00:00z",
        "9999-12-31T23:59:59-14:00",
        "2199-12-31T23:59:59-23:59",
        "2027-02-30",
        "0" * 32,
        "A" * 43,
        "AAAA==",
        "00000000-0000-0000-0000-000000000000",
        "ABCD-EFGH",
        "-",
    ]
)


def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | TRICKY,
    containers,
    max_leaves=6,
)


def every_field() -> dict[str, Field[Any]]:
    """Every validator the JSON API and the websocket use, by where it is used."""
    found: dict[str, Field[Any]] = {}
    for module in pkgutil.iter_modules(server.routes.__path__):
        routes = importlib.import_module(f"server.routes.{module.name}").routes
        for route in routes:
            if not isinstance(route, ApiRoute):
                continue
            spec = route.operation
            places = {**(spec.body.fields if spec.body else {}), **spec.query, **spec.path}
            for name, check in places.items():
                found[f"{route.method} {route.path} {name}"] = check
    for kind, fields in SCHEMAS.items():
        for name, check in fields.items():
            found[f"frame {kind} {name}"] = check
    return found


FIELDS = every_field()


@pytest.mark.parametrize("place", sorted(FIELDS))
def test_what_a_check_accepts_its_schema_allows(place: str) -> None:
    field = FIELDS[place]
    validator = jsonschema.Draft202012Validator(field.schema, format_checker=jsonschema.FormatChecker())

    @settings(max_examples=EXAMPLES, derandomize=True, suppress_health_check=list(HealthCheck), deadline=None)
    @given(st.one_of(from_schema(field.schema), JSON, TRICKY, st.text(max_size=50)))
    def accepted_values_are_allowed(value: Any) -> None:
        try:
            field(value)
        except Invalid:
            return
        assert validator.is_valid(value), f"{place}: {value!r} is accepted but not allowed by {field.schema}"

    accepted_values_are_allowed()


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_frames_the_schema_generates_parse(kind: str) -> None:
    """The frame schema the websocket fuzzer generates from is exactly what the server parses."""

    @settings(max_examples=max(10, EXAMPLES // 3), derandomize=True, deadline=None)
    @given(from_schema(frame_schema(kind)))
    def valid_frames_parse(frame: dict[str, Any]) -> None:
        assert parse(json.dumps(frame)).type == kind

    valid_frames_parse()
