/**
 * The libp2p private-network (pnet) swarm key: `/key/swarm/psk/1.0.0/`, `/base16/`, then 32
 * bytes as 64 hex digits. pnet itself only checks the key length, so a wrong header or a
 * truncated key is caught here, with the file named, before the node starts.
 */
import { readFile } from 'node:fs/promises';
import { SwarmKeyError } from './errors.js';

const HEADER = '/key/swarm/psk/1.0.0/';
const CODEC = '/base16/';
const KEY_HEX_RE = /^[0-9a-fA-F]{64}$/;
/** pnet's key length: 32 bytes (the 64 hex digits above). */
export const SWARM_KEY_BYTES = 32;

/** The text of a swarm key file holding `key` (32 random bytes, e.g. from crypto.randomBytes). */
export function formatSwarmKey(key: Uint8Array): string {
  if (key.length !== SWARM_KEY_BYTES) throw new RangeError(`a swarm key is ${SWARM_KEY_BYTES} bytes, got ${key.length}`);
  return `${HEADER}\n${CODEC}\n${Buffer.from(key).toString('hex')}\n`;
}

/** Reads and validates a swarm key file; returns its canonical bytes for `preSharedKey({ psk })`. */
export async function readSwarmKey(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SwarmKeyError(path, `cannot be read (${code ?? (err as Error).message})`);
  }
  const problem = swarmKeyProblem(text);
  if (problem !== null) throw new SwarmKeyError(path, problem);
  return canonicalSwarmKey(text);
}

/** Why `text` is not a pnet v1 swarm key, or null when it is one. */
export function swarmKeyProblem(text: string): string | null {
  const lines = swarmKeyLines(text);
  if (lines[0] !== HEADER) return `does not start with ${HEADER}`;
  if (lines[1] !== CODEC) return `has ${JSON.stringify(lines[1] ?? '')} where ${CODEC} belongs (only base16 is supported)`;
  if (!KEY_HEX_RE.test(lines[2] ?? '')) return 'does not hold a 64-digit hex key on its third line';
  if (lines.length > 3) return 'has extra lines after the key';
  return null;
}

/** The same key in the exact form pnet parses, whatever line endings or spacing the file had. */
function canonicalSwarmKey(text: string): Uint8Array {
  const key = swarmKeyLines(text)[2]!.toLowerCase();
  return new TextEncoder().encode(`${HEADER}\n${CODEC}\n${key}`);
}

function swarmKeyLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/).map((line) => line.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
