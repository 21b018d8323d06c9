"""Languages a visitor can ask an interpreter for, and an interpreter can cover.

ISO 639 codes, each named in the language itself so a visitor finds their own.  The
visitor's request travels encrypted as {"kind": "interpreter_request", "language": code};
an interpreter's languages are stored in clear on their account (docs/INTERPRETERS.md).
"""

from __future__ import annotations

INTERPRETER_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("ar", "العربية"),
    ("so", "Soomaali"),
    ("ti", "ትግርኛ"),
    ("am", "አማርኛ"),
    ("om", "Afaan Oromoo"),
    ("fa", "فارسی"),
    ("prs", "دری"),
    ("ps", "پښتو"),
    ("ku", "Kurdî"),
    ("ur", "اردو"),
    ("tr", "Türkçe"),
    ("uk", "Українська"),
    ("ru", "Русский"),
    ("pl", "Polski"),
    ("lt", "Lietuvių"),
    ("ro", "Română"),
    ("bg", "Български"),
    ("hu", "Magyar"),
    ("bs", "Bosanski / Hrvatski / Srpski"),
    ("hr", "Hrvatski"),
    ("sr", "Српски / Srpski"),
    ("sq", "Shqip"),
    ("de", "Deutsch"),
    ("it", "Italiano"),
    ("pt", "Português"),
    ("es", "Español"),
    ("fr", "Français"),
    ("sw", "Kiswahili"),
    ("rw", "Ikinyarwanda"),
    ("th", "ไทย"),
    ("vi", "Tiếng Việt"),
    ("my", "မြန်မာဘာသာ"),
    ("ne", "नेपाली"),
    ("ta", "தமிழ்"),
    ("zh", "中文"),
    ("en", "English"),
    ("se", "Davvisámegiella"),
    ("nsl", "Norsk tegnspråk"),
    ("swl", "Svenskt teckenspråk"),
)

LANGUAGE_NAMES: dict[str, str] = dict(INTERPRETER_LANGUAGES)


def is_interpreter_language(code: str) -> bool:
    """Whether `code` is one of the codes above (exactly, lower case)."""
    return code in LANGUAGE_NAMES
