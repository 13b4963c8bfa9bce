import { createHash, randomBytes } from 'node:crypto';

/**
 * The format of an operator's admin API key, shared by the instance that checks it (auth/admin-keys.ts)
 * and the farm command that makes one for every member (farm/remote/, through member/protocol.ts):
 * `cap_ak_<id>_<secret>`, id 16 hex digits (how a member looks the key up), secret 32 random bytes
 * (256 bits) in base64url. What a member stores, and what travels to it, is SHA-256 of the whole key.
 */
export const ADMIN_KEY_PREFIX = 'cap_ak_';
export const ADMIN_KEY_SHAPE = /^cap_ak_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const ADMIN_KEY_ID_SHAPE = /^[0-9a-f]{16}$/;
export const ADMIN_KEY_HASH_SHAPE = /^[0-9a-f]{64}$/;
export const ADMIN_KEY_NAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function newAdminKey(): string {
  return `${ADMIN_KEY_PREFIX}${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
}

export function hashOfAdminKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The key's id, or null for a value shaped like no key. */
export function idOfAdminKey(key: string): string | null {
  return ADMIN_KEY_SHAPE.exec(key)?.[1] ?? null;
}
