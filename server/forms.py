"""Reading submitted forms safely: size-bounded fields, clear errors, never a 500."""

from __future__ import annotations

import re

from starlette.datastructures import FormData
from starlette.requests import Request

from server.errors import PublicError
from server.i18n import N_

BAD_FORM = N_("The form could not be read. Please reload the page and try again.")
MAX_FIELD = 4096
# Control characters no one types into a form (tab and line breaks aside): a NUL byte would
# reach PostgreSQL, which refuses it in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


async def read_form(request: Request) -> FormData:
    """The urlencoded form of a POST; anything else is a 415/400 with a clear message."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/x-www-form-urlencoded":
        raise PublicError(415, N_("This kind of content is not accepted here."))
    try:
        form = await request.form(max_files=0, max_fields=100)
    except PublicError:
        raise
    except Exception:  # any parser complaint is the sender's fault, not a server error
        raise PublicError(400, BAD_FORM) from None
    return form


def field(form: FormData, name: str, max_length: int = MAX_FIELD) -> str:
    """One text field ('' if absent); too long, not text or with control characters is a 422."""
    value = form.get(name, "")
    if not isinstance(value, str) or len(value) > max_length or _CONTROL.search(value):
        raise PublicError(422, BAD_FORM)
    return value
