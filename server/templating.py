"""Rendering pages: Jinja2 templates with translation, hashed asset URLs and CSRF tokens."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse

from server.assets import AssetManifest
from server.centres import CentreInfo, route_path
from server.i18n import HTML_LANG, LANGUAGE_NAMES, Translator, is_language, negotiate, ngettext
from server.settings import LANGUAGES, Settings

TEMPLATE_DIR = Path(__file__).parent / "templates"
# A link to a page of this site (not a shared static file), in an attribute that navigates.
OWN_LINK = re.compile(r'\b(href|action|formaction|data-exit-url)="/(?!static/|/)')


def request_language(connection: HTTPConnection, settings: Settings) -> str:
    """The interface language: the URL's, else the staff member's choice, else the browser's."""
    first_segment = route_path(connection.scope).strip("/").split("/", 1)[0]  # without /c/<slug>
    if is_language(first_segment):
        return first_segment
    staff_language = getattr(connection.state, "staff_language", None)
    if staff_language:
        return str(staff_language)
    return negotiate(connection.headers.get("accept-language"), settings.default_language)


class Renderer:
    """Renders templates in the request's language with everything a page needs."""

    def __init__(self, settings: Settings, assets: AssetManifest) -> None:
        self.settings = settings
        self.assets = assets
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            asset=lambda name: assets[name].url,
            integrity=lambda name: assets[name].integrity,
            import_map=assets.import_map,
            languages=LANGUAGES,
            language_names=LANGUAGE_NAMES,
            settings=settings,
            ngettext=ngettext,
        )

    def page(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        language: str | None = None,
    ) -> HTMLResponse:
        """An HTML response for `template`."""
        lang = language or request_language(request, self.settings)
        translator = Translator(lang)
        values: dict[str, Any] = {
            "request": request,
            "lang": lang,
            "html_lang": HTML_LANG[lang],
            "_": translator.in_template,
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "staff": getattr(request.state, "staff", None),
        }
        centre = request.scope.get("state", {}).get("centre")
        if isinstance(centre, CentreInfo):  # absent only on the outermost 500 page
            values["settings"] = centre.settings(self.settings)
            values["centre"] = centre
            values["root"] = request.scope.get("root_path", "")
        values.update(context or {})
        body = self.env.get_template(template).render(values)
        if values.get("root"):  # a centre under /c/<slug>: its own links stay under it
            body = OWN_LINK.sub(lambda m: f'{m.group(1)}="{values["root"]}/', body)
        return HTMLResponse(body, status_code=status_code)
