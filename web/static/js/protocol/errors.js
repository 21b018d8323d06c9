// The one exception the protocol throws, carrying a stable, documented error code.

export const ErrorCode = Object.freeze({
  MALFORMED: "malformed",
  TRUNCATED: "truncated",
  OVERSIZE: "oversize",
  UNSUPPORTED_VERSION: "unsupported_version",
  UNSUPPORTED_SUITE: "unsupported_suite",
  WRONG_CONVERSATION: "wrong_conversation",
  REPLAY: "replay",
  GAP: "gap",
  FORK: "fork",
  WRONG_EPOCH: "wrong_epoch",
  NOT_A_MEMBER: "not_a_member",
  FORBIDDEN: "forbidden",
  BAD_CERTIFICATE: "bad_certificate",
  BAD_SIGNATURE: "bad_signature",
  BAD_CONFIRMATION: "bad_confirmation",
  BAD_TAG: "bad_tag",
  BAD_TIME: "bad_time",
  BAD_ROOT: "bad_root",
  BAD_LOG: "bad_log",
  BAD_DIRECTORY: "bad_directory",
  NO_KEY: "no_key",
  NO_RECIPIENTS: "no_recipients",
  BAD_CODE_LENGTH: "bad_code_length",
  BAD_CODE_CHARACTER: "bad_code_character",
  BAD_CODE_CHECKSUM: "bad_code_checksum",
  WEAK_PARAMETERS: "weak_parameters",
  INTERNAL: "internal_error",
});

/** Rejection of an input or a refused operation; the message is only the code, never data. */
export class ProtocolError extends Error {
  constructor(code) {
    super(code);
    this.name = "ProtocolError";
    this.code = code;
  }
}

export function fail(code) {
  throw new ProtocolError(code);
}

/**
 * Let only ProtocolError escape; anything unexpected becomes INTERNAL without its details
 * (so no key material a platform error might mention can reach a log).
 */
export function guard(fn) {
  return async function guarded(...args) {
    try {
      return await fn.apply(this, args);
    } catch (e) {
      if (e instanceof ProtocolError) throw e;
      throw new ProtocolError(ErrorCode.INTERNAL);
    }
  };
}

/** Synchronous twin of guard() for the few pure functions (resume code parsing). */
export function guardSync(fn) {
  return function guarded(...args) {
    try {
      return fn.apply(this, args);
    } catch (e) {
      if (e instanceof ProtocolError) throw e;
      throw new ProtocolError(ErrorCode.INTERNAL);
    }
  };
}
