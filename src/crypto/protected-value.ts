import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CapsuleError } from '../errors.js';

/**
 * `{cap1:<kid>:<base64url(nonce | ciphertext | tag)>}`: AES-256-GCM with the master key whose
 * id is `kid`; the prefix and kid are authenticated too, so a value cannot be relabelled.
 */
const PATTERN = /^\{cap1:([0-9a-f]{16}):([A-Za-z0-9_-]+)\}$/;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;

export const PROTECTED_PREFIX = '{cap1:';

export function isProtectedValue(value: unknown): value is string {
  return typeof value === 'string' && PATTERN.test(value);
}

/** The master key id a protected value was encrypted with, or null when it is not one. */
export function keyIdOfProtected(value: string): string | null {
  return PATTERN.exec(value)?.[1] ?? null;
}

export function encrypt(plain: string, key: Buffer, kid: string): string {
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(`cap1:${kid}`));
  const body = Buffer.concat([nonce, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `{cap1:${kid}:${body.toString('base64url')}}`;
}

/** Decrypts with `keys[kid]`; errors name the value's key id and the ids this instance has. */
export function decrypt(value: string, keys: ReadonlyMap<string, Buffer>, currentKid: string): string {
  const match = PATTERN.exec(value);
  if (!match) throw new CapsuleError('PROTECTED_VALUE_INVALID', 'not a protected value ({cap1:…})');
  const [, kid, encoded] = match as unknown as [string, string, string];
  const key = keys.get(kid);
  if (!key) {
    throw new CapsuleError(
      'KEY_MISMATCH',
      `the value was encrypted with master key ${kid}; this instance's master key is ${currentKid}; restore that key (capsule keys import) or enter the value again`,
    );
  }
  const body = Buffer.from(encoded, 'base64url');
  if (body.length < NONCE_LENGTH + TAG_LENGTH) throw new CapsuleError('PROTECTED_VALUE_INVALID', 'the protected value is truncated');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, NONCE_LENGTH));
    decipher.setAAD(Buffer.from(`cap1:${kid}`));
    decipher.setAuthTag(body.subarray(body.length - TAG_LENGTH));
    return Buffer.concat([decipher.update(body.subarray(NONCE_LENGTH, body.length - TAG_LENGTH)), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new CapsuleError('PROTECTED_VALUE_INVALID', 'the protected value was tampered with or damaged (authentication failed)', {
      cause: error,
    });
  }
}
