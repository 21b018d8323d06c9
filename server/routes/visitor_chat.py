"""The visitor's chat pages: start (or reopen) an anonymous chat, and resume one with a code.

The pages carry no data about any conversation: everything happens in the
browser (keys, the resume code, the transcript), which talks to the visitor
API and the websocket.  The words the scripts show come with the page, already
translated, in a JSON data block (not executable, so the CSP allows it).
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import PublicError
from server.i18n import N_, Translator, is_language
from server.languages import INTERPRETER_LANGUAGES
from server.resources import resources
from server.services.centre import is_open_at, opening_hours

# Words the chat scripts show; keys are what the scripts ask for.
CHAT_STRINGS = {
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
    "queue_position": N_("You are number %(position)s in the queue."),
    "queue_estimate": N_("Estimated wait: about %(minutes)s minutes."),
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
}


def visitor_language(request: Request) -> str:
    """The language in a visitor page's path (/nb/…, /sv/…, /en/…); any other is a 404."""
    language = str(request.path_params["lang"])
    if not is_language(language):
        raise PublicError(404, N_("This page does not exist."))
    return language


def strings(language: str) -> dict[str, str]:
    translate = Translator(language)
    return {key: translate(message) for key, message in CHAT_STRINGS.items()}


async def chat_page(request: Request) -> Response:
    """Start an anonymous chat, or reopen the one this tab (or device) keeps."""
    language = visitor_language(request)
    res = resources(request)
    days = await opening_hours(res.db)
    context = {
        "open_now": is_open_at(days, datetime.now(res.settings.zone)),
        "strings": strings(language),
        "interpreter_languages": INTERPRETER_LANGUAGES,
    }
    return res.renderer.page(request, "visitor/chat.html", context, language=language)


async def resume_page(request: Request) -> Response:
    """Come back to a conversation from any device with the resume code."""
    language = visitor_language(request)
    res = resources(request)
    return res.renderer.page(
        request, "visitor/resume.html", {"strings": strings(language)}, language=language
    )


routes = [
    Route("/{lang}/chat", chat_page),
    Route("/{lang}/resume", resume_page),
]
