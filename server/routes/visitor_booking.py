"""The visitor's booking pages: book an informal consultation, and see, cancel or move a booking.

Like the chat pages they carry no data about anyone: the scripts load the free times
from the booking API (docs/BOOKING.md), seal the note, contact details and interpreter
request in the browser to the centre's counsellors, and keep the holder token only in
this tab's sessionStorage.  The words the scripts show come with the page, translated,
in a JSON data block.  No cookies.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.i18n import N_, Translator
from server.languages import INTERPRETER_LANGUAGES
from server.resources import resources
from server.routes.visitor_chat import visitor_language

# Words the booking scripts show; keys are what the scripts ask for.
BOOKING_STRINGS = {
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


def strings(language: str) -> dict[str, str]:
    translate = Translator(language)
    return {key: translate(message) for key, message in BOOKING_STRINGS.items()}


async def book_page(request: Request) -> Response:
    """Book an informal consultation: a free time, the type, an interpreter, sealed details."""
    language = visitor_language(request)
    res = resources(request)
    context = {"strings": strings(language), "interpreter_languages": INTERPRETER_LANGUAGES}
    return res.renderer.page(request, "visitor/book.html", context, language=language)


async def manage_page(request: Request) -> Response:
    """See the bookings a code holds; cancel, move, or download the calendar file."""
    language = visitor_language(request)
    res = resources(request)
    return res.renderer.page(
        request, "visitor/booking.html", {"strings": strings(language)}, language=language
    )


routes = [
    Route("/{lang}/book", book_page),
    Route("/{lang}/booking", manage_page),
]
