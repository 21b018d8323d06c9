"""Security baseline through HTTP: headers on every response, CSRF, body limits, assets with SRI."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable

import pytest

from server.app import create_app
from server.security.csrf import make_token
from server.settings import Settings
from tests.conftest import Client

PAGES = [
    "/",
    "/nb/",
    "/sv/",
    "/en/",
    "/staff/login",
    "/exit",
    "/healthz",
    "/no/such/page",
    "/staff/invite/xyz",
]


@pytest.mark.parametrize("path", PAGES)
def test_security_headers_on_every_response(client: Client, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"].startswith("'self' 'sha256-")
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["require-trusted-types-for"] == "'script'"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "camera=()" in response.headers["permissions-policy"]
    assert "geolocation=()" in response.headers["permissions-policy"]
    assert response.headers["integrity-policy"] == "blocked-destinations=(script)"
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain http here
    assert "server" not in response.headers


HSTS = "max-age=63072000; includeSubDomains"


def test_hsts_whenever_the_public_url_is_https(make_settings: Callable[..., Settings]) -> None:
    """Not only behind --proxy-headers: an https public URL means every answer says HSTS."""
    app = create_app(make_settings(TRYGG_PUBLIC_URL="https://chat.example.org"))
    with Client(app, base_url="http://chat.example.org") as plain:  # the proxy did not say https
        for path in ("/", "/en/", "/staff/login", "/healthz", "/no/such/page"):
            assert plain.get(path, follow_redirects=False).headers["strict-transport-security"] == HSTS


def test_hsts_for_a_request_over_https_even_with_an_http_public_url(client: Client) -> None:
    assert "strict-transport-security" not in client.get("/en/").headers  # plain http, http public URL
    assert client.get("https://localhost:8000/en/").headers["strict-transport-security"] == HSTS


def test_security_headers_on_authenticated_pages(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    for path in ("/staff/", "/staff/admin/staff", "/staff/admin/hours"):
        response = client.get(path)
        assert response.status_code == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"


def test_import_map_is_the_only_inline_script_and_is_allowed_by_hash(client: Client) -> None:
    page = client.get("/en/")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    inline = [(attrs, body) for attrs, body in scripts if body.strip()]
    assert len(inline) == 1
    assert 'type="importmap"' in inline[0][0]
    digest = base64.b64encode(hashlib.sha256(inline[0][1].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page.headers["content-security-policy"]
    import_map = json.loads(inline[0][1])
    for url in import_map["imports"].values():
        assert url in import_map["integrity"]
    assert "style=" not in page.text  # no inline style attributes
    assert re.search(r"<[^>]+\son[a-z]+=", page.text) is None  # no inline event handlers


def test_static_assets_have_hash_urls_sri_and_long_caching(client: Client) -> None:
    page = client.get("/en/").text
    tags = re.findall(r'(?:src|href)="(/static/[^"]+)" integrity="(sha384-[^"]+)"', page)
    assert len(tags) >= 2  # the stylesheet and at least one module
    for url, integrity in tags:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        expected = "sha384-" + base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert integrity == expected
        short = hashlib.sha256(response.content).hexdigest()[:12]
        assert f".{short}." in url
    assert client.get("/static/js/quick-exit.js").status_code == 404  # only hashed URLs are served
    assert client.get("/static/js/quick-exit.000000000000.js").status_code == 404
    assert client.get("/static/../server/settings.py").status_code == 404


def test_visitor_pages_set_no_cookies(client: Client) -> None:
    for path in ("/", "/nb/", "/sv/", "/en/", "/exit", "/no/such/page"):
        assert "set-cookie" not in client.get(path, follow_redirects=False).headers


def test_quick_exit_clears_site_data_and_leaves(client: Client) -> None:
    response = client.get("/exit", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == client.res.settings.exit_url
    assert response.headers["clear-site-data"] == '"cache", "cookies", "storage"'


def test_csrf_token_is_required_on_forms(client: Client) -> None:
    client.make_staff("ada")
    client.get("/staff/login")  # sets the pre-login cookie
    data = {"username": "ada", "password": "correct horse battery staple"}
    missing = client.post("/staff/login", data=data)
    assert missing.status_code == 403
    assert "This form has expired" in missing.text
    wrong = client.post("/staff/login", data={**data, "csrf_token": "A" * 43})
    assert wrong.status_code == 403
    other_binding = make_token(client.res.settings.secret_key, "someone-elses-cookie")
    assert client.post("/staff/login", data={**data, "csrf_token": other_binding}).status_code == 403
    client.cookies.clear()
    no_cookie = client.post("/staff/login", data={**data, "csrf_token": other_binding})
    assert no_cookie.status_code == 403
    assert client.post_form("/staff/login", data, follow_redirects=False).status_code == 303


def test_csrf_header_works_for_json_calls(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    token = client.csrf("/staff/")
    response = client.post("/staff/logout", headers={"x-csrf-token": token}, follow_redirects=False)
    assert response.status_code == 303


def test_cross_site_requests_are_refused_even_with_a_token(client: Client) -> None:
    client.make_staff("ada")
    token = client.csrf()
    data = {"username": "ada", "password": "correct horse battery staple", "csrf_token": token}
    evil_origin = client.post("/staff/login", data=data, headers={"origin": "https://evil.example"})
    assert evil_origin.status_code == 403
    assert "other web sites" in evil_origin.text
    cross_site = client.post("/staff/login", data=data, headers={"sec-fetch-site": "cross-site"})
    assert cross_site.status_code == 403
    same = client.post(
        "/staff/login",
        data=data,
        headers={"origin": "http://localhost:8000", "sec-fetch-site": "same-origin"},
        follow_redirects=False,
    )
    assert same.status_code == 303
    # Browsers send "Origin: null" on same-origin forms under Referrer-Policy: no-referrer.
    client.post("/staff/logout", headers={"x-csrf-token": client.csrf("/staff/")})
    token = client.csrf()
    null_same = client.post(
        "/staff/login",
        data={**data, "csrf_token": token},
        headers={"origin": "null", "sec-fetch-site": "same-origin"},
        follow_redirects=False,
    )
    assert null_same.status_code == 303
    null_cross = client.post(
        "/staff/login",
        data={**data, "csrf_token": token},
        headers={"origin": "null", "sec-fetch-site": "cross-site"},
    )
    assert null_cross.status_code == 403


def test_body_size_limit(client: Client) -> None:
    limit = client.res.settings.max_body_bytes
    token = client.csrf()
    big = client.post(
        "/staff/login", data={"csrf_token": token, "username": "x" * (limit + 10), "password": "y"}
    )
    assert big.status_code == 413
    assert "too large" in big.text

    def chunks():  # no Content-Length: the limit must hold while the body streams in
        for _ in range(limit // 1000 + 5):
            yield b"a" * 1000

    streamed = client.post(
        "/staff/login",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrf-token": token},
    )
    assert streamed.status_code == 413
    bad_length = client.post(
        "/staff/login", content=b"x", headers={"content-length": "abc", "x-csrf-token": token}
    )
    assert bad_length.status_code == 400


def test_csp_reports_are_accepted_and_validated(client: Client) -> None:
    report = {
        "csp-report": {
            "document-uri": "http://localhost:8000/en/?secret=1",
            "violated-directive": "script-src",
            "blocked-uri": "inline",
        }
    }
    assert (
        client.post(
            "/csp-report", content=json.dumps(report), headers={"content-type": "application/csp-report"}
        ).status_code
        == 204
    )
    assert client.post("/csp-report", content=b"not json").status_code == 400
    assert client.post("/csp-report", content=b"[1,2]").status_code == 400
    assert (
        client.post("/csp-report", content=b"{}", headers={"origin": "https://evil.example"}).status_code
        == 403
    )
