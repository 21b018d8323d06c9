// Canned replies, per counsellor, encrypted in the browser to the counsellor's own key.
//
// Each reply is sealed with HPKE base mode (RFC 9180: X25519, HKDF-SHA256, AES-256-GCM — the
// protocol's own HPKE, web/static/js/protocol/hpke.js) to the counsellor's own X25519 public
// key, with info = "TRYGG-v1 canned-reply" || 0x00 || staff id, so a reply sealed for one person
// opens for no one else and cannot be mistaken for any protocol object. Stored form:
// 0x01 (version) || enc (32 bytes) || ciphertext. The server sees only the size.

import * as hpke from "../protocol/hpke.js";
import { label } from "../protocol/constants.js";
import { b64decode, b64encode, concat, utf8, utf8Decode } from "./keys-lib.js";
import { staffApi } from "../shared/http.js";

const VERSION = 1;
const EMPTY = new Uint8Array(0);
export const MAX_CHARS = 2000; // well inside the server's 8 KiB per reply, even in UTF-8

function info(identity) {
  return label("canned-reply", identity.memberId);
}

export async function seal(identity, text) {
  const { enc, ciphertext } = await hpke.seal(identity.kemPublic, info(identity), EMPTY, utf8(text), async (n) =>
    crypto.getRandomValues(new Uint8Array(n)),
  );
  return concat(new Uint8Array([VERSION]), enc, ciphertext);
}

export async function open(identity, blob) {
  if (blob.length < 1 + 32 + 16 || blob[0] !== VERSION) throw new Error("malformed");
  const plain = await hpke.open(blob.slice(1, 33), identity.kemPrivate, identity.kemPublic, info(identity), EMPTY, blob.slice(33));
  return utf8Decode(plain);
}

/** My replies, opened: [{id, text}] (replies that no longer open — an old key — are skipped). */
export async function listReplies(identity) {
  const rows = await staffApi("GET", "/api/staff/canned");
  const out = [];
  for (const row of rows) {
    try {
      out.push({ id: row.id, text: await open(identity, b64decode(row.body, 16384)) });
    } catch {
      // sealed to a key this person no longer has
    }
  }
  return out;
}

export async function saveReply(identity, text) {
  const created = await staffApi("POST", "/api/staff/canned", { body: b64encode(await seal(identity, text)) });
  return created.id;
}

export async function deleteReply(id) {
  await staffApi("DELETE", `/api/staff/canned/${id}`);
}
