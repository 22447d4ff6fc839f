/**
 * Direct-message frames: UTF-8 JSON inside it-length-prefixed framing. Decisions about one
 * frame are pure functions here; the stream plumbing lives in channel.ts and inbound.ts.
 */
/** Hard cap on the length prefix, as a multiple of maxFrameBytes: beyond it the stream is reset. */
export const HARD_CAP_FACTOR = 16;

export type DecodedFrame = { ok: true; message: unknown } | { ok: false; reason: 'oversized' | 'malformed' };

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function decodeFrame(bytes: Uint8Array, maxFrameBytes: number): DecodedFrame {
  if (bytes.byteLength > maxFrameBytes) return { ok: false, reason: 'oversized' };
  try {
    return { ok: true, message: JSON.parse(decoder.decode(bytes)) as unknown };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/** The frame payload for `message`, or null when it has no JSON form (undefined, a function). */
export function encodeFrame(message: unknown): Uint8Array | null {
  const text = JSON.stringify(message) as string | undefined;
  return text === undefined ? null : encoder.encode(text);
}
