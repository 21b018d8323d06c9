"""The one exception the protocol raises, carrying a stable, documented error code."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar


class ErrorCode(enum.StrEnum):
    """Why an object was rejected; the same strings are used by protocol.js and the vectors."""

    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    OVERSIZE = "oversize"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNSUPPORTED_SUITE = "unsupported_suite"
    WRONG_CONVERSATION = "wrong_conversation"
    REPLAY = "replay"
    GAP = "gap"
    FORK = "fork"
    WRONG_EPOCH = "wrong_epoch"
    NOT_A_MEMBER = "not_a_member"
    FORBIDDEN = "forbidden"
    BAD_CERTIFICATE = "bad_certificate"
    BAD_SIGNATURE = "bad_signature"
    BAD_CONFIRMATION = "bad_confirmation"
    BAD_TAG = "bad_tag"
    BAD_TIME = "bad_time"
    BAD_ROOT = "bad_root"
    BAD_LOG = "bad_log"
    BAD_DIRECTORY = "bad_directory"
    NO_KEY = "no_key"
    NO_RECIPIENTS = "no_recipients"
    BAD_CODE_LENGTH = "bad_code_length"
    BAD_CODE_CHARACTER = "bad_code_character"
    BAD_CODE_CHECKSUM = "bad_code_checksum"
    WEAK_PARAMETERS = "weak_parameters"
    INTERNAL = "internal_error"


class ProtocolError(Exception):
    """Rejection of an input or a refused operation; the message is only the code, never data."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code.value)
        self.code = code

    def __repr__(self) -> str:
        return f"ProtocolError({self.code.value!r})"


P = ParamSpec("P")
R = TypeVar("R")


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Let only ProtocolError escape; anything unexpected becomes INTERNAL without its details.

    The original exception is dropped (``from None``) so no key material or plaintext that an
    underlying library put in its message can reach a log.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ProtocolError:
            raise
        except Exception:
            raise ProtocolError(ErrorCode.INTERNAL) from None

    return wrapper
