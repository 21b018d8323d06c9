"""The counsellor dashboard in Chromium against a visitor driven from Python, on the live server.

Two counsellors unlock their keys in their own browser profiles, see a queued conversation
(with the interpreter request decrypted on their device), claim it at the same instant
(exactly one wins), chat both ways with typing and receipts, transfer, release and close.
Every request body and websocket frame the pages send or receive is captured: the words
written never appear in them, in the database file or in the server log.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    WAIT,
    SocketTap,
    Wire,
    click_together,
    message,
    open_dashboard,
    queue_item,
    settled,
)
from tests.browser.staff_helpers import LiveVisitor, log_in, staffed_centre
from tests.chat_helpers import Centre
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def centre(live_server: LiveServer) -> Iterator[Centre]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield staffed_centre(
            http, live_server, {"anna": "counsellor", "bodil": "counsellor", "cleo": "counsellor"}
        )


def test_queue_claim_chat_transfer_release_close(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    wire = Wire()
    anna = open_dashboard(new_page, live_server, "anna", wire)
    bodil = open_dashboard(new_page, live_server, "bodil", wire)

    visitor = LiveVisitor(http, live_server, centre, language="sv")
    visitor.ask_for_interpreter("ar")
    opening = "hemlig-oppning: jag behöver prata med någon"
    visitor.say(opening)

    # Both see the queued conversation, its interface language and — decrypted on their own
    # device — the interpreter request.
    for page in (anna, bodil):
        item = queue_item(page, visitor.id)
        item.locator(".interpreter").wait_for(timeout=WAIT)
        assert "Arabic" in item.locator(".interpreter").inner_text()
        assert "Svenska" in item.inner_text()
        page.wait_for_function("() => document.title.startsWith('(1)')", timeout=WAIT)
        page.locator(f"#take-{visitor.id}:not([disabled])").wait_for(timeout=WAIT)

    # Colleagues on duty: each sees the other.
    anna.locator("#on-duty li", has_text="Bodil").wait_for(timeout=WAIT)
    bodil.locator("#on-duty li", has_text="Anna").wait_for(timeout=WAIT)

    # Both take it at the same instant: exactly one wins, the other is told.
    click_together([anna, bodil], f"#take-{visitor.id}")
    anna.wait_for_function(
        "() => document.querySelector('#queue-notice') || document.querySelector('#chat-view:not([hidden])')",
        timeout=WAIT,
    )
    bodil.wait_for_function(
        "() => document.querySelector('#queue-notice') || document.querySelector('#chat-view:not([hidden])')",
        timeout=WAIT,
    )
    winners = [p for p in (anna, bodil) if p.is_visible("#chat-view")]
    losers = [p for p in (anna, bodil) if p.locator("#queue-notice").count()]
    assert len(winners) == 1, (len(winners), len(losers))
    assert len(losers) == 1
    assert "already taken" in losers[0].inner_text("#queue-notice")
    winner, loser = winners[0], losers[0]
    winner_name, loser_name = ("Anna", "Bodil") if winner is anna else ("Bodil", "Anna")

    # The winner reads what was written while waiting, and the interpreter request.
    message(winner, opening).wait_for(timeout=WAIT)
    assert "Arabic" in winner.inner_text("#chat-header")

    # Chat both ways, with typing indicators and receipts.
    reply = "hemlig-svar: jag är här och lyssnar"
    winner.fill("#message-input", reply)
    winner.press("#message-input", "Enter")
    visitor.wait_for_text(reply)
    typing = visitor.socket.until("typing", conversation=visitor.id)
    assert typing["member"] != "visitor"
    visitor.typing()
    winner.wait_for_selector("#typing:has-text('writing')", timeout=WAIT)
    reply_seq = int(settled(winner, reply).get_attribute("data-seq") or "0")
    visitor.receipt(reply_seq, reply_seq)
    winner.wait_for_selector(f'#messages li[data-seq="{reply_seq}"][data-status="read"]', timeout=WAIT)
    second = "hemlig-andra: tack, det hjälper"
    visitor.say(second)
    message(winner, second).wait_for(timeout=WAIT)

    # Transfer to the colleague with a note everyone in the conversation reads.
    note = "hemlig-anteckning: vill ha tolk, har berättat om hotet"
    winner.click("#transfer summary")
    winner.select_option(
        "#transfer-to",
        label=next(
            o for o in winner.locator("#transfer-to option").all_inner_texts() if o.startswith(loser_name)
        ),
    )
    winner.fill("#transfer-note", note)
    winner.click("#transfer-go")
    visitor.wait_for_text(note)
    winner.wait_for_selector(f"#chat-notice:has-text('transferred to {loser_name}')", timeout=WAIT)
    # The colleague gets it, reads the history, and removes the previous counsellor.
    loser.wait_for_selector(f'#my-conversations button[data-conversation="{visitor.id}"]', timeout=WAIT)
    message(loser, opening).wait_for(timeout=WAIT)
    message(loser, note).wait_for(timeout=WAIT)
    loser.wait_for_selector(f"#messages li.system:has-text('{winner_name} left')", timeout=60_000)
    deadline = time.monotonic() + 30
    while winner_name in visitor.members or not visitor.members:
        assert time.monotonic() < deadline, visitor.members
        visitor.read_until(visitor.chat.conversation.next_seq)
    after = "hemlig-efter: hej igen"
    visitor.say(after)
    message(loser, after).wait_for(timeout=WAIT)

    # Back to the queue: re-keyed to every counsellor; the first counsellor takes it again.
    loser.click("#release")
    for page in (anna, bodil):
        queue_item(page, visitor.id).wait_for(timeout=WAIT)
    winner.locator(f"#take-{visitor.id}:not([disabled])").wait_for(timeout=WAIT)
    winner.click(f"#take-{visitor.id}")
    winner.wait_for_selector(
        f'#my-conversations button[data-conversation="{visitor.id}"][aria-current="true"]', timeout=WAIT
    )

    # Close with an outcome tag from the list.
    winner.click("#close summary")
    winner.select_option("#outcome", "support_given")
    winner.click("#close-go")
    winner.wait_for_selector("#chat-notice:has-text('closed')", timeout=WAIT)
    visitor.close()

    database = live_server.data_dir / "trygg.sqlite3"
    with sqlite3.connect(database) as db:
        status, outcome = db.execute(
            "SELECT status, outcome FROM conversations WHERE id = ?", (visitor.chat.id.hex,)
        ).fetchone() or (None, None)
    if status is None:  # SQLAlchemy may store UUIDs with dashes
        with sqlite3.connect(database) as db:
            status, outcome = db.execute(
                "SELECT status, outcome FROM conversations WHERE id = ?", (str(visitor.chat.id),)
            ).fetchone()
    assert (status, outcome) == ("closed", "support_given")

    words = (opening, reply, second, note, after, "hemlig")
    wire.assert_never(*words)
    stored = b"".join(path.read_bytes() for path in live_server.data_dir.glob("trygg.sqlite3*"))
    for word in words:
        assert word.encode() not in stored, word
        assert word not in live_server.log(), word


def test_saved_replies_reconnect_notifications_and_deletion(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    wire = Wire()
    cleo = open_dashboard(new_page, live_server, "cleo", wire)
    cleo.click("#sound-on")  # a user gesture: from now on the page may play its chime
    cleo.click("#sound-on")
    cleo.wait_for_selector("body[data-sound=ready]", state="attached", timeout=WAIT)

    chimes = int(cleo.get_attribute("body", "data-chimes") or "0")
    visitor = LiveVisitor(http, live_server, centre)
    first = "hemlig-fråga: kan jag vara anonym?"
    visitor.say(first)
    queue_item(cleo, visitor.id).wait_for(timeout=WAIT)
    cleo.wait_for_function(f"() => Number(document.body.dataset.chimes || 0) > {chimes}", timeout=WAIT)
    cleo.locator(f"#take-{visitor.id}:not([disabled])").wait_for(timeout=WAIT)
    cleo.click(f"#take-{visitor.id}")
    message(cleo, first).wait_for(timeout=WAIT)

    # A saved reply: sealed to Cleo's own key, listed after a reload, inserted and sent.
    saved = "hemlig-mall: du kan vara helt anonym hos oss"
    cleo.click("#canned summary")
    cleo.fill("#canned-text", saved)
    cleo.click("#canned-save")
    cleo.locator("#canned-list button.insert", has_text=saved).wait_for(timeout=WAIT)
    cleo.reload()
    cleo.wait_for_selector("body[data-ready=yes]", state="attached", timeout=WAIT)
    cleo.wait_for_selector(f'#my-conversations button[data-conversation="{visitor.id}"]', timeout=WAIT)
    message(cleo, first).wait_for(timeout=WAIT)
    cleo.click("#canned summary")
    cleo.locator("#canned-list button.insert", has_text=saved).click()
    assert cleo.input_value("#message-input") == saved
    cleo.press("#message-input", "Enter")
    visitor.wait_for_text(saved)

    # Deleting the saved reply removes it for good: gone from the list, also after a reload.
    if not cleo.locator("#canned-list").is_visible():
        cleo.click("#canned summary")
    cleo.locator("#canned-list li", has_text=saved).locator("button.delete-reply").click()
    cleo.locator("#canned-list li", has_text="No saved replies yet.").wait_for(timeout=WAIT)
    cleo.reload()
    cleo.wait_for_selector("body[data-ready=yes]", state="attached", timeout=WAIT)
    cleo.wait_for_selector(f'#my-conversations button[data-conversation="{visitor.id}"]', timeout=WAIT)
    cleo.click("#canned summary")
    cleo.locator("#canned-list li", has_text="No saved replies yet.").wait_for(timeout=WAIT)
    expect(cleo.locator("#canned-list button.insert", has_text=saved)).to_have_count(0)

    # The server goes away: what Cleo writes waits in the outbox and is sent once it is back.
    live_server.stop()
    cleo.wait_for_selector("#connection[data-state=offline]", timeout=WAIT)
    offline = "hemlig-offline: jag är kvar, skriv när du vill"
    cleo.fill("#message-input", offline)
    cleo.press("#message-input", "Enter")
    cleo.locator("#messages li.pending", has_text=offline).wait_for(timeout=WAIT)
    live_server.start()
    cleo.wait_for_selector("#connection[data-state=online]", timeout=60_000)
    cleo.locator("#messages li.mine:not(.pending)", has_text=offline).wait_for(timeout=WAIT)
    assert cleo.locator("#messages li", has_text=offline).count() == 1
    visitor.reconnect(live_server)
    visitor.wait_for_text(offline)
    assert visitor.texts.count(offline) == 1

    # A new message while the tab is hidden counts in the title.
    cleo.evaluate(
        "() => { Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    later = "hemlig-senare: tack"
    visitor.say(later)
    message(cleo, later).wait_for(timeout=WAIT)
    cleo.wait_for_function("() => document.title.startsWith('(1)')", timeout=WAIT)

    # The visitor deletes everything: the dashboard says so and forgets the content.
    visitor.delete(http, live_server)
    cleo.wait_for_selector("#chat-notice:has-text('deleted this conversation')", timeout=WAIT)
    assert cleo.locator("#messages li").count() == 0
    assert cleo.is_disabled("#message-input")
    visitor.close()

    words = (first, saved, offline, later, "hemlig")
    wire.assert_never(*words)
    stored = b"".join(path.read_bytes() for path in live_server.data_dir.glob("trygg.sqlite3*"))
    for word in words:
        assert word.encode() not in stored, word
        assert word not in live_server.log(), word


def test_load_page_shows_counts_and_refreshes(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    wire = Wire()
    admin = new_page()
    wire.watch(admin)
    log_in(admin, live_server.url, "admin")
    admin.click("#nav-load")
    admin.wait_for_selector("body[data-refreshed]", state="attached", timeout=WAIT)
    before = int(admin.inner_text("#load-queued"))
    visitor = LiveVisitor(http, live_server, centre, language="nb")
    secret = "hemlig-last: ingen administratör läser detta"
    visitor.say(secret)
    admin.wait_for_function(
        f"() => Number(document.getElementById('load-queued').textContent) === {before + 1}", timeout=40_000
    )
    assert admin.locator("#load-waits tr").count() == before + 1
    assert admin.inner_text("#load-longest") != "–"
    visitor.close()
    joined = "\n".join(wire.items) + admin.content()
    assert secret not in joined


def test_a_conflict_is_caught_up_and_sent_again_with_the_same_client_id(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    wire = Wire()
    proxy = SocketTap()
    cleo = open_dashboard(new_page, live_server, "cleo", wire, before=proxy.install)
    visitor = LiveVisitor(http, live_server, centre)
    visitor.say("hemlig-start: hej")
    cleo.locator(f"#take-{visitor.id}:not([disabled])").wait_for(timeout=WAIT)
    cleo.click(f"#take-{visitor.id}")
    message(cleo, "hemlig-start").wait_for(timeout=WAIT)
    cleo.locator("#messages li.system", has_text="took the conversation").wait_for(timeout=WAIT)

    # Cleo's page does not see the visitor's next message before she writes: both at one seq.
    proxy.hold = True
    from_visitor = "hemlig-samtidigt: från besökaren"
    visitor_seq = visitor.say(from_visitor)
    from_cleo = "hemlig-samtidigt: från cleo"
    cleo.fill("#message-input", from_cleo)
    cleo.press("#message-input", "Enter")
    proxy.wait_for(wire, lambda frame: frame.get("code") == "conflict")  # the server said: someone was first
    proxy.release()
    cleo.locator("#messages li.mine:not(.pending)", has_text=from_cleo).wait_for(timeout=WAIT)
    visitor.wait_for_text(from_cleo)
    assert visitor.texts.count(from_cleo) == 1

    sends = [f for f in proxy.to_server if f.get("type") == "send" and f.get("conversation") == visitor.id]
    last = sends[-1]["client_id"]
    attempts = [f for f in sends if f["client_id"] == last]
    assert len(attempts) >= 2  # sent again after catching up ...
    assert len({f["message"] for f in attempts}) == len(attempts)  # ... re-encrypted at the new head
    acked = [f for f in proxy.to_page if f.get("type") == "ack" and f.get("client_id") == last]
    assert len(acked) == 1
    assert acked[0]["seq"] == visitor_seq + 1
    seqs = [
        int(x)
        for x in cleo.locator("#messages li[data-seq]").evaluate_all("ns => ns.map(n => n.dataset.seq)")
    ]
    assert seqs == sorted(seqs)
    visitor.close()
    wire.assert_never(from_visitor, from_cleo)


def test_the_open_conversation_limit_holds_and_frees_up(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    """TRYGG_MAX_OPEN_PER_COUNSELLOR (5 here): at the limit the dashboard switches taking off and
    says why (the server refuses a sixth claim too: tests/test_chat.py); closing one frees a place."""
    wire = Wire()
    bodil = open_dashboard(new_page, live_server, "bodil", wire)
    visitors = [LiveVisitor(http, live_server, centre) for _ in range(6)]
    for number, visitor in enumerate(visitors[:5]):
        bodil.locator(f"#take-{visitor.id}:not([disabled])").wait_for(timeout=WAIT)
        bodil.click(f"#take-{visitor.id}")
        bodil.wait_for_selector(f'#my-conversations button[data-conversation="{visitor.id}"]', timeout=WAIT)
        expect(bodil.locator("#my-conversations button[data-conversation]")).to_have_count(number + 1)

    # At the limit: taking is switched off, with the reason beside the queue.
    last = visitors[5]
    queue_item(bodil, last.id).wait_for(timeout=WAIT)
    bodil.locator("#queue-full", has_text="5 conversations open, the most allowed").wait_for(timeout=WAIT)
    expect(bodil.locator(f"#take-{last.id}")).to_be_disabled()

    # Close one; now the sixth can be taken.
    bodil.click(f'#my-conversations button[data-conversation="{visitors[0].id}"]')
    bodil.click("#close summary")
    bodil.select_option("#outcome", "support_given")
    bodil.click("#close-go")
    bodil.wait_for_selector("#chat-notice:has-text('closed')", timeout=WAIT)
    bodil.locator(f"#take-{last.id}:not([disabled])").wait_for(timeout=WAIT)
    bodil.click(f"#take-{last.id}")
    bodil.wait_for_selector(f'#my-conversations button[data-conversation="{last.id}"]', timeout=WAIT)
    for visitor in visitors:
        visitor.close()
