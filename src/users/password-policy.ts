import { CapsuleError } from '../errors.js';

/**
 * NIST SP 800-63B's rules for a password that is set (5.1.1.2): a minimum length, a maximum that
 * permits long passphrases, no password from a list of common ones, and no composition rules
 * (no "one digit, one symbol"), which push people to `Password1!` without making guessing harder.
 */
export interface PasswordPolicy {
  /** Characters (Unicode code points, as NIST counts them) a new password has at least. */
  readonly minLength: number;
  /** Characters a new password has at most (at most MAX_PASSWORD_LENGTH). */
  readonly maxLength: number;
}

/** No password is longer (the policy refuses it when set), so a longer one at login is wrong without hashing it. */
export const MAX_PASSWORD_LENGTH = 1024;

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = { minLength: 12, maxLength: MAX_PASSWORD_LENGTH };

/**
 * The common passwords, read once and only when a password is first set (the list is about
 * 50,000 words; a login never needs it). The list is the "passwords-common" dictionary of
 * @zxcvbn-ts/language-common (MIT; zxcvbn-ts builds it from public breach corpora ranked by
 * frequency, and keeps it up to date with its releases): lower case and trimmed, as the
 * comparison is.
 */
let commonPasswords: Promise<ReadonlySet<string>> | undefined;

function loadCommonPasswords(): Promise<ReadonlySet<string>> {
  commonPasswords ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set(dictionary['passwords-common'].map(normalise)));
  return commonPasswords;
}

/** How a password is compared with the list: case and surrounding spaces do not make a common password uncommon. */
function normalise(password: string): string {
  return password.trim().toLowerCase();
}

/**
 * Throws PASSWORD_POLICY with the rule that failed (never the password) when `password` may not be
 * set; returns it otherwise. Only setting a password is checked: an older, shorter one still logs in.
 */
export async function checkNewPassword(password: string, policy: PasswordPolicy): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) {
    throw new CapsuleError('INVALID_ARGUMENT', 'the password is empty');
  }
  const maxLength = Math.min(policy.maxLength, MAX_PASSWORD_LENGTH);
  // The UTF-16 length bounds what a login hashes (see authenticate), whatever the code point count.
  const length = password.length > MAX_PASSWORD_LENGTH ? Infinity : [...password].length;
  if (length > maxLength) {
    throw new CapsuleError('PASSWORD_POLICY', `the password is longer than ${maxLength} characters`);
  }
  if (length < policy.minLength) {
    throw new CapsuleError('PASSWORD_POLICY', `the password is shorter than ${policy.minLength} characters`);
  }
  if ((await loadCommonPasswords()).has(normalise(password))) {
    throw new CapsuleError('PASSWORD_POLICY', 'the password is one of the most common passwords; choose another');
  }
  if (isRepetitiveOrSequential(normalise(password))) {
    throw new CapsuleError('PASSWORD_POLICY', 'the password is a run of repeated or consecutive characters; choose another');
  }
  return password;
}

/**
 * NIST SP 800-63B names repetitive and sequential characters beside breached passwords. The list
 * above leaves them out (zxcvbn finds them with its own pattern matchers, so its generator drops
 * them: '111111111111' and 'abcdefghijkl' are not on it), so they are refused here: a unit of up
 * to four characters repeated ('123123123123'), or every character one step from the last, up or
 * down, digits wrapping ('abcdefghijkl', '789012345678').
 */
function isRepetitiveOrSequential(password: string): boolean {
  const chars = [...password];
  for (let unit = 1; unit <= 4 && unit * 2 <= chars.length; unit++) {
    if (chars.every((char, i) => char === chars[i % unit])) return true;
  }
  const steps = new Set(chars.slice(1).map((char, i) => stepBetween(chars[i]!, char)));
  return steps.size === 1 && (steps.has(1) || steps.has(-1));
}

function stepBetween(from: string, to: string): number {
  const a = from.codePointAt(0)!;
  const b = to.codePointAt(0)!;
  if (!(/\d/.test(from) && /\d/.test(to))) return b - a;
  const up = (b - a + 10) % 10; // digits wrap: 9→0 is a step up, 0→9 a step down
  return up === 9 ? -1 : up;
}
