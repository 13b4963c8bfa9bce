import { createHash, randomBytes } from 'node:crypto';
import { CapsuleError } from '../errors.js';

export const KEY_LENGTH = 32;

/** The first 16 hex digits of SHA-256 of the key: names a key without revealing it. */
export function keyId(key: Uint8Array): string {
  return fingerprint(key).slice(0, 16);
}

/** SHA-256 of the key bytes, hex: what operators compare across instances (instead of md5sum). */
export function fingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateKey(): Buffer {
  return randomBytes(KEY_LENGTH);
}

/** Refuses anything but exactly 32 bytes, with the likely cause of the wrong length. */
export function checkKeyBytes(bytes: Uint8Array, where: string): Buffer {
  const buffer = Buffer.from(bytes);
  if (buffer.length === KEY_LENGTH) return buffer;
  const text = buffer.toString('latin1');
  let cause = 'it is not a Capsule key';
  if (buffer.length === 0) cause = 'it is empty';
  else if (buffer.length === KEY_LENGTH + 1 && text.endsWith('\n')) cause = 'a trailing newline, added by an editor or echo';
  else if (buffer.length === KEY_LENGTH + 2 && text.endsWith('\r\n')) cause = 'a trailing CR LF, added by an editor';
  else if (/^[0-9a-f]{64}\s*$/i.test(text)) cause = 'it is hex text; a key file holds the raw 32 bytes';
  else if (/^[A-Za-z0-9+/_-]{43}=?\s*$/.test(text)) cause = 'it is base64 text; a key file holds the raw 32 bytes';
  throw new CapsuleError(
    'KEY_INVALID',
    `${where} is ${buffer.length} bytes, not ${KEY_LENGTH}: ${cause}; restore it with 'capsule keys import'`,
  );
}

export interface KeyDescription {
  readonly id: string;
  readonly sha256: string;
}

export function describeKey(key: Uint8Array): KeyDescription {
  return { id: keyId(key), sha256: fingerprint(key) };
}
