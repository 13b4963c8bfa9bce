import { createVerify } from 'node:crypto';
import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import { CapsuleError } from '../../errors.js';
import type { RedirectMessage } from './logout-message.js';
import type { SamlSettings } from './saml-config.js';
import { isSafeUrlForCredentials } from '../../support/loopback.js';

/**
 * node-saml for the logout messages: it builds the LogoutRequest and LogoutResponse and signs
 * their HTTP-Redirect query (with the SP key when `signRequests` is on), and checks the query
 * signature of what the IdP sends. One SAML object per message, as the login makes one per request.
 */

export interface LogoutSamlOptions {
  /** This SP's single logout URL (what the IdP's messages must be addressed to). */
  readonly sloUrl: string;
  /** The SP private key in clear (PEM): signs when `signRequests` is on; decrypts an EncryptedID. */
  readonly spKey: string | null;
  /** The ID of the one LogoutRequest a LogoutResponse may answer, and its instant. */
  readonly answers?: { readonly id: string; readonly at: Date };
  /** Our message's ID. */
  readonly id?: string;
}

function logoutSaml(settings: SamlSettings, options: LogoutSamlOptions): SAML {
  if (settings.logoutUrl === null) throw new CapsuleError('INVALID_CONFIG', `SAML identity provider ${settings.name} handles logout (handleLogout) but has no logoutUrl`);
  // Checked when written (saml-config.ts); a value stored before that check must not become a link on the page on the way.
  if (!isSafeUrlForCredentials(settings.logoutUrl)) throw new CapsuleError('INVALID_CONFIG', `SAML identity provider ${settings.name}: logoutUrl must be an https URL (plain http only to a loopback address)`);
  if (settings.signRequests && !options.spKey) {
    throw new CapsuleError('INVALID_CONFIG', `SAML identity provider ${settings.name} is to sign requests (signRequests) but has no spPrivateKey`);
  }
  const answers = options.answers;
  return new SAML({
    entryPoint: settings.idpUrl,
    logoutUrl: settings.logoutUrl,
    issuer: settings.spEntityId,
    // Required by the constructor; used only by AuthnRequests, which this object never makes.
    callbackUrl: options.sloUrl,
    idpCert: [...settings.idpCertificates],
    idpIssuer: settings.idpEntityId,
    acceptedClockSkewMs: settings.clockToleranceSeconds * 1000,
    ...(options.id ? { generateUniqueId: () => options.id! } : {}),
    validateInResponseTo: ValidateInResponseTo.always,
    cacheProvider: {
      saveAsync: async (_key, value) => ({ value, createdAt: Date.now() }),
      getAsync: async (key) => (answers && key === answers.id ? answers.at.toISOString() : null),
      removeAsync: async () => null,
    },
    signatureAlgorithm: 'sha256',
    ...(settings.signRequests && options.spKey ? { privateKey: options.spKey } : {}),
    ...(options.spKey ? { decryptionPvk: options.spKey } : {}),
  });
}

/** The IdP's single logout URL with a LogoutRequest for this NameID (HTTP-Redirect, signed when `signRequests` is on). */
export async function logoutRequestUrl(settings: SamlSettings, subject: { requestId: string; nameId: string; nameIdFormat: string }, options: LogoutSamlOptions): Promise<string> {
  const saml = logoutSaml(settings, { ...options, id: subject.requestId });
  return saml.getLogoutUrlAsync({ issuer: settings.idpEntityId, nameID: subject.nameId, nameIDFormat: subject.nameIdFormat } as Profile, '', {});
}

/** The IdP's single logout URL with a LogoutResponse to `requestId` (Success, or UnknownPrincipal when this site knew no such user). */
export async function logoutResponseUrl(settings: SamlSettings, answer: { requestId: string; success: boolean; relayState: string | null }, options: LogoutSamlOptions): Promise<string> {
  const saml = logoutSaml(settings, options);
  return saml.getLogoutResponseUrlAsync({ ID: answer.requestId, issuer: settings.idpEntityId, nameID: '', nameIDFormat: '' } as Profile, answer.relayState ?? '', {}, answer.success);
}

/**
 * node-saml's check of a redirect message: the query signature (when present) against the IdP
 * certificates, Issuer, NotOnOrAfter, a LogoutResponse's status and InResponseTo. Returns the
 * NameID of a LogoutRequest. Its errors are the library's words; the caller names the reason.
 */
export async function checkRedirectMessage(settings: SamlSettings, message: RedirectMessage, options: LogoutSamlOptions): Promise<{ nameId: string; nameIdFormat: string | null } | null> {
  const saml = logoutSaml(settings, options);
  // node-saml checks the signature only when the Signature parameter is truthy: a message we count
  // as signed is verified here too, so an empty one can never pass as signed.
  if (message.signed && !querySignatureVerifies(settings, message)) throw new Error('Invalid query signature');
  const { profile } = await saml.validateRedirectAsync(message.container as Record<string, string>, message.signedQuery);
  if (profile === null) return null;
  return { nameId: profile.nameID, nameIdFormat: profile.nameIDFormat ?? null };
}

const HASH_OF_SIGNATURE_ALGORITHM: Readonly<Record<string, string>> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'RSA-SHA256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': 'RSA-SHA384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'RSA-SHA512',
};

/** The query signature (bindings 3.4.4.1) verified by one of the configured IdP certificates; false when it is empty or absent. */
function querySignatureVerifies(settings: SamlSettings, message: RedirectMessage): boolean {
  const signature = message.container.Signature?.trim() ?? '';
  const hash = HASH_OF_SIGNATURE_ALGORITHM[message.container.SigAlg ?? ''];
  if (signature === '' || hash === undefined) return false;
  const signedText = message.signedQuery
    .split('&')
    .filter((pair) => !pair.startsWith('Signature='))
    .join('&');
  const signatureBytes = Buffer.from(signature, 'base64');
  if (signatureBytes.length === 0) return false;
  return settings.idpCertificates.some((certificate) => {
    try {
      return createVerify(hash).update(signedText).verify(certificate, signatureBytes);
    } catch {
      return false;
    }
  });
}
