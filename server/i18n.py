"""Interface languages: Norwegian Bokmål, Swedish and English.

English text is the message id; Bokmål and Swedish come from gettext catalogs
(server/locale/<lang>/LC_MESSAGES/messages.po) read once at start.  The
language of a request is chosen in `negotiate` and never stored in a cookie.

A message that shows a number is a plural message, `ngettext(singular, plural)`, whose
form is chosen by the number when it is shown (the placeholder named in COUNTS), by the
catalog's Plural-Forms rule on the server, and by the same forms keyed by CLDR plural
category (`Intl.PluralRules`) in the browser (web/static/js/shared/strings.js).
"""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

from server.settings import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_NAMES = {"nb": "Norsk bokmål", "sv": "Svenska", "en": "English"}
HTML_LANG = {"nb": "nb", "sv": "sv", "en": "en"}
# Accept-Language tags that mean one of our languages (Norwegian of any kind reads Bokmål).
_TAG_TO_LANGUAGE = {"nb": "nb", "no": "nb", "nn": "nb", "sv": "sv", "en": "en"}


# Placeholder names that hold a number of things: a message with one of them must be a plural
# message (tests/test_i18n.py fails otherwise), and its value chooses the form.
COUNTS = frozenset({"count", "seconds", "minutes", "hours", "days", "weeks"})
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Plural:
    """A message that shows a number: the English singular and plural (the message ids)."""

    singular: str
    plural: str

    @property
    def count(self) -> str:
        """The value whose number chooses the form: the message's one placeholder named in
        COUNTS, or `count` for a message that does not show the number ("Keep the bookings")."""
        found = [name for name in _PLACEHOLDER.findall(self.plural) if name in COUNTS]
        if len(found) > 1:
            raise ValueError(f"which number chooses the form of {self.plural!r}?")
        return str(found[0]) if found else "count"


def ngettext(singular: str, plural: str) -> Plural:
    """Mark a plural message for extraction (Babel's `ngettext` keyword); like Django's
    ngettext_lazy, the form is chosen where it is shown, by the number among its values."""
    return Plural(singular, plural)


@dataclass(frozen=True)
class Catalog:
    """One language's translations: plain messages, plural messages, and its plural rule."""

    messages: Mapping[str, str]
    plurals: Mapping[str, tuple[str, ...]]  # keyed by the English singular
    plural_index: Callable[[int], int]


def _english_index(n: int) -> int:
    return 0 if n == 1 else 1


@cache
def load_catalog(language: str) -> Catalog:
    """The catalog of `language` (empty for English, the source language)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not path.exists():
        return Catalog({}, {}, _english_index)
    with path.open("rb") as handle:
        po = read_po(handle, locale=language)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for m in po:
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, tuple):
            forms = tuple(str(form) for form in m.string or ())
            if all(forms):
                plurals[str(m.id[0])] = forms
        elif m.string:
            messages[str(m.id)] = str(m.string)
    return Catalog(messages, plurals, _gettext.c2py(po.plural_expr))


def catalog(language: str) -> Mapping[str, str]:
    """Translated plain messages for `language` (empty for English, the source language)."""
    return load_catalog(language).messages


@dataclass(frozen=True)
class Translator:
    """Translates English message ids (and plural messages) into one language."""

    language: str

    def gettext(self, message: str | Plural, **values: object) -> str:
        """The message in this language, with its placeholders filled in; a plural message
        takes the form its count (one of `values`) asks for."""
        if isinstance(message, Plural):
            count = values.get(message.count)
            if not isinstance(count, int):
                raise TypeError(f"{message.plural!r} is shown with a whole number as {message.count}")
            return self._form(message, count) % values
        text = catalog(self.language).get(message, message)
        return text % values if values else text

    __call__ = gettext

    def _form(self, message: Plural, n: int) -> str:
        book = load_catalog(self.language)
        forms = book.plurals.get(message.singular)
        if forms is None:  # English, or not translated: the English forms
            return message.singular if _english_index(n) == 0 else message.plural
        return forms[min(book.plural_index(n), len(forms) - 1)]

    def forms(self, message: Plural) -> dict[str, object]:
        """Every form of a plural message, for a script to choose from with Intl.PluralRules:
        `{"count": placeholder, "lang": …, "forms": {CLDR category: text}}`."""
        rule = Locale.parse(self.language).plural_form
        by_category: dict[str, str] = {}
        for n in range(200):  # the smallest whole number of each category stands for it
            category = rule(n)
            by_category.setdefault(category, self._form(message, n))
        return {"count": message.count, "lang": self.language, "forms": by_category}

    def for_script(self, message: str | Plural) -> str | dict[str, object]:
        """What a page hands its scripts: the text, or a plural message's forms."""
        return self.forms(message) if isinstance(message, Plural) else self.gettext(message)

    def in_template(self, message: str | Plural, **values: object) -> str | dict[str, object]:
        """`_` in templates: `_(ngettext(…))` alone gives the forms for a page's JSON block."""
        if isinstance(message, Plural) and message.count not in values:
            return self.forms(message)
        return self.gettext(message, **values)


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
