import { CapsuleError } from '../../errors.js';

/**
 * Why a single logout message (the IdP's LogoutRequest or LogoutResponse) was refused. Plain
 * words for the page; the values that differ go to the log and the audit trail.
 */
export const SAML_LOGOUT_REFUSALS = {
  'not-handled': 'This site does not take logout messages from this identity provider.',
  malformed: 'The logout message could not be read.',
  doctype: 'The logout message contains a document type declaration, which is never accepted.',
  unsigned: 'The logout message is not signed by the identity provider.',
  'weak-algorithm': 'The logout message is signed with an algorithm that is not accepted.',
  'signature-invalid': 'The signature on the logout message could not be verified with the identity provider certificates configured here.',
  issuer: 'The logout message comes from an identity provider other than the one configured.',
  destination: 'The logout message was sent to another logout address.',
  expired: 'The logout request has expired.',
  replayed: 'This logout request was already used.',
  'in-response-to': 'The logout response does not answer a logout started in this browser.',
  'idp-status': 'You are signed out here, but the identity provider could not end your session there.',
  rejected: 'The logout message was refused.',
} as const;

export type SamlLogoutRefusal = keyof typeof SAML_LOGOUT_REFUSALS;

function clip(value: string | null): string | null {
  if (value === null) return null;
  const line = value.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

export class SamlLogoutError extends CapsuleError {
  readonly userMessage: string;
  readonly expected: string | null;
  readonly received: string | null;
  constructor(
    readonly reason: SamlLogoutRefusal,
    expected: string | null,
    received: string | null,
    options?: ErrorOptions,
  ) {
    super('SAML_LOGOUT_FAILED', `SAML logout message refused (${reason}): expected ${clip(expected) ?? '(nothing)'}, received ${clip(received) ?? '(nothing)'}`, options);
    this.userMessage = SAML_LOGOUT_REFUSALS[reason];
    this.expected = clip(expected);
    this.received = clip(received);
  }
}
