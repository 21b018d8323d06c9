"""The HTML side fuzzed on the live server: every CSRF-protected form the staff pages show, found
by reading the pages as each kind of staff member would see them, filled with Hypothesis-drawn
field values (plausible, tricky, missing, repeated, extra, not UTF-8, without or with a wrong
CSRF token); and every page with odd path parameters, query strings, headers and cookies.

The assertions: never a 5xx, and a refused request (any 4xx) changes nothing in the database.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.routing import Match, Route

from server.jsonapi import ApiRoute
from tests import fuzzing
from tests.chat_helpers import PASSWORD, Person
from tests.fuzzing import ANY_TEXT, STAFF, TRICKY_TEXT, Site, changed

PAGES = (
    "/staff/",
    "/staff/admin/staff",
    "/staff/admin/hours",
    "/staff/admin/booking",
    "/staff/availability",
    "/staff/password",
    "/network/",
)


def app_routes() -> list[Route]:
    return [route for route in fuzzing.configured_app().routes if isinstance(route, Route)]


ROUTES = app_routes()
FORM_ROUTES = sorted(r.path for r in ROUTES if "POST" in (r.methods or set()) and not isinstance(r, ApiRoute))
PAGE_ROUTES = sorted(r.path for r in ROUTES if "GET" in (r.methods or set()) and not isinstance(r, ApiRoute))


# --- finding the forms ------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    who: str  # whose pages show it: "admin", "anna", "ivan" or "anonymous"
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> offered values (may be [""])

    @property
    def route(self) -> str:
        scope = {"type": "http", "path": self.action, "root_path": "", "method": "POST"}
        for route in ROUTES:
            if route.matches(scope)[0] is Match.FULL:
                return route.path
        return "?"


class FormReader(HTMLParser):
    """The POST forms of a page: their actions, field names and the values the page offers."""

    def __init__(self, page_path: str, who: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.who = who
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and values.get("method", "").lower() == "post":
            self.current = Form(values.get("action") or self.page_path, self.who)
            self.forms.append(self.current)
        elif self.current is not None and tag in ("input", "textarea", "select") and values.get("name"):
            name = values["name"]
            self.current.fields.setdefault(name, [])
            if tag == "input" and values.get("value"):
                self.current.fields[name].append(values["value"])
            if tag == "select":
                self.select = name
        elif self.current is not None and tag == "option" and self.select:
            self.current.fields[self.select].append(values.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def prepare(site: Site) -> str:
    """What makes every form appear: accounts the admin may act on (Vera, an interpreter; Walt,
    deactivated), an open invitation (its page is fuzzed as nobody), a day off and a calendar
    link for Anna.  Returns the invitation's path."""
    admin, anna = site.staff("admin"), site.staff("anna")
    for name in ("vera", "walt"):
        link = _invite(site, name.title())
        person = Person(site.http, site.url)
        accepted = person.form(link, {"username": name, "password": PASSWORD, "password_again": PASSWORD})
        assert accepted.status_code == 303, accepted.text
    page = admin.request("GET", "/staff/admin/staff").text
    walt = re.search(r'data-username="walt".*?action="([^"]+/deactivate)"', page, re.DOTALL)
    assert walt, page
    assert admin.form(walt.group(1), {}, token_from="/staff/admin/staff").status_code == 303
    day_off = anna.form(
        "/staff/availability/exceptions",
        {"first": "2031-01-01", "last": ""},
        token_from="/staff/availability",
    )
    assert day_off.status_code == 303
    assert anna.form("/staff/availability/feed", {}, token_from="/staff/availability").status_code == 200
    _shared_from_another_centre(site)
    return _invite(site, "Xena")


def _shared_from_another_centre(site: Site) -> None:
    """Yann, the first admin of a second centre, given a counsellor's role at the fuzzed one (so
    its "Remove from this centre" form shows)."""
    nina = site.staff(fuzzing.NETWORK_ADMIN)
    made = nina.form("/network/centres", {"slug": "second", "name": "Second"}, token_from="/network/")
    assert made.status_code == 200, made.text
    appointed = nina.form("/network/centres/second/admin", {"display_name": "Yann"}, token_from="/network/")
    link = re.search(r"(/c/second/staff/invite/[A-Za-z0-9_-]+)", appointed.text)
    assert link, appointed.text
    person = Person(site.http, site.url)
    accepted = person.form(
        link.group(1), {"username": "yann", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert accepted.status_code == 303, accepted.text
    added = site.staff("admin").form(
        "/staff/admin/shared", {"username": "yann", "role": "counsellor"}, token_from="/staff/admin/staff"
    )
    assert added.status_code == 303, added.text


def _invite(site: Site, name: str) -> str:
    answer = site.staff("admin").form(
        "/staff/admin/invites", {"role": "interpreter", "display_name": name}, token_from="/staff/admin/staff"
    )
    link = re.search(r"(/staff/invite/[A-Za-z0-9_-]+)", answer.text)
    assert link, answer.text
    return link.group(1)


def find_forms(site: Site, invitation: str) -> list[Form]:
    """Every POST form on the staff pages as each kind of staff member (and the login and
    invitation pages as nobody), except those that would end the fuzzing staff's own accounts."""
    protected = {str(site.centre.staff[name].account_id) for name in site.centre.staff}
    forms: list[Form] = []
    for who in STAFF:
        person = site.staff(who)
        for path in PAGES:
            page = person.request("GET", path, follow_redirects=False)
            if page.status_code == 200:
                reader = FormReader(path, who)
                reader.feed(page.text)
                forms.extend(reader.forms)
    for path in ("/staff/login", invitation):
        reader = FormReader(path, "anonymous")
        reader.feed(site.http.get(path).text)
        forms.extend(reader.forms)
    unique = {(f.action, f.who): f for f in forms if not any(account in f.action for account in protected)}
    return sorted(unique.values(), key=lambda f: (f.route, f.who, f.action))


@pytest.fixture
def site(fuzz_site: Site) -> Site:
    return fuzz_site


@pytest.fixture(scope="module")
def forms(fuzz_site: Site) -> list[Form]:
    return find_forms(fuzz_site, prepare(fuzz_site))


def test_every_form_route_is_found_on_a_page(forms: list[Form]) -> None:
    """The fuzzer reaches every POST route that is not JSON: a new form is fuzzed without a list."""
    assert {form.route for form in forms} == set(FORM_ROUTES)


# --- fuzzing the forms --------------------------------------------------------------------------


def field_values(name: str, offered: list[str]) -> st.SearchStrategy[str]:
    """Plausible values for a field (by its name and what the page offers), and anything else."""
    plausible: list[st.SearchStrategy[str]] = [st.sampled_from(offered)] if any(offered) else []
    if re.search(r"opens|closes|starts|ends", name):
        plausible.append(st.from_regex(r"[0-2][0-9]:[0-5][0-9]", fullmatch=True))
    if name in ("first", "last"):
        plausible.append(st.dates().map(str))
    if name.endswith(("minutes", "hours", "days", "bookings")):
        plausible.append(st.integers(-5, 500).map(str))
    return st.one_of(*plausible, ANY_TEXT, TRICKY_TEXT)


@st.composite
def form_bodies(draw: st.DrawFn, form: Form, csrf: str) -> bytes:
    """An urlencoded body: each field present or not, sometimes twice, with extra fields, a
    good, wrong or missing CSRF token, and now and then bytes that are not UTF-8."""
    pairs: list[tuple[str, str]] = []
    for name, offered in form.fields.items():
        if name == "csrf_token":
            continue
        for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
            pairs.append((name, draw(field_values(name, offered))))
    pairs += draw(st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=2))
    token = draw(st.sampled_from([csrf, csrf, csrf, csrf + "x", "", "é"]))
    if token:
        pairs.append(("csrf_token", token))
    pairs = draw(st.permutations(pairs))
    body = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs if _encodable(k, v))
    if draw(st.integers(0, 9)) == 0:
        body += draw(st.sampled_from(["&x=%ff%fe", "&%ED%A0%80=1", "&=", "&&", "&a", "&%", "&x=%G0"]))
    return body.encode()


def _encodable(*texts: str) -> bool:
    return all(not re.search(r"[\ud800-\udfff]", t) for t in texts)


@pytest.mark.parametrize("route", FORM_ROUTES)
def test_no_form_gives_a_5xx_or_changes_anything_when_refusing(
    site: Site, forms: list[Form], route: str
) -> None:
    found = [form for form in forms if form.route == route]
    assert found, f"no page shows a form for {route}"

    @fuzzing.seeded
    @fuzzing.fuzz_settings(fuzzing.EXAMPLES)
    @given(data=st.data())
    def exercise(data: st.DataObject) -> None:
        form = data.draw(st.sampled_from(found))
        if form.who == "anonymous":
            cookies, csrf = _anonymous(site, form)
        else:
            site.refresh_staff(form.who)
            headers = site.staff_headers[form.who]
            cookies, csrf = headers["cookie"], headers["x-csrf-token"]
        body = data.draw(form_bodies(form, csrf))
        before = site.db.snapshot()
        response = site.send(
            "POST",
            form.action,
            content=body,
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "cookie": cookies,
                "origin": site.url,
            },
        )
        assert response.status_code < 500, f"{form.action}: {response.status_code}"
        if 400 <= response.status_code < 500:
            after = site.db.snapshot()
            assert not changed(before, after), (
                f"{form.action} refused ({response.status_code}) yet changed {changed(before, after)}"
            )

    exercise()


def _anonymous(site: Site, form: Form) -> tuple[str, str]:
    """A fresh browser's pre-login cookie and the CSRF token on the form's page."""
    with httpx2.Client(base_url=site.url) as browser:
        page = browser.get(form.action)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    return cookie, match.group(1) if match else ""


# --- every page: path parameters, query strings, headers, cookies -------------------------------------

PATH_VALUES = st.one_of(
    ANY_TEXT.filter(_encodable).map(lambda text: quote(text, safe="")),
    st.sampled_from(
        ["%ff", "%ED%A0%80", "%00", "..%2F..%2F", "%2e%2e", "ABCD-EFGH", str(uuid.uuid4()), "nb", "en"]
    ),
)
QUERIES = st.lists(
    st.tuples(st.sampled_from(["lang", "changed", "from", "x", "%ff", ""]), PATH_VALUES), max_size=3
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
HEADER_VALUES = st.sampled_from(
    ["", "nb", "sv;q=nan", "en;q=1e999", "*", "x" * 4000, "é", "nb-NO,nb;q=0.9,,,;q=", "\x7f"]
)


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_no_page_gives_a_5xx_or_changes_anything(site: Site, route: str) -> None:
    @fuzzing.seeded
    @fuzzing.fuzz_settings(fuzzing.EXAMPLES)
    @given(
        params=st.lists(PATH_VALUES, min_size=3, max_size=3),
        query=QUERIES,
        who=st.sampled_from(["anonymous", *STAFF]),
        language=HEADER_VALUES,
        cookie_noise=st.sampled_from(["", "; trygg-session=%ff", "; trygg-device=é", "; a=\x7f"]),
    )
    def exercise(params: list[str], query: str, who: str, language: str, cookie_noise: str) -> None:
        path = route
        for number, name in enumerate(re.findall(r"{([^}:]+)(?::[^}]+)?}", route)):
            path = re.sub(r"{" + name + r"(?::[^}]+)?}", params[number].replace("\\", "\\\\"), path)
        cookie = ("" if who == "anonymous" else site.staff_headers[who]["cookie"]) + cookie_noise
        before = site.db.snapshot()
        response = site.send(
            "GET",
            f"{path}?{query}" if query else path,
            headers={"accept-language": language.encode("utf-8"), "cookie": cookie.encode("utf-8")},
        )
        assert response.status_code < 500, f"{path}?{query}: {response.status_code}"
        after = site.db.snapshot()
        assert not changed(before, after), f"GET {path}?{query} changed {changed(before, after)}"

    exercise()
