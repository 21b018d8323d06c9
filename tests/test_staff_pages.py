"""The staff pages for keys, certification, the dashboard and load: access, content, directory health."""

from __future__ import annotations

import time

import pytest

from crypto import Role, sign_directory
from tests.chat_helpers import Centre, b64, build_centre, start_visitor
from tests.conftest import BASE_URL, Client, eventually


@pytest.fixture
def centre(client: Client) -> Centre:
    return build_centre(
        client, BASE_URL, lambda: client.make_staff("admin"), {"anna": "counsellor", "ivan": "interpreter"}
    )


def as_person(client: Client, centre: Centre, name: str) -> None:
    """Make `client`'s own cookie jar the given staff member's."""
    client.cookies.clear()
    person = centre.admin if name == "admin" else centre.staff[name].person
    for key, value in person.jar.items():
        client.cookies.set(key, value)


def status(client: Client, centre: Centre) -> dict[str, object]:
    """The directory status; chat_helpers publishes directories valid for a day, so "expiring" is dropped."""
    as_person(client, centre, "admin")
    answer = client.get("/api/admin/directory-status")
    assert answer.status_code == 200
    body = answer.json()
    assert isinstance(body, dict)
    body["all_problems"] = list(body["problems"])
    body["problems"] = [p for p in body["problems"] if p != "expiring"]
    return body


@pytest.mark.parametrize("path", ["/staff/keys", "/staff/admin/keys", "/staff/chat", "/staff/admin/load"])
def test_pages_need_a_login(client: Client, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login"


@pytest.mark.parametrize("path", ["/api/admin/directory-status", "/api/admin/load"])
def test_api_needs_a_login(client: Client, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 401
    assert answer.json()["error"] == "login_required"


def test_own_key_page_for_counsellors_interpreters_and_admins(client: Client, centre: Centre) -> None:
    for name in ("anna", "ivan"):
        as_person(client, centre, name)
        page = client.get("/staff/keys")
        assert page.status_code == 200
        assert 'id="create-form"' in page.text
        assert 'src="/static/js/staff/keys-page.' in page.text
        assert 'name="csrf-token" content="' in page.text
        assert f'name="staff-id" content="{centre.staff[name].account_id.hex}"' in page.text
        assert 'href="/staff/keys"' in page.text
        assert 'id="directory-banner"' not in page.text  # admins only
    as_person(client, centre, "admin")
    page = client.get("/staff/keys")
    assert page.status_code == 200
    assert 'src="/static/js/staff/keys-page.' not in page.text  # admins have no personal key
    assert 'href="/staff/admin/keys"' in page.text


def test_admin_pages_are_for_admins(client: Client, centre: Centre) -> None:
    as_person(client, centre, "anna")
    assert client.get("/staff/admin/keys").status_code == 403
    assert client.get("/api/admin/directory-status").status_code == 403
    as_person(client, centre, "admin")
    page = client.get("/staff/admin/keys")
    assert page.status_code == 200
    assert 'id="certify-publish"' in page.text
    assert 'id="directory-banner"' in page.text
    assert 'src="/static/js/staff/admin-keys.' in page.text


def test_admin_keys_page_names_staff_without_keys(client: Client, centre: Centre) -> None:
    centre.invite("nils", "counsellor")
    as_person(client, centre, "admin")
    page = client.get("/staff/admin/keys").text
    assert 'id="without-keys"' in page
    assert "Nils" in page


def test_pages_in_swedish_and_norwegian(client: Client, centre: Centre) -> None:
    as_person(client, centre, "anna")
    token = client.csrf("/staff/")
    client.post("/staff/language", data={"csrf_token": token, "language": "sv"})
    assert "Min nyckel" in client.get("/staff/keys").text
    token = client.csrf("/staff/")
    client.post("/staff/language", data={"csrf_token": token, "language": "nb"})
    assert "Min nøkkel" in client.get("/staff/keys").text


def test_directory_health(client: Client, centre: Centre) -> None:
    healthy = status(client, centre)
    assert healthy["serial"] == 1
    assert healthy["problems"] == []
    assert len(healthy["listed"]) == 2  # type: ignore[arg-type]

    # A key waiting for a certificate.
    nils = centre.invite("nils", "counsellor")
    centre.give_keys(nils, Role.COUNSELLOR)
    assert status(client, centre)["problems"] == ["waiting"]
    centre.publish()
    assert status(client, centre)["problems"] == []

    # Deactivating someone leaves them in the directory until a new one is published.
    as_person(client, centre, "admin")
    client.post_form(f"/staff/admin/staff/{nils.account_id}/deactivate", {}, token_from="/staff/admin/staff")
    found = status(client, centre)
    assert found["problems"] == ["lists_deactivated"]
    assert found["deactivated_listed"] == ["Nils"]
    # Publishing a directory that still lists him is refused, clearly.
    now = int(time.time())
    listed = [m.certificate for m in centre.staff.values() if m.certificate is not None]
    stale = sign_directory(
        centre.admin_key, centre.centre_id, centre.serial + 1, now - 60, now + 86_400, listed
    )
    refused = centre.admin.api("POST", "/api/admin/directory", {"certificates": {}, "directory": b64(stale)})
    assert refused.status_code == 422
    assert refused.json()["error"] == "bad_directory"
    assert "does not match" in refused.json()["message"]
    del centre.staff["nils"]
    centre.publish()
    assert status(client, centre)["problems"] == []

    # Reactivated (still certified) but not listed.
    as_person(client, centre, "admin")
    client.post_form(f"/staff/admin/staff/{nils.account_id}/reactivate", {}, token_from="/staff/admin/staff")
    assert status(client, centre)["problems"] == ["not_listed"]


def test_directory_expiring_and_expired(client: Client, centre: Centre) -> None:
    now = int(time.time())
    listed = [m.certificate for m in centre.staff.values() if m.certificate is not None]
    for serial, expires, problem in ((2, now + 3 * 86_400, "expiring"), (3, now + 2, "expired")):
        directory = sign_directory(centre.admin_key, centre.centre_id, serial, now - 60, expires, listed)
        published = centre.admin.api(
            "POST", "/api/admin/directory", {"certificates": {}, "directory": b64(directory)}
        )
        assert published.status_code == 204, published.text
        # "expired" comes true two seconds later: ask until it does.
        assert eventually(lambda wanted=[problem]: status(client, centre)["all_problems"] == wanted)


def test_no_directory_yet(client: Client) -> None:
    client.make_staff("admin")
    client.login("admin")
    assert client.get("/api/admin/directory-status").json() == {
        "serial": 0,
        "issued_at": None,
        "expires_at": None,
        "listed": [],
        "problems": [],
        "deactivated_listed": [],
        "waiting": 0,
    }


def test_dashboard_is_for_counsellors(client: Client, centre: Centre) -> None:
    as_person(client, centre, "anna")
    page = client.get("/staff/chat")
    assert page.status_code == 200
    assert 'src="/static/js/staff/dashboard.' in page.text
    assert 'data-max-open="5"' in page.text
    assert 'href="/staff/chat"' in page.text
    assert "/static/sounds/notify." in page.text
    for outcome in ("support_given", "information_given", "referred", "booked", "no_contact", "other"):
        assert f'<option value="{outcome}">' in page.text
    assert (
        "<textarea" not in page.text.split('id="outcome"')[1].split("</select>")[0]
    )  # a list, never free text
    for name in ("ivan", "admin"):
        as_person(client, centre, name)
        assert client.get("/staff/chat").status_code == 403


def test_dashboard_in_norwegian(client: Client, centre: Centre) -> None:
    as_person(client, centre, "anna")
    token = client.csrf("/staff/")
    client.post("/staff/language", data={"csrf_token": token, "language": "nb"})
    page = client.get("/staff/chat").text
    assert "Støtte gitt" in page
    assert "Tilbake til køen" in page


def test_the_sound_is_served_like_other_assets(client: Client) -> None:
    url = client.app.state.resources.assets["sounds/notify.wav"].url  # type: ignore[attr-defined]
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "audio/wav"
    assert answer.content.startswith(b"RIFF")


def test_load_is_counts_and_waiting_times_for_admins(client: Client, centre: Centre) -> None:
    start_visitor(client, BASE_URL, centre, language="sv")
    start_visitor(client, BASE_URL, centre, language="en")
    as_person(client, centre, "anna")
    assert client.get("/staff/admin/load").status_code == 403
    assert client.get("/api/admin/load").status_code == 403
    as_person(client, centre, "admin")
    page = client.get("/staff/admin/load")
    assert page.status_code == 200
    assert 'src="/static/js/staff/load.' in page.text
    figures = client.get("/api/admin/load").json()
    assert set(figures) == {
        "queued",
        "active",
        "closed_today",
        "longest_wait_minutes",
        "on_duty",
        "waits_minutes",
        "languages",
    }
    assert figures["queued"] == 2
    assert figures["active"] == 0
    assert figures["waits_minutes"] == [0, 0]
    assert figures["languages"] == {"en": 1, "sv": 1}
