"""Languages: negotiation, complete catalogs, and the front page in Bokmål, Swedish and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from server.i18n import catalog, negotiate
from tests.conftest import Client

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("nb-NO,nb;q=0.9,en;q=0.5", "nb"),
        ("no", "nb"),
        ("nn-NO", "nb"),
        ("sv-SE,sv;q=0.9", "sv"),
        ("en-US,en;q=0.9", "en"),
        ("de-DE,de;q=0.9", "nb"),
        ("de;q=1, sv;q=0.5, en;q=0.8", "en"),
        ("en;q=0, sv", "sv"),
        ("*", "nb"),
        ("", "nb"),
        ("sv;q=abc, en", "en"),
        (None, "nb"),
        ("x" * 5000, "nb"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header, "nb") == expected


def extracted_messages() -> set[str]:
    method_map = [("server/**.py", "python"), ("server/templates/**.html", "jinja2")]
    found = extract_from_dir(str(ROOT), method_map, keywords={"_": None, "N_": None})
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


@pytest.mark.parametrize("language", ["nb", "sv"])
def test_catalog_is_complete_with_matching_placeholders(language: str) -> None:
    messages = extracted_messages()
    assert len(messages) > 50
    translations = catalog(language)
    missing = sorted(m for m in messages if m not in translations)
    assert not missing, f"untranslated in {language}: {missing}"
    for message in messages:
        assert set(re.findall(r"%\(\w+\)s", message)) == set(
            re.findall(r"%\(\w+\)s", translations[message])
        ), message


@pytest.mark.parametrize(
    ("path", "headers", "html_lang", "texts"),
    [
        (
            "/",
            {"accept-language": "nb"},
            "nb",
            [
                "Start anonym chat",
                "Bestill en samtale",
                "Åpningstider",
                "taushetsplikt",
                "tolk",
                "ambulanse 113",
            ],
        ),
        (
            "/",
            {"accept-language": "sv-SE"},
            "sv",
            ["Starta anonym chatt", "Boka ett samtal", "Öppettider", "tystnadsplikt", "tolk", "112"],
        ),
        (
            "/",
            {"accept-language": "en"},
            "en",
            [
                "Start anonymous chat",
                "Book a conversation",
                "Opening hours",
                "confidentiality",
                "interpreter",
                "ambulance 113",
            ],
        ),
        ("/sv/", {"accept-language": "nb"}, "sv", ["Starta anonym chatt", "Lämna sidan snabbt"]),
        ("/nb/", {}, "nb", ["Forlat siden raskt", "mandag"]),
        ("/en/", {"accept-language": "sv"}, "en", ["Leave this site quickly", "Monday"]),
    ],
)
def test_front_page_languages(
    client: Client, path: str, headers: dict[str, str], html_lang: str, texts: list[str]
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert f'<html lang="{html_lang}">' in response.text
    for text in texts:
        assert text.lower() in response.text.lower(), text
    for language in ("nb", "sv", "en"):  # switchable, by URL: no cookie remembers anyone
        assert f'href="/{language}/"' in response.text
    assert "set-cookie" not in response.headers


def test_front_page_content(client: Client) -> None:
    page = client.get("/en/").text
    assert 'href="/en/chat"' in page
    assert 'href="/en/book"' in page
    assert "Norway: police 112, ambulance 113" in page
    assert "Sweden: 112" in page
    assert "Free." in page
    assert "informal conversation" in page


def test_staff_language_preference(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    token = client.csrf("/staff/")
    assert (
        client.post(
            "/staff/language", data={"csrf_token": token, "language": "sv"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert "Hej, Ada" in client.get("/staff/").text
