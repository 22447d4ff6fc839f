/** Fixed-width cell helpers shared by the view-model parts. */

/** `value` cut or padded to exactly `width` columns; a cut ends in `…`. */
export function cell(value: string, width: number): string {
  if (width <= 0) return '';
  if (value.length <= width) return value.padEnd(width);
  return width === 1 ? '…' : `${value.slice(0, width - 1)}…`;
}

/** `hh:mm:ss` of an epoch time, in the dashboard's local time zone. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `/ip4/127.0.0.1/tcp/4001` as `127.0.0.1:4001`; other multiaddrs unchanged. */
export function shortAddress(addr: string | undefined): string {
  if (!addr) return '-';
  const match = /^\/(?:ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)/.exec(addr);
  if (!match) return addr;
  const host = match[1]!;
  return host.includes(':') ? `[${host}]:${match[2]}` : `${host}:${match[2]}`;
}
