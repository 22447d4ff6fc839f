/**
 * The request target (RFC 9112 section 3.2) as a URL the routes can trust. Node's parser passes
 * targets such as `//` or `http://[` on; WHATWG URL then throws, or reads `//host/x` and `/\host/x`
 * as another host. Every such target becomes a 400 here, before any other check.
 */
import { HttpError } from './http.js';

/** Longer targets are refused (414); no route takes more than a short query. */
export const MAX_TARGET_BYTES = 8 * 1024;

const BASE_HOST = 'conclave.invalid';
const BASE = `http://${BASE_HOST}`;
/** How much of a refused target the error message quotes. */
const QUOTED_CHARS = 100;
// A client that sends such a target does not speak this API: closing frees its socket at once.
const CLOSE = { connection: 'close' } as const;

/**
 * Origin-form (`/v1/status?x=1`) or absolute-form (`http://host/v1/status`, the host is ignored)
 * to a URL on a fixed base; HttpError 400 `bad-target` or 414 `target-too-long` otherwise.
 */
export function parseTarget(target: string | undefined): URL {
  const raw = target ?? '';
  const bytes = Buffer.byteLength(raw);
  if (bytes > MAX_TARGET_BYTES) {
    throw new HttpError(414, 'target-too-long', `the request target is ${bytes} bytes, more than the ${MAX_TARGET_BYTES} this API accepts`, CLOSE);
  }
  const url = raw.startsWith('/') ? tryUrl(raw, BASE) : /^https?:\/\//i.test(raw) ? rebase(tryUrl(raw)) : null;
  // A target that names another host through the base (`//host`, `/\host`) is not a path.
  if (url === null || url.host !== BASE_HOST || url.protocol !== 'http:') {
    throw new HttpError(400, 'bad-target', `the request target ${JSON.stringify(raw.slice(0, QUOTED_CHARS))} is neither a path like /v1/status nor an absolute http URL`, CLOSE);
  }
  return url;
}

function tryUrl(raw: string, base?: string): URL | null {
  return URL.canParse(raw, base) ? new URL(raw, base) : null;
}

/** Absolute-form keeps only its path and query: this server is no proxy. */
function rebase(url: URL | null): URL | null {
  return url === null ? null : new URL(`${url.pathname}${url.search}`, BASE);
}
