"""Languages: negotiation, complete catalogs, and the front page in Bokmål, Swedish and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from server.i18n import COUNTS, Plural, Translator, catalog, load_catalog, negotiate, ngettext
from tests.conftest import Client

ROOT = Path(__file__).parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# A number written straight before one of these words is a count, whatever its placeholder is called.
COUNTED_WORDS = re.compile(
    r"%\(\w+\)[sd] (seconds?|minutes?|hours?|days?|weeks?|months?|years?|times|people|persons|"
    r"members?|staff|messages?|conversations?|bookings?|appointments?|codes?|entries|replies|attempts?)\b"
)


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


def extracted() -> list[str | tuple[str, str]]:
    """Every message the pages and the server show, as `pybabel extract -F babel.cfg -k N_`
    finds them: plain ids, and (singular, plural) for `ngettext` (one of Babel's defaults)."""
    method_map = [("server/**.py", "python"), ("server/templates/**.html", "jinja2")]
    keywords = {"_": None, "N_": None, "ngettext": (1, 2)}
    found = extract_from_dir(str(ROOT), method_map, keywords=keywords)
    messages: list[str | tuple[str, str]] = []
    for _, _, message, _, _ in found:
        if isinstance(message, str):
            messages.append(message)
        elif isinstance(message, tuple) and len(message) == 2 and all(isinstance(m, str) for m in message):
            messages.append((str(message[0]), str(message[1])))
    return messages


def extracted_messages() -> set[str]:
    return {m for m in extracted() if isinstance(m, str)}


def extracted_plurals() -> set[tuple[str, str]]:
    return {m for m in extracted() if isinstance(m, tuple)}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("language", ["nb", "sv"])
def test_catalog_is_complete_with_matching_placeholders(language: str) -> None:
    messages = extracted_messages()
    assert len(messages) > 50
    translations = catalog(language)
    missing = sorted(m for m in messages if m not in translations)
    assert not missing, f"untranslated in {language}: {missing}"
    for message in messages:
        assert placeholders(message) == placeholders(translations[message]), message


def test_every_count_is_a_plural_message() -> None:
    """A number of things is shown through ngettext, never as a plain message ("1 minutes")."""
    plain_counts = sorted(
        message
        for message in extracted_messages()
        if placeholders(message) & COUNTS
        or COUNTED_WORDS.search(message)
        or re.search(r"%(\(\w+\))?d", message)
    )
    assert not plain_counts, f"use ngettext(singular, plural) for these: {plain_counts}"
    plurals = extracted_plurals()
    assert len(plurals) >= 10
    for singular, plural in plurals:
        assert placeholders(singular) == placeholders(plural), plural
        assert len(placeholders(plural) & COUNTS) <= 1, f"which number chooses the form? {plural}"
        assert Plural(singular, plural).count in COUNTS


@pytest.mark.parametrize("language", ["nb", "sv"])
def test_plural_messages_are_translated_in_every_form(language: str) -> None:
    book = load_catalog(language)
    for singular, plural in extracted_plurals():
        forms = book.plurals.get(singular)
        assert forms is not None, f"untranslated in {language}: {plural}"
        assert len(forms) == 2, plural  # nplurals=2 for nb and sv
        for form in forms:
            assert placeholders(form) == placeholders(plural), form


WAIT = ngettext("Estimated wait: about %(minutes)s minute.", "Estimated wait: about %(minutes)s minutes.")


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("en", "Estimated wait: about 1 minute.", "Estimated wait: about 2 minutes."),
        ("nb", "Anslått ventetid: omtrent 1 minutt.", "Anslått ventetid: omtrent 2 minutter."),
        ("sv", "Beräknad väntetid: ungefär 1 minut.", "Beräknad väntetid: ungefär 2 minuter."),
    ],
)
def test_plural_forms_on_the_server_and_for_scripts(language: str, one: str, two: str) -> None:
    translate = Translator(language)
    assert translate(WAIT, minutes=1) == one
    assert translate(WAIT, minutes=2) == two
    assert translate(WAIT, minutes=0) == two.replace("2", "0")
    # What a page hands its scripts: the forms by CLDR category (Intl.PluralRules in the browser).
    forms = translate.for_script(WAIT)
    assert forms == {
        "count": "minutes",
        "lang": language,
        "forms": {"other": two.replace("2", "%(minutes)s"), "one": one.replace("1", "%(minutes)s")},
    }
    with pytest.raises(TypeError):
        translate(WAIT)


def test_throttled_answers_say_minute_or_minutes() -> None:
    from server.errors import ThrottledError
    from server.security.limits import TOO_MANY_FROM_DEVICE

    assert ThrottledError(TOO_MANY_FROM_DEVICE, 30).values == {"minutes": 1}
    assert Translator("nb")(TOO_MANY_FROM_DEVICE, minutes=1).endswith("om 1 minutt.")
    assert Translator("en")(TOO_MANY_FROM_DEVICE, minutes=15).endswith("in 15 minutes.")


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
