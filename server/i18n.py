"""Interface languages: Norwegian Bokmål, Swedish and English.

English text is the message id; Bokmål and Swedish come from gettext catalogs
(server/locale/<lang>/LC_MESSAGES/messages.po) read once at start.  The
language of a request is chosen in `negotiate` and never stored in a cookie.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from server.settings import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_NAMES = {"nb": "Norsk bokmål", "sv": "Svenska", "en": "English"}
HTML_LANG = {"nb": "nb", "sv": "sv", "en": "en"}
# Accept-Language tags that mean one of our languages (Norwegian of any kind reads Bokmål).
_TAG_TO_LANGUAGE = {"nb": "nb", "no": "nb", "nn": "nb", "sv": "sv", "en": "en"}


@cache
def catalog(language: str) -> Mapping[str, str]:
    """Translated strings for `language` (empty for English, the source language)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not path.exists():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in po if m.id and m.string and not m.fuzzy}


@dataclass(frozen=True)
class Translator:
    """Translates English message ids into one language."""

    language: str

    def gettext(self, message: str, **values: object) -> str:
        text = catalog(self.language).get(message, message)
        return text % values if values else text

    __call__ = gettext


def negotiate(accept_language: str | None, default: str) -> str:
    """The best of our languages for an Accept-Language header, else `default`."""
    best: tuple[float, str] | None = None
    for position, item in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        language = _TAG_TO_LANGUAGE.get(primary)
        if language is None:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if quality <= 0:
            continue
        # Higher quality wins; on a tie the earlier entry wins.
        key = (quality - position * 1e-6, language)
        if best is None or key[0] > best[0]:
            best = key
    return best[1] if best else default


def is_language(value: str) -> bool:
    return value in LANGUAGES


def N_(message: str) -> str:
    """Mark an English message id for extraction; it is translated where it is shown."""
    return message


# Words shown through _(...) with a variable argument, declared here so they are extracted.
ROLE_NAMES = (N_("admin"), N_("counsellor"), N_("interpreter"))
