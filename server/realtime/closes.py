"""The close codes the server ends a websocket with, one per cause (docs/API.md lists them).

4401–4408: the staff session behind the socket ended or changed; the page should go back to
/staff/ (which shows the login page when the session is gone).  4429–4431 and 4503: a limit;
the page may reconnect later.  1008 (policy violation) stays for a handshake from another
origin and for a missing or unknown visitor token.
"""

from __future__ import annotations

from enum import IntEnum


class Close(IntEnum):
    LOGGED_OUT = 4401  # this session logged out, or was no longer there when the socket asked
    LOGGED_OUT_EVERYWHERE = 4402  # "Log out everywhere" ended every session of the account
    DEACTIVATED = 4403  # an administrator deactivated the account
    ROLE_CHANGED = 4404  # the account's role changed: the page must load again for the new role
    PASSWORD_CHANGED = 4405  # the password was changed (every session of the account ended)
    PASSWORD_RESET = 4406  # an administrator forced a password reset
    SESSION_IDLE = 4407  # no request and no action for TRYGG_SESSION_IDLE_MINUTES
    SESSION_EXPIRED = 4408  # the session reached TRYGG_SESSION_MAX_HOURS
    RATE_LIMITED = 4429  # frames kept coming after `rate_limited` errors
    TOO_MANY_FOR_TOKEN = 4430  # too many sockets for one visitor token or one staff session
    TOO_MANY_FROM_CLIENT = 4431  # too many sockets from one client address
    BUSY = 4503  # this process holds as many websockets as it allows, or is too busy now (admission.py)


# The `reason` of a `session_ended` bus event (server/realtime/events.py) -> the close code of
# the sockets whose session it ended.
FOR_REASON = {
    "logout": Close.LOGGED_OUT,
    "logout_everywhere": Close.LOGGED_OUT_EVERYWHERE,
    "deactivated": Close.DEACTIVATED,
    "role_changed": Close.ROLE_CHANGED,
    "password_changed": Close.PASSWORD_CHANGED,
    "password_reset": Close.PASSWORD_RESET,
    "expired_idle": Close.SESSION_IDLE,
    "expired": Close.SESSION_EXPIRED,
}
