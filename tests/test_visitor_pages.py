"""The visitor's chat and resume pages over HTTP: languages, no cookies, the strings for the scripts."""

from __future__ import annotations

import html
import json
import re

import pytest

from tests.conftest import Client

STRINGS_RE = re.compile(r'<script type="application/json" id="strings">(.*?)</script>', re.S)


def page_strings(text: str) -> dict[str, str]:
    match = STRINGS_RE.search(text)
    assert match, "no strings block"
    value = json.loads(html.unescape(match.group(1)))
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize(
    ("language", "heading", "waiting"),
    [
        ("en", "Anonymous chat", "We cannot estimate the wait right now."),
        ("nb", "Anonym chat", "Vi kan ikke anslå ventetiden akkurat nå."),
        ("sv", "Anonym chatt", "Vi kan inte uppskatta väntetiden just nu."),
    ],
)
def test_chat_page(client: Client, language: str, heading: str, waiting: str) -> None:
    response = client.get(f"/{language}/chat")
    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.text
    assert heading in response.text
    assert 'id="quick-exit"' in response.text
    assert page_strings(response.text)["queue_no_estimate"] == waiting
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    # Scripts only from files with integrity; the strings block is data, never code.
    assert "js/visitor/chat." in response.text
    for tag in re.findall(r"<script[^>]*>", response.text):
        assert 'type="importmap"' in tag or 'type="application/json"' in tag or "integrity=" in tag, tag
    # Nothing asks who the visitor is.
    for field in ('name="name"', "email", 'type="tel"'):
        assert field not in response.text


@pytest.mark.parametrize("language", ["en", "nb", "sv"])
def test_resume_page(client: Client, language: str) -> None:
    response = client.get(f"/{language}/resume")
    assert response.status_code == 200
    assert 'id="code"' in response.text
    assert 'autocomplete="off"' in response.text
    strings = page_strings(response.text)
    assert set(strings) >= {"code_length", "code_character", "code_checksum", "code_not_found"}
    assert "set-cookie" not in response.headers


def test_strings_block_cannot_break_out_of_its_element(client: Client) -> None:
    text = client.get("/en/chat").text
    block = STRINGS_RE.search(text)
    assert block
    assert "<" not in block.group(1)


@pytest.mark.parametrize("path", ["/xx/chat", "/de/resume"])
def test_unknown_language_is_404(client: Client, path: str) -> None:
    assert client.get(path).status_code == 404


def test_front_page_links_to_the_chat(client: Client) -> None:
    assert 'href="/sv/chat"' in client.get("/sv/").text
    assert 'href="/sv/resume"' in client.get("/sv/chat").text
