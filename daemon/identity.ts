/**
 * The node's libp2p identity: an Ed25519 key in `<dataDir>/peer.key` (base64 of the libp2p
 * protobuf form, one line, mode 0600). Created once, atomically; a key that cannot be read or
 * parsed is reported and never replaced, because a new key is a new peer id — a different node.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { IdentityError } from './errors.js';
import { writeFileDurably } from './store.js';

export const IDENTITY_FILE = 'peer.key';

export interface Identity {
  privateKey: PrivateKey;
  peerId: string;
  /** True when this call generated the key (first start with this data dir). */
  created: boolean;
}

/** Callers hold the data dir lock, so no other process creates the key concurrently. */
export async function loadOrCreateIdentity(dataDir: string): Promise<Identity> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, IDENTITY_FILE);
  const existing = readKeyFile(path);
  if (existing !== null) return { privateKey: existing, peerId: peerIdFromPrivateKey(existing).toString(), created: false };
  const privateKey = await generateKeyPair('Ed25519');
  writeFileDurably(path, `${Buffer.from(privateKeyToProtobuf(privateKey)).toString('base64')}\n`, 0o600);
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), created: true };
}

/** The stored key, or null when there is none yet. */
function readKeyFile(path: string): PrivateKey | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new IdentityError(path, `cannot be read (${code ?? (err as Error).message})`);
  }
  const encoded = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new IdentityError(path, 'is not a base64-encoded libp2p private key');
  try {
    return privateKeyFromProtobuf(Buffer.from(encoded, 'base64'));
  } catch (err) {
    throw new IdentityError(path, `does not hold a valid libp2p private key (${(err as Error).message})`);
  }
}
