/**
 * Keys and values are UTF-8 text: their size in UTF-8 bytes (what the limits count) and the key
 * order (UTF-8 byte order, as etcd's, so a range reads the same here and there). Pure string
 * arithmetic, without Buffer or TextEncoder, so it reads the same in any host.
 */

/**
 * UTF-8 length of a string, or null when it is not well-formed UTF-16 (a lone surrogate has no
 * UTF-8 encoding; letting one in would let two nodes' encoders disagree on the bytes).
 */
export function utf8ByteLength(text: string): number | null {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return null;
      bytes += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return null;
    else bytes += 3;
  }
  return bytes;
}

/** A UTF-16 code unit mapped so that code-unit order equals code-point (hence UTF-8 byte) order. */
function rank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Orders keys by their UTF-8 bytes (JavaScript's `<` orders by UTF-16 code units, which differs above U+D7FF). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}
