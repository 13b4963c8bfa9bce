import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { CryptoSupport } from '../crypto/index.js';

/**
 * A small JSON value the browser carries for a login handler (between the redirect to a
 * provider and its answer), signed with a key derived from the farm's HMAC key: the answer may
 * land on any instance with the same keys (no sticky sessions). `purpose` goes into the key
 * derivation, so a login token, an OpenID state and a SAML state can never pass for each other.
 * Format: `<kid>.<base64url(JSON)>.<base64url(HMAC-SHA256)>`.
 */

const MAX_SEALED_LENGTH = 4096;

function mac(hmacKey: Buffer, purpose: string, input: string): Buffer {
  const derived = Buffer.from(hkdfSync('sha256', hmacKey, Buffer.alloc(0), purpose, 32));
  return createHmac('sha256', derived).update(input).digest();
}

export function sealState(value: object, purpose: string, crypto: CryptoSupport): string {
  const signing = crypto.signingKey();
  const input = `${signing.kid}.${Buffer.from(JSON.stringify(value)).toString('base64url')}`;
  return `${input}.${mac(signing.key, purpose, input).toString('base64url')}`;
}

/** The parsed value, or null when the text is missing, too long, forged, signed by an unknown key or not JSON. The caller checks its shape. */
export function openState(sealed: string | undefined, purpose: string, crypto: CryptoSupport): unknown {
  if (!sealed || sealed.length > MAX_SEALED_LENGTH) return null;
  const parts = sealed.split('.');
  if (parts.length !== 3) return null;
  const [kid, payload, signature] = parts as [string, string, string];
  const key = crypto.verificationKey(kid);
  if (!key) return null;
  const expected = mac(key, purpose, `${kid}.${payload}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
