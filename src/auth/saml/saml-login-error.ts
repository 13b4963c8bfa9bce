import { CapsuleError } from '../../errors.js';

/**
 * Why a SAML response was refused, one reason per thing an administrator fixes differently.
 * Each has plain words for the login page (no values: the person signing in cannot act on
 * them); the exact values that differ go to the log and the audit trail through `expected`
 * and `received`.
 */
export const SAML_REFUSALS = {
  'too-large': 'The sign-in response is too large.',
  malformed: 'The sign-in response could not be read.',
  doctype: 'The sign-in response contains a document type declaration, which is never accepted.',
  structure: 'The sign-in response is not shaped as one signed assertion, so it was refused.',
  unsigned: 'The sign-in response is not signed by the identity provider.',
  'weak-algorithm': 'The sign-in response is signed with an algorithm that is no longer accepted (SHA-1).',
  'signature-invalid': 'The signature on the sign-in response could not be verified with the identity provider certificates configured here.',
  issuer: 'The sign-in response comes from an identity provider other than the one configured.',
  audience: 'The sign-in response was issued for another site.',
  recipient: 'The sign-in response was addressed to another sign-in address of this or another site.',
  destination: 'The sign-in response was sent to another sign-in address of this or another site.',
  'confirmation-method': 'The sign-in response asks for a kind of proof this site does not support.',
  'not-yet-valid': 'The sign-in response is not valid yet: the clocks of this site and the identity provider differ.',
  expired: 'The sign-in response has expired. Please sign in again; if this repeats, the clocks of this site and the identity provider differ.',
  'in-response-to': 'The sign-in response does not answer the sign-in started in this browser. Please sign in again.',
  replayed: 'This sign-in response was already used. Please sign in again.',
  unsolicited: 'This site accepts only sign-ins started here. Please sign in from the login page.',
  'nameid-format': 'The identity provider sent the user name in another format than the one configured.',
  'encryption-required': 'The sign-in response is not encrypted, and this site requires it.',
  'no-decryption-key': 'The sign-in response is encrypted, and this site has no key to decrypt it.',
  'decryption-failed': 'The sign-in response is encrypted to another key than the one of this site.',
  'user-id': 'The identity provider sent a user name this site cannot use. Please ask your administrator.',
  'too-many-groups': 'Your account has more groups than this site can take. Please ask your administrator.',
  'account-elsewhere': 'This account cannot sign in here with the identity provider. Please ask your administrator.',
  disabled: 'Your account on this site is disabled. Please ask your administrator.',
  'idp-status': 'The identity provider could not sign you in.',
  'no-assertion': 'The identity provider sent no sign-in statement.',
  'no-authn-statement': 'The identity provider did not say that you signed in (the response has no authentication statement).',
  rejected: 'The sign-in response was refused.',
} as const;

export type SamlRefusal = keyof typeof SAML_REFUSALS;

/** Values from a response are the sender's words: kept to one short line for messages, log and audit. */
function clip(value: string | null): string | null {
  if (value === null) return null;
  const line = value.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

export class SamlLoginError extends CapsuleError {
  /** Plain words for the login page. */
  readonly userMessage: string;
  /** What this site expected (for log and audit), or null where nothing specific was. */
  readonly expected: string | null;
  /** What the response had, or null where it had nothing. */
  readonly received: string | null;
  constructor(
    readonly reason: SamlRefusal,
    expected: string | null,
    received: string | null,
    options?: ErrorOptions,
  ) {
    super('SAML_LOGIN_FAILED', `SAML response refused (${reason}): expected ${clip(expected) ?? '(nothing)'}, received ${clip(received) ?? '(nothing)'}`, options);
    this.userMessage = SAML_REFUSALS[reason];
    this.expected = clip(expected);
    this.received = clip(received);
  }
}

export function isSamlLoginError(value: unknown, reason?: SamlRefusal): value is SamlLoginError {
  return value instanceof SamlLoginError && (reason === undefined || value.reason === reason);
}
