import { randomBytes } from 'node:crypto';

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * 16 random bytes (128 bits), base64url: 22 characters, what a token carries as `sid`. Never one
 * that begins with '-': a command line would read it as an option (`capsule sessions revoke -x…`),
 * so such a draw is made again (1 in 64; 127.9 bits remain).
 */
export function newSessionId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (id[0] !== '-') return id;
  }
}

/** The shape of a session id (an id that begins with '-', made before, is one too): anything else is refused before it reaches a store or a path. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID.test(value);
}
