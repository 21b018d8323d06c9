// Byte helpers: canonical encoding (big-endian, length-prefixed), strict base64url, UTF-8.

import { ErrorCode, fail } from "./errors.js";

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(text) {
  if (typeof text !== "string") fail(ErrorCode.MALFORMED);
  return encoder.encode(text);
}

/** Strict UTF-8 decoding; invalid sequences are MALFORMED. */
export function utf8Decode(bytes) {
  if (!(bytes instanceof Uint8Array)) fail(ErrorCode.MALFORMED);
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return fail(ErrorCode.MALFORMED);
  }
}

export function concat(...parts) {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Equality for public data. */
export function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Comparison without early exit, for anything derived from a secret. */
export function ctEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function toHex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function fromHex(text) {
  if (typeof text !== "string" || text.length % 2 !== 0 || /[^0-9a-fA-F]/.test(text)) fail(ErrorCode.MALFORMED);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** base64url without padding (RFC 4648 §5), the transport form of every object. */
export function b64encode(bytes) {
  if (!(bytes instanceof Uint8Array)) fail(ErrorCode.MALFORMED);
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += B64[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/** Strict base64url: no padding or whitespace, canonical trailing bits, bounded length. */
export function b64decode(text, maxLen = 131072) {
  if (typeof text !== "string") fail(ErrorCode.MALFORMED);
  if (text.length > Math.floor((maxLen * 4 + 2) / 3)) fail(ErrorCode.OVERSIZE);
  if (text.length % 4 === 1) fail(ErrorCode.MALFORMED);
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of text) {
    const v = B64_INDEX.get(c);
    if (v === undefined) fail(ErrorCode.MALFORMED);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) fail(ErrorCode.MALFORMED); // non-zero trailing bits
  return out;
}

export function uint(value, width) {
  if (typeof value === "number" && !Number.isSafeInteger(value)) fail(ErrorCode.MALFORMED);
  if (typeof value !== "number" && typeof value !== "bigint") fail(ErrorCode.MALFORMED);
  let v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(8 * width)) fail(ErrorCode.MALFORMED);
  const out = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Consume a byte string field by field; every read is bounds-checked. */
export class Reader {
  constructor(data) {
    if (!(data instanceof Uint8Array)) fail(ErrorCode.MALFORMED);
    this.data = data;
    this.pos = 0;
  }

  take(n) {
    if (this.pos + n > this.data.length) fail(ErrorCode.TRUNCATED);
    const out = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8() {
    return this.take(1)[0];
  }

  u16() {
    const b = this.take(2);
    return (b[0] << 8) | b[1];
  }

  u32() {
    const b = this.take(4);
    return ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
  }

  /** u64 as a BigInt (timestamps); callers compare with BigInt. */
  u64() {
    const b = this.take(8);
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    return v;
  }

  opaque(width, maxLen, minLen = 0) {
    const b = this.take(width);
    let n = 0;
    for (const x of b) n = n * 256 + x;
    if (n > maxLen) fail(ErrorCode.OVERSIZE);
    if (n < minLen) fail(ErrorCode.MALFORMED);
    return this.take(n);
  }

  consumed(start = 0) {
    return this.data.slice(start, this.pos);
  }

  finish() {
    if (this.pos !== this.data.length) fail(ErrorCode.MALFORMED);
  }
}

/** Build a canonical encoding. */
export class Writer {
  constructor() {
    this.parts = [];
  }

  raw(bytes) {
    this.parts.push(bytes);
    return this;
  }

  fixed(bytes, n) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== n) fail(ErrorCode.MALFORMED);
    this.parts.push(bytes);
    return this;
  }

  u8(v) {
    return this.raw(uint(v, 1));
  }

  u16(v) {
    return this.raw(uint(v, 2));
  }

  u32(v) {
    return this.raw(uint(v, 4));
  }

  u64(v) {
    return this.raw(uint(v, 8));
  }

  opaque(bytes, width) {
    if (!(bytes instanceof Uint8Array)) fail(ErrorCode.MALFORMED);
    this.raw(uint(bytes.length, width));
    return this.raw(bytes);
  }

  bytes() {
    return concat(...this.parts);
  }
}
