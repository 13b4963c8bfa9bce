import { createHash } from 'node:crypto';
import { MAX_ID_LENGTH } from '../users/index.js';

/**
 * No user id is longer (users/ids.ts), so a longer name is refused before anything is looked up,
 * counted or logged whole. Saying so gives nothing away: no account can have such a name.
 */
export const MAX_LOGIN_NAME_LENGTH = MAX_ID_LENGTH;

export const LOGIN_NAME_TOO_LONG = `the user name is longer than ${MAX_LOGIN_NAME_LENGTH} characters; no user has such a name`;

export function fitsLoginName(name: string): boolean {
  return name.length <= MAX_LOGIN_NAME_LENGTH;
}

/** A user name as a log line carries it: whole when it could be a user's, else its start, length and a hash to tell floods apart. */
export function loggedLoginName(name: string): string {
  if (fitsLoginName(name)) return name;
  const digest = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${name.slice(0, 32)}… (${name.length} characters, sha256 ${digest})`;
}
