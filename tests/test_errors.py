"""Errors: a proper 4xx page (or JSON for API calls) in the person's language, never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import Client


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/no/such/page", {"accept-language": "nb-NO,nb;q=0.9"}, "Denne siden finnes ikke."),
        ("/no/such/page", {"accept-language": "sv-SE"}, "Den här sidan finns inte."),
        ("/no/such/page", {"accept-language": "en-GB"}, "This page does not exist."),
        ("/sv/no/such/page", {"accept-language": "en"}, "Den här sidan finns inte."),
        ("/nb/no/such/page", {}, "Denne siden finnes ikke."),
        ("/de/", {}, "This page does not exist."),
    ],
)
def test_not_found_in_the_right_language(
    client: Client, path: str, headers: dict[str, str], expected: str
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert expected in response.text
    assert 'id="quick-exit"' in response.text  # error pages are visitor pages too


def test_api_errors_are_json(client: Client) -> None:
    response = client.get("/api/nothing", headers={"accept-language": "sv"})
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Den här sidan finns inte."}
    json_client = client.get("/no/such", headers={"accept": "application/json"})
    assert json_client.json()["error"] == "not_found"


def test_wrong_method(client: Client) -> None:
    token = client.csrf()
    response = client.post("/healthz", headers={"x-csrf-token": token})
    assert response.status_code == 405
    assert "cannot be used that way" in response.text
    assert client.put("/staff/login", headers={"x-csrf-token": token}).status_code == 405


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"username=%ZZ&password=%", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\xfd", "application/x-www-form-urlencoded"),
        (b'{"username": "x"}', "application/json"),
        (b"--boundary\r\n", "multipart/form-data; boundary=boundary"),
        (b"", "text/plain"),
    ],
)
def test_malformed_forms_get_4xx(client: Client, content: bytes, content_type: str) -> None:
    token = client.csrf()
    response = client.post(
        "/staff/login", content=content, headers={"content-type": content_type, "x-csrf-token": token}
    )
    assert 400 <= response.status_code < 500, response.status_code
    assert "Traceback" not in response.text


def test_oversized_and_odd_fields(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    token = client.csrf("/staff/admin/staff")
    response = client.post(
        "/staff/admin/invites", data={"csrf_token": token, "role": "x" * 5000, "display_name": "X"}
    )
    assert response.status_code == 422
    language = client.post("/staff/language", data={"csrf_token": token, "language": "klingon"})
    assert language.status_code == 422


def test_login_required_for_json_calls_is_401(client: Client) -> None:
    response = client.get("/staff/", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"] == "login_required"
