"""The visitor's pages: the front page, quick exit, the chat, resuming it, booking.

No cookies, nothing stored, no-store caching.  The pages carry no data about any
conversation or booking: everything happens in the browser (keys, codes, the transcript,
sealing), which talks to the visitor APIs and the websocket.  The words the scripts show
come with the page, already translated, in a JSON data block (not executable, so the CSP
allows it).
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import get_day_names
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.centres import current_centre_of, resolved_by_default
from server.errors import PublicError
from server.i18n import N_, Plural, Translator, is_language, ngettext
from server.languages import INTERPRETER_LANGUAGES
from server.resources import resources
from server.routes import network
from server.services.centre import is_open_at, opening_hours
from server.templating import request_language
from server.validators import page_language

# Words the chat scripts show; keys are what the scripts ask for.
CHAT_STRINGS: dict[str, str | Plural] = {
    "preparing": N_("Preparing a secure conversation…"),
    "copied": N_("Copied."),
    "copy_failed": N_("Could not copy. Select the code and copy it yourself."),
    "error_crypto": N_("Something went wrong while encrypting. Nothing was sent. Please try again."),
    "error_network": N_("Could not reach the service. Check your connection and try again."),
    "error_no_counsellors": N_(
        "No counsellor can receive messages right now. Please try again later, or call us."
    ),
    "error_broken": N_(
        "A message could not be verified, so the chat has stopped to keep you safe. "
        "Reload the page to try again."
    ),
    "you": N_("You"),
    "counsellor": N_("Counsellor"),
    "interpreter": N_("Interpreter"),
    "sending": N_("Sending…"),
    "waiting_connection": N_("Waiting for the connection…"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "read": N_("Read"),
    "failed": N_("Not sent"),
    "typing_named": N_("%(name)s is writing…"),
    "typing": N_("The counsellor is writing…"),
    "joined": N_("%(name)s has joined the conversation."),
    "left": N_("%(name)s has left the conversation."),
    "talking_to": N_("You are talking to %(name)s."),
    "fingerprint": N_("Security number: %(number)s"),
    "who_can_read": ngettext(
        "%(count)s person can read this conversation:", "%(count)s people can read this conversation:"
    ),
    "centre_fingerprint": N_(
        "The centre's fingerprint is %(number)s. Compare it with the fingerprint on the centre's own "
        "website or leaflet: if they differ, do not write anything here."
    ),
    "error_trust": N_(
        "This page could not confirm the centre's keys, so nothing was sent. "
        "Please call us, or try again later."
    ),
    "conversation_code": N_(
        "Your conversation code with %(name)s: %(code)s. If you talk by phone, you can compare it: "
        "the same digits on both screens mean nobody is in between."
    ),
    "queue_position": N_("You are number %(position)s in the queue."),
    "queue_estimate": ngettext(
        "Estimated wait: about %(minutes)s minute.", "Estimated wait: about %(minutes)s minutes."
    ),
    "queue_no_estimate": N_("We cannot estimate the wait right now."),
    "queue_closed": N_(
        "We are closed now. You can leave a message, and come back later with your code to read the answer."
    ),
    "waiting": N_("Waiting for a counsellor. You can write your first message now, or just wait."),
    "status_active": N_("A counsellor is with you."),
    "status_closed": N_("This conversation has ended. You can still read it, or delete it."),
    "connecting": N_("Connecting…"),
    "offline": N_("No connection. Your messages will be sent when the connection is back."),
    "gone": N_("This conversation does not exist or has been deleted."),
    "end_failed": N_("Could not end the conversation. Try again."),
    "delete_failed": N_("Could not delete the conversation. Try again."),
    "delete_bookings": ngettext(
        "%(count)s appointment was booked from this chat:",
        "%(count)s appointments were booked from this chat:",
    ),
    "delete_booking_line": N_("%(when)s, reference %(reference)s"),
    "delete_keep": ngettext("Keep the appointment", "Keep the appointments"),
    "delete_keep_note": ngettext(
        "You are still expected. After the deletion this page cannot show it any more: to change "
        "or cancel it, phone us and give the reference. Write the reference down now.",
        "You are still expected. After the deletion this page cannot show them any more: to change "
        "or cancel one, phone us and give its reference. Write the references down now.",
    ),
    "delete_cancel": ngettext("Cancel the appointment as well", "Cancel the appointments as well"),
    "gone_kept": ngettext(
        "The conversation has been deleted. The appointment still stands: to change or cancel it, "
        "phone us and give the reference. Nothing about the conversation is kept in this browser.",
        "The conversation has been deleted. The appointments still stand: to change or cancel one, "
        "phone us and give its reference. Nothing about the conversation is kept in this browser.",
    ),
    "gone_cancelled": ngettext(
        "The conversation has been deleted and the appointment cancelled. Nothing about them is "
        "kept in this browser.",
        "The conversation has been deleted and the appointments cancelled. Nothing about them is "
        "kept in this browser.",
    ),
    "code_length": N_(
        "A code has 20 letters and digits, in five groups of four. Check that you have all of it."
    ),
    "code_character": N_("The code contains a character that cannot be in a code. Check it again."),
    "code_checksum": N_("There is a typo in the code. Check each character and try again."),
    "code_not_found": N_("No conversation matches this code. Check it, or start a new chat."),
    "code_checking": N_("Checking the code…"),
    "interpreter_requested": N_("You asked for an interpreter: %(language)s."),
    "booked": N_("You booked a consultation for %(when)s (reference %(reference)s)."),
    "dialect_value": N_("dialect: %(dialect)s"),
    "mode_in_person": N_("in person"),
    "mode_remote": N_("remote (phone or video)"),
    "gender_female": N_("preferably a woman"),
    "gender_male": N_("preferably a man"),
    "interpreter_invalid": N_("Choose a language from the list. A dialect can have at most 60 characters."),
    "interpreter_failed": N_("That did not work, so nothing was sent. Please try again."),
    "move_who": N_("Your counsellor suggests that the conversation continues at %(centre)s."),
    "move_unverified": N_("The keys of %(centre)s could not be verified, so the conversation was not moved."),
    "moved": N_("The conversation has moved to %(centre)s. A counsellor there will answer you."),
    "interpreter_joined": N_("%(name)s (interpreter) has joined the conversation."),
    "interpreter_left": N_("%(name)s (interpreter) has left the conversation."),
    "remove_interpreter": N_("Remove %(name)s from the conversation"),
    "invitation_unverified": N_(
        "Someone was invited to join, but who they are could not be verified. They were not let in."
    ),
    "you_declined": N_("You said no thanks to %(name)s."),
    "consent_who": N_("%(name)s (%(role)s) asks to join the conversation."),
    "consent_language": N_("You asked for: %(language)s."),
    "history_shared": N_("The interpreter can now read what was written before they joined."),
    "message_unreadable": N_("A message could not be read."),
}


# Words the booking scripts show; keys are what the scripts ask for.
BOOKING_STRINGS: dict[str, str | Plural] = {
    "loading": N_("Finding free times…"),
    "no_slots": N_("There are no free times in these weeks. Try later weeks, or call us."),
    "no_kinds": N_("Booking is not possible right now. Please call us or start a chat."),
    "more": N_("Show later times"),
    "kind_in_person": N_("In person"),
    "kind_phone": N_("By phone"),
    "kind_video": N_("By video"),
    "chosen": N_("%(date)s at %(time)s"),
    "preparing": N_("Preparing your booking…"),
    "sealing": N_("Encrypting your details…"),
    "booking": N_("Booking…"),
    "copied": N_("Copied."),
    "copy_failed": N_("Could not copy. Select the code and copy it yourself."),
    "error_crypto": N_(
        "Your details could not be encrypted, so nothing was sent. Please try again, or call us."
    ),
    "error_network": N_("Could not reach the service. Check your connection and try again."),
    "error_no_counsellors": N_("No counsellor can receive bookings right now. Please call us instead."),
    "error_trust": N_(
        "This page could not confirm the centre's keys, so nothing was sent. "
        "Please call us, or try again later."
    ),
    "slot_taken": N_("This time is no longer available. Please choose another time."),
    "too_many": N_(
        "This code already holds as many future bookings as allowed. "
        "Cancel one on the page for your bookings first."
    ),
    "rate_limited": N_("Too many bookings from here just now. Please wait a while and try again."),
    "pick_kind": N_("Choose how you want to meet."),
    "bad_email": N_("Check the e-mail address."),
    "bad_phone": N_("Check the phone number: digits, spaces and + only."),
    "reference": N_("Reference: %(reference)s"),
    "same_counsellor": N_("Book with %(name)s, the counsellor from your chat"),
    "from_chat": N_(
        "This booking is linked to your chat. You can see it, move it or cancel it with your chat code."
    ),
    "download_failed": N_("Could not download the calendar invite. Try again."),
    "status_confirmed": N_("Booked"),
    "status_cancelled": N_("Cancelled"),
    "cancel": N_("Cancel the booking"),
    "cancel_confirm": N_("Cancel the booking on %(when)s?"),
    "cancel_yes": N_("Yes, cancel it"),
    "cancel_no": N_("No, keep it"),
    "cancelled": N_("The booking is cancelled. Download the calendar file to remove it from your calendar."),
    "already_cancelled": N_("This booking was already cancelled."),
    "changed": N_(
        "This booking was changed in another window or on another device while you were "
        "looking at it, so nothing was changed here. Here it is as it is now: check it and "
        "try again if you still want to."
    ),
    "reschedule": N_("Choose another time"),
    "rescheduled": N_("The booking is moved to %(when)s. Download the new calendar invite."),
    "download": N_("Download calendar invite"),
    "download_cancel": N_("Download cancellation for your calendar"),
    "no_bookings": N_("There are no bookings for this code."),
    "cancel_failed": N_("Could not cancel the booking. Try again."),
    "code_length": N_(
        "A code has 20 letters and digits, in five groups of four. Check that you have all of it."
    ),
    "code_character": N_("The code contains a character that cannot be in a code. Check it again."),
    "code_checksum": N_("There is a typo in the code. Check each character and try again."),
    "code_not_found": N_("No booking or conversation matches this code. Check it and try again."),
    "code_checking": N_("Checking the code…"),
    "with_counsellor": N_("With %(name)s"),
    "interpreter_line": N_("Interpreter: %(language)s"),
    "past": N_("Past"),
    "chat_noted": N_("The booking is also noted in your chat, for the counsellors."),
    "chat_not_noted": N_("The booking is made. It will be noted in your chat when you go back to it."),
}


def _page(request: Request, template: str, words: dict[str, str | Plural], **context: object) -> Response:
    """A visitor page in the language of its path, with the words its scripts show."""
    language = page_language(request)
    translate = Translator(language)
    strings = {key: translate.for_script(message) for key, message in words.items()}
    return resources(request).renderer.page(
        request, template, {"strings": strings, **context}, language=language
    )


# --- the front page and quick exit ------------------------------------------------------------


async def front_page(request: Request) -> Response:
    """What the centre offers, when it is open, emergency numbers, and the ways to get in touch."""
    language = request.path_params.get("lang")
    if language is not None and not is_language(language):
        raise PublicError(404, N_("This page does not exist."))
    res = resources(request)
    page_lang = language or request_language(request, res.settings)
    if resolved_by_default(request) and len(await res.centres.all()) > 1:
        return await network.choice_page(request, page_lang)  # a network: the visitor chooses
    days = await opening_hours(res)
    now = datetime.now(res.centres.zone())
    day_names = get_day_names("wide", locale=page_lang)
    return res.renderer.page(
        request,
        "visitor/front.html",
        {
            "days": [(day_names[d.weekday], d) for d in days],
            "open_now": is_open_at(days, now),
        },
        language=page_lang,
    )


async def quick_exit(request: Request) -> Response:
    """Leave for a neutral site at once, asking the browser to forget this site's data."""
    response = RedirectResponse(current_centre_of(request).exit_url, status_code=303)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


# --- chat ---------------------------------------------------------------------------------


async def chat_page(request: Request) -> Response:
    """Start an anonymous chat, or reopen the one this tab (or device) keeps."""
    res = resources(request)
    open_now = is_open_at(await opening_hours(res), datetime.now(res.centres.zone()))
    return _page(
        request,
        "visitor/chat.html",
        CHAT_STRINGS,
        open_now=open_now,
        interpreter_languages=INTERPRETER_LANGUAGES,
    )


async def resume_page(request: Request) -> Response:
    """Come back to a conversation from any device with the resume code."""
    return _page(request, "visitor/resume.html", CHAT_STRINGS)


# --- booking ------------------------------------------------------------------------------


async def book_page(request: Request) -> Response:
    """Book an informal consultation: a free time, the type, an interpreter, sealed details."""
    return _page(request, "visitor/book.html", BOOKING_STRINGS, interpreter_languages=INTERPRETER_LANGUAGES)


async def manage_page(request: Request) -> Response:
    """See the bookings a code holds; cancel, move, or download the calendar file."""
    return _page(request, "visitor/booking.html", BOOKING_STRINGS)


routes = [
    Route("/", front_page),
    Route("/exit", quick_exit),
    Route("/{lang}/", front_page),
    Route("/{lang}/chat", chat_page),
    Route("/{lang}/resume", resume_page),
    Route("/{lang}/book", book_page),
    Route("/{lang}/booking", manage_page),
]
