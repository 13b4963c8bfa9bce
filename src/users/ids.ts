import { CapsuleError } from '../errors.js';

export const MAX_ID_LENGTH = 128;
// Letters, digits and . _ @ + -, starting with a letter or digit: safe as a path segment,
// in a cookie-free claim, on a command line and in HTML.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/;

/** Throws INVALID_ID with a message that says what is wrong with `id`. */
export function checkId(kind: 'user' | 'group', id: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new CapsuleError('INVALID_ID', `the ${kind} id is empty`);
  }
  if (id.length > MAX_ID_LENGTH) {
    throw new CapsuleError('INVALID_ID', `the ${kind} id is longer than ${MAX_ID_LENGTH} characters`);
  }
  if (!ID_PATTERN.test(id)) {
    throw new CapsuleError(
      'INVALID_ID',
      `the ${kind} id '${id.replace(/[^\x20-\x7e]/g, '?')}' may use only letters, digits and . _ @ + -, and must start with a letter or digit`,
    );
  }
  return id;
}

/** `/home/users/a/alice`: a folder per first letter keeps sibling lists short. */
export function authorizablePath(root: string, id: string): string {
  return `${root}/${id[0]!.toLowerCase()}/${id}`;
}
