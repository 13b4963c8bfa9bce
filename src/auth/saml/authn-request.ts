import { randomBytes } from 'node:crypto';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { CapsuleError } from '../../errors.js';
import type { SamlRequestState } from './acs.js';
import type { SamlSettings } from './saml-config.js';

/**
 * The start of an SP-initiated sign-in: the IdP's URL with an AuthnRequest (HTTP-Redirect
 * binding, signed when `signRequests` is on), and the request's ID and instant, which the caller
 * keeps in the browser's signed login state and hands back to validateSamlResponse: that is what
 * binds a response to the browser that asked for it (no server-side request cache).
 */

export interface BegunSamlRequest {
  /** Where to send the browser (302). */
  readonly url: string;
  readonly request: SamlRequestState;
}

export interface SamlRequestOptions {
  /** This provider's ACS URL, sent as AssertionConsumerServiceURL; the response must come back to exactly it. */
  readonly acsUrl: string;
  /** The SP private key in clear (PEM), required when `signRequests` is on. */
  readonly signingKey: string | null;
}

/** 160 random bits; an xs:ID must not start with a digit. */
function requestId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

export async function beginSamlRequest(settings: SamlSettings, options: SamlRequestOptions): Promise<BegunSamlRequest> {
  if (settings.signRequests && !options.signingKey) {
    throw new CapsuleError('INVALID_CONFIG', `SAML identity provider ${settings.name} is to sign requests (signRequests) but has no spPrivateKey`);
  }
  const id = requestId();
  let issuedAt: string | null = null;
  const saml = new SAML({
    entryPoint: settings.idpUrl,
    issuer: settings.spEntityId,
    callbackUrl: options.acsUrl,
    idpCert: [...settings.idpCertificates],
    identifierFormat: settings.nameIdFormat,
    // An exact AuthnContext (node-saml's default asks for PasswordProtectedTransport) fails sign-ins with MFA or Windows authentication at some IdPs.
    disableRequestedAuthnContext: true,
    generateUniqueId: () => id,
    validateInResponseTo: ValidateInResponseTo.always,
    cacheProvider: {
      saveAsync: async (_key, value) => {
        issuedAt = value;
        return { value, createdAt: Date.now() };
      },
      getAsync: async () => null,
      removeAsync: async () => null,
    },
    signatureAlgorithm: 'sha256',
    ...(settings.signRequests && options.signingKey ? { privateKey: options.signingKey } : {}),
  });
  const url = await saml.getAuthorizeUrlAsync('', undefined, {});
  if (issuedAt === null) throw new CapsuleError('INTERNAL', 'node-saml did not record the request instant');
  return { url, request: { id, issuedAt: new Date(issuedAt) } };
}
