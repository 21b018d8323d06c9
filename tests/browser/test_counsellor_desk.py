"""The counsellor's desk with several visitors at once (issue 11): every conversation keeps its
own draft, conversations can be told apart by a stable label, and colleagues on duty follow the
server's `presence` frames.

The presence test and the start-time part of the labels need the server to push `presence` and
to send `started_at` in `queue` and `assignments` items (the i11-server half of issue 11).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    WAIT,
    SocketTap,
    Wire,
    another_tab,
    click_together,
    message,
    open_dashboard,
    queue_item,
    send_from_staff,
    tab,
    take,
)
from tests.browser.staff_helpers import LiveVisitor, staffed_centre
from tests.chat_helpers import Centre
from tests.live_server import LiveServer

LABEL = re.compile(r"^Visitor [0-9A-HJKMNP-TV-Z]{4}( · \d\d:\d\d)?$")


@pytest.fixture(scope="module")
def centre(live_server: LiveServer) -> Iterator[Centre]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield staffed_centre(
            http, live_server, {"dora": "counsellor", "erik": "counsellor", "frid": "counsellor"}
        )


def two_taken(page: Any, http: httpx.Client, live_server: LiveServer, centre: Centre) -> list[LiveVisitor]:
    """Two visitors who have written, both taken on `page`."""
    visitors = [LiveVisitor(http, live_server, centre) for _ in range(2)]
    for number, visitor in enumerate(visitors):
        visitor.say(f"hemlig-{number}: hei")
    for visitor in visitors:
        take(page, visitor.id)
    return visitors


def label_of(page: Any, conversation: str) -> str:
    """The label the queue shows for a conversation."""
    return str(queue_item(page, conversation).locator(".label").inner_text())


def tab_label(page: Any, conversation: str) -> str:
    return str(tab(page, conversation).inner_text()).split(" (")[0]  # without the unread count


def test_each_conversation_keeps_its_own_draft(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    wire = Wire()
    dora = open_dashboard(new_page, live_server, "dora", wire)
    first, second = two_taken(dora, http, live_server, centre)

    # A reply typed for the first visitor and not sent; then the second visitor's tab.
    draft = "hemlig-utkast: dette er bare til den første"
    tab(dora, first.id).click()
    dora.fill("#message-input", draft)
    tab(dora, second.id).click()
    expect(dora.locator("#chat-view")).to_have_attribute("data-conversation", second.id)
    expect(dora.locator("#message-input")).to_have_value("")
    dora.press("#message-input", "Enter")  # an empty box: nothing goes anywhere
    expect(dora.locator("#messages li.pending")).to_have_count(0)

    # The second visitor's own draft stays with them; the first one's comes back with its tab.
    other = "hemlig-utkast-to: til den andre"
    dora.fill("#message-input", other)
    tab(dora, first.id).click()
    expect(dora.locator("#message-input")).to_have_value(draft)
    tab(dora, second.id).click()
    expect(dora.locator("#message-input")).to_have_value(other)
    dora.press("#message-input", "Enter")
    second.wait_for_text(other)
    tab(dora, first.id).click()
    expect(dora.locator("#message-input")).to_have_value(draft)
    dora.press("#message-input", "Enter")
    first.wait_for_text(draft)
    message(dora, draft).wait_for(timeout=WAIT)

    # Each visitor got exactly what was meant for them.
    assert draft not in second.texts
    assert other not in first.texts
    assert first.texts.count(draft) == 1
    assert second.texts.count(other) == 1
    # Drafts live in memory only: not in the browser's storage, and gone after a reload.
    tab(dora, second.id).click()
    dora.fill("#message-input", "hemlig-glemt: aldri sendt")
    assert "hemlig" not in dora.evaluate(
        "JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})"
    )
    dora.reload()
    dora.wait_for_selector("body[data-ready=yes]", state="attached", timeout=WAIT)
    tab(dora, second.id).wait_for(timeout=WAIT)
    tab(dora, second.id).click()
    expect(dora.locator("#message-input")).to_have_value("")
    wire.assert_never("hemlig-utkast", "hemlig-glemt")
    first.close()
    second.close()


def test_conversations_have_labels_that_tell_them_apart(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    wire = Wire()
    erik = open_dashboard(new_page, live_server, "erik", wire)
    visitors = [LiveVisitor(http, live_server, centre, language="en") for _ in range(2)]
    labels = {}
    for visitor in visitors:
        visitor.say("hemlig: hei")
        queue_item(erik, visitor.id).wait_for(timeout=WAIT)
        labels[visitor.id] = label_of(erik, visitor.id)
        assert LABEL.match(labels[visitor.id]), labels[visitor.id]
    assert len(set(labels.values())) == 2  # two visitors, both in English: still told apart

    # The same label in the tab and the chat header, and in the title when a message waits.
    for visitor in visitors:
        take(erik, visitor.id)
        assert tab_label(erik, visitor.id) == labels[visitor.id]
        expect(erik.locator("#chat-header")).to_contain_text(labels[visitor.id])
    tab(erik, visitors[1].id).click()
    visitors[0].say("hemlig: er du der?")
    expect(tab(erik, visitors[0].id)).to_have_class(re.compile(r"\bunread\b"), timeout=WAIT)
    erik.wait_for_function(f"() => document.title.includes({labels[visitors[0].id]!r})", timeout=WAIT)

    # After a reload (the tabs come from `assignments` now), the same labels.
    erik.reload()
    erik.wait_for_selector("body[data-ready=yes]", state="attached", timeout=WAIT)
    for visitor in visitors:
        tab(erik, visitor.id).wait_for(timeout=WAIT)
        expect(tab(erik, visitor.id)).to_contain_text(labels[visitor.id])
    for visitor in visitors:
        visitor.close()


def test_labels_show_when_the_conversation_started(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    """Needs `started_at` in queue and assignments items (the server half of issue 11)."""
    wire = Wire()
    erik = open_dashboard(new_page, live_server, "erik", wire)
    visitor = LiveVisitor(http, live_server, centre)
    visitor.say("hemlig: hei")
    queue_item(erik, visitor.id).wait_for(timeout=WAIT)
    label = label_of(erik, visitor.id)
    started = erik.evaluate(
        "() => new Date().toLocaleTimeString('en-GB', {timeZone: 'Europe/Oslo', hour: '2-digit', minute: '2-digit'})"
    )
    assert re.search(r" · \d\d:\d\d$", label), label
    hours, minutes = (int(x) for x in label[-5:].split(":"))
    now_hours, now_minutes = (int(x) for x in started.split(":"))
    assert abs((now_hours * 60 + now_minutes) - (hours * 60 + minutes)) % (24 * 60) <= 2, (label, started)
    take(erik, visitor.id)
    erik.reload()
    erik.wait_for_selector("body[data-ready=yes]", state="attached", timeout=WAIT)
    expect(tab(erik, visitor.id)).to_contain_text(label, timeout=WAIT)
    visitor.close()


def test_colleagues_on_duty_follow_presence(new_page: Any, live_server: LiveServer, centre: Centre) -> None:
    """Needs the server's pushed `presence` frame (the server half of issue 11): nobody joins or
    leaves the queue here, so only a push can change the list."""
    wire = Wire()
    frid = open_dashboard(new_page, live_server, "frid", wire)
    expect(frid.locator("#on-duty li", has_text="Dora")).to_have_count(0, timeout=WAIT)
    dora = open_dashboard(new_page, live_server, "dora", wire)
    frid.locator("#on-duty li", has_text="Dora").wait_for(timeout=WAIT)
    dora.locator("#on-duty li", has_text="Frid").wait_for(timeout=WAIT)
    dora.close()  # her last staff socket closes
    expect(frid.locator("#on-duty li", has_text="Dora")).to_have_count(0, timeout=WAIT)


def test_nothing_typed_goes_to_another_visitor_on_enter(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    """The defect as found: a reply typed in one tab, another tab chosen, Enter pressed there."""
    wire = Wire()
    frid = open_dashboard(new_page, live_server, "frid", wire)
    one, two = two_taken(frid, http, live_server, centre)
    tab(frid, one.id).click()
    meant = "hemlig-feil: dette skulle aldri til nummer to"
    frid.locator("#message-input").press_sequentially(meant[:12])
    frid.locator("#message-input").press_sequentially(meant[12:])
    tab(frid, two.id).click()
    frid.press("#message-input", "Enter")
    check = "hemlig-kontroll: bare dette til nummer to"
    send_from_staff(frid, check)
    two.wait_for_text(check)
    assert meant not in two.texts
    tab(frid, one.id).click()
    expect(frid.locator("#message-input")).to_have_value(meant)
    one.close()
    two.close()


def test_a_take_answered_late_does_not_switch_the_box_under_the_counsellors_fingers(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    """Take is clicked on a second visitor while the answer is slow (a bad network, a reconnect);
    meanwhile the counsellor writes to the first. When the answer comes, the rest of what she
    types must not land in the second visitor's box (half a sentence to the wrong victim)."""
    wire = Wire()
    tap = SocketTap()
    dora = open_dashboard(new_page, live_server, "dora", wire, before=tap.install)
    one = LiveVisitor(http, live_server, centre)
    one.say("hei en")
    take(dora, one.id)
    two = LiveVisitor(http, live_server, centre)
    two.say("hei to")
    dora.locator(f"#take-{two.id}:not([disabled])").wait_for(timeout=WAIT)
    # Everything that would tell the page its claim went through waits at the tap.
    tap.holding = lambda frame: frame.get("type") == "ack" or frame.get("conversation") == two.id
    tap.hold = True
    dora.click(f"#take-{two.id}")
    tap.wait_for(wire, lambda frame: frame.get("type") == "ack" and frame.get("conversation") == two.id)
    dora.locator("#message-input").press_sequentially("hemlig-halv: du sa at du ")
    tap.release()
    tab(dora, two.id).wait_for(timeout=WAIT)
    tap.round_trip(wire)
    dora.locator("#message-input").press_sequentially("bor hos ham")
    dora.keyboard.press("Enter")
    one.wait_for_text("hemlig-halv: du sa at du bor hos ham")
    expect(dora.locator("#chat-view")).to_have_attribute("data-conversation", one.id)
    # The second visitor's tab is open and theirs to write in when she chooses it.
    tab(dora, two.id).click()
    expect(dora.locator("#message-input")).to_have_value("")
    send_from_staff(dora, "hemlig-kontroll: til nummer to")
    two.wait_for_text("hemlig-kontroll: til nummer to")
    assert not any("hemlig-halv" in words or "bor hos" in words for words in two.texts)
    one.close()
    two.close()


def test_take_in_two_tabs_of_one_counsellor_opens_it_in_both(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    """Two tabs of one counsellor take the same visitor at once. The tab whose claim lost was
    told "another counsellor has already taken this conversation" and lost sight of it, though
    it was hers."""
    wire = Wire()
    one = open_dashboard(new_page, live_server, "erik", wire)
    two = another_tab(one, live_server, wire)
    visitor = LiveVisitor(http, live_server, centre)
    visitor.say("hei fra besøkende")
    for page in (one, two):
        page.locator(f"#take-{visitor.id}:not([disabled])").wait_for(timeout=WAIT)
    click_together([one, two], f"#take-{visitor.id}")
    for page in (one, two):
        tab(page, visitor.id).wait_for(timeout=WAIT)
        expect(page.locator("#queue-notice")).to_have_count(0)
    tab(two, visitor.id).click()
    send_from_staff(two, "hemlig-fane: fra den andre fanen")
    visitor.wait_for_text("hemlig-fane: fra den andre fanen")
    tab(one, visitor.id).click()
    message(one, "hemlig-fane: fra den andre fanen").wait_for(timeout=WAIT)
    expect(one.locator("#message-input")).to_be_enabled()
    visitor.close()


def test_a_transfer_note_stays_with_its_conversation(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    """The note for a colleague is a message the visitor reads too. It was one box for every
    conversation: a note written about one visitor went, on Transfer in another tab, to the
    other visitor."""
    wire = Wire()
    frid = open_dashboard(new_page, live_server, "frid", wire)
    one, two = two_taken(frid, http, live_server, centre)
    tab(frid, one.id).click()
    frid.click("#transfer summary")
    note = "hemlig-notat: den første er redd for eksmannen"
    frid.fill("#transfer-note", note)
    tab(frid, two.id).click()
    expect(frid.locator("#chat-view")).to_have_attribute("data-conversation", two.id)
    if not frid.locator("#transfer-go").is_visible():
        frid.click("#transfer summary")
    expect(frid.locator("#transfer-note")).to_have_value("")
    dora = next(o for o in frid.locator("#transfer-to option").all_inner_texts() if o.startswith("Dora"))
    frid.select_option("#transfer-to", label=dora)
    frid.click("#transfer-go")
    frid.wait_for_selector("#chat-notice:has-text('transferred to Dora')", timeout=WAIT)
    check = "hemlig-kontroll: etter overføringen"
    two.say(check)
    two.wait_for_text(check)  # everything sent before it has been read too
    assert note not in two.texts
    # The note is still there for the first visitor's own transfer.
    tab(frid, one.id).click()
    if not frid.locator("#transfer-go").is_visible():
        frid.click("#transfer summary")
    expect(frid.locator("#transfer-note")).to_have_value(note)
    one.close()
    two.close()
