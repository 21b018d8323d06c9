// Application plaintext framing and padding to a few fixed buckets, so lengths leak little.

import { concat, Reader, uint } from "./bytes.js";
import { MAX_BODY, PAD_BUCKETS, PLAINTEXT_OVERHEAD } from "./constants.js";
import { ErrorCode, fail } from "./errors.js";

export function bucketFor(bodyLength) {
  const needed = bodyLength + PLAINTEXT_OVERHEAD;
  for (const size of PAD_BUCKETS) if (needed <= size) return size;
  return fail(ErrorCode.OVERSIZE);
}

/** content_type (1) || body length (4) || body || zeros up to the bucket size. */
export function pad(contentType, body) {
  if (!Number.isInteger(contentType) || contentType < 1 || contentType > 255) fail(ErrorCode.MALFORMED);
  if (!(body instanceof Uint8Array)) fail(ErrorCode.MALFORMED);
  if (body.length > MAX_BODY) fail(ErrorCode.OVERSIZE);
  const framed = concat(new Uint8Array([contentType]), uint(body.length, 4), body);
  return concat(framed, new Uint8Array(bucketFor(body.length) - framed.length));
}

/** Inverse of pad(); the size must be a bucket and the padding all zero (canonical). */
export function unpad(padded) {
  if (!PAD_BUCKETS.includes(padded.length)) fail(ErrorCode.MALFORMED);
  const r = new Reader(padded);
  const contentType = r.u8();
  const length = r.u32();
  if (contentType === 0 || length > padded.length - PLAINTEXT_OVERHEAD) fail(ErrorCode.MALFORMED);
  const body = r.take(length);
  if (bucketFor(length) !== padded.length) fail(ErrorCode.MALFORMED);
  for (let i = r.pos; i < padded.length; i++) if (padded[i] !== 0) fail(ErrorCode.MALFORMED);
  return { contentType, body };
}
