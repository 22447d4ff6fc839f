/**
 * Web pages must not drive the control API. A page on any site can make the browser send a plain
 * POST to 127.0.0.1:7400 (no CORS preflight for a simple request) and so move leadership, and by
 * DNS rebinding (its own name resolving to 127.0.0.1) it can even read the replies. The CLI, the
 * dashboard and curl send neither an Origin header nor a foreign Host name; browsers send both.
 * Decided here, pure, for the TCP listener (a browser cannot reach the Unix socket).
 */
import { isIP } from 'node:net';

/** Why a request looks like it came from a web page, or null. `authenticated`: TCP with api.token. */
export function browserRefusal(headers: { origin?: string; host?: string; 'sec-fetch-site'?: string | string[] }, authenticated: boolean): string | null {
  if (headers.origin !== undefined || headers['sec-fetch-site'] !== undefined) {
    return 'requests from web pages are refused (this request carries a browser Origin); use the CLI or a plain HTTP client';
  }
  // With a token a rebinding page cannot authenticate anyway; without one the Host it sent is
  // the only sign that the browser believes it talks to another site.
  if (!authenticated && headers.host !== undefined && !isLocalHost(headers.host)) {
    return `the Host header ${JSON.stringify(headers.host.slice(0, 100))} is not an IP address or localhost; without api.token only those are accepted (a web page may be reaching this API by DNS rebinding)`;
  }
  return null;
}

function isLocalHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return name.toLowerCase() === 'localhost' || isIP(name) !== 0;
}
