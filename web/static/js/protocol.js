// Trygg's end-to-end encryption protocol for the browser (and Node 20+): WebCrypto only, no DOM,
// no dependencies. The same protocol as the Python package `crypto`; see crypto/PROTOCOL.md.
// Everything here is async and throws only ProtocolError (with a stable .code).

export { ErrorCode, ProtocolError } from "./protocol/errors.js";
export { ContentType, LIVE_SKEW, MAX_CLOCK_SKEW, MAX_ITERATIONS, MIN_ITERATIONS, ObjectType, Role } from "./protocol/constants.js";
export { b64decode, b64encode, concat, fromHex, toHex, utf8, utf8Decode } from "./protocol/bytes.js";
export { generateAdminKey, memberFromPrivateBytes } from "./protocol/identity.js";
export { certify, signDirectory, verifyCertificate, verifyDirectory } from "./protocol/certificates.js";
export { createAdminKey, createStaffIdentity, importAdminBackup, importStaffBackup } from "./protocol/backup.js";
export { generateRecoveryPhrase, parseRecoveryPhrase } from "./protocol/recovery.js";
export { deriveResumeKeys, formatResumeCode, generateResumeCode, parseResumeCode } from "./protocol/resume.js";
export { createConversation, importVisitorState, resumeConversation } from "./protocol/visitor.js";
export { Conversation, openConversation } from "./protocol/conversation.js";
export { encodeAddProposal, encodeRemoveProposal, parseProposal } from "./protocol/messages.js";
export { conversationCode, fingerprint, safetyNumber } from "./protocol/fingerprint.js";
export {
  centreFingerprint,
  cosignTrustRoot,
  draftTrustRoot,
  shortCentreFingerprint,
  TrustRoot,
  verifyTrustRoot,
} from "./protocol/trust.js";
export {
  entryOf,
  LogKind,
  logChain,
  parseLogHead,
  signLogHead,
  verifyLogConsistency,
  verifyLogHead,
  verifyLogInclusion,
} from "./protocol/log.js";
export { checkClaimedTime, checkListedMembers, peek, verifySenderSignature } from "./protocol/wire.js";
