import { randomBytes } from 'node:crypto';

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

/** 16 random bytes (128 bits), base64url: 22 characters, what a token carries as `sid`. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** Exactly the shape `newSessionId` makes: anything else is refused before it reaches a store or a path. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID.test(value);
}
