import { SAML, SamlStatusError, ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import { decryptXml } from '@node-saml/node-saml/lib/xml.js';
import type { Clock } from '../../clock.js';
import type { AssertionReplayStore } from './assertion-replay.js';
import { fingerprintOf, readResponseShape, withDecryptedAssertion, type ResponseShape } from './response-shape.js';
import type { SamlSettings } from './saml-config.js';
import { isSamlLoginError, SamlLoginError } from './saml-login-error.js';
import { attribute, childElements, firstChild, NS_ASSERTION } from './saml-xml.js';
import { checkVerifiedAssertion, type ValidatedAssertion } from './verified-assertion.js';

/**
 * The assertion consumer service's check of a posted SAMLResponse, strict: the shape checks
 * (response-shape.ts) before anything is verified, node-saml for the signatures, audience,
 * validity window and the response's InResponseTo, then Capsule's checks node-saml lacks
 * (verified-assertion.ts), the Destination, and one use per assertion (assertion-replay.ts).
 * Every refusal is a SamlLoginError with its reason; nothing else is thrown for anything a
 * sender can put in the response.
 *
 * node-saml reads the time from `Date` itself; its time checks are turned off, and the validity
 * window and the request's age are checked here with the Clock (on the verified assertion).
 */

export interface SamlRequestState {
  /** The AuthnRequest ID, as kept in this browser's signed login state. */
  readonly id: string;
  readonly issuedAt: Date;
}

export interface SamlResponseInput {
  /** The posted SAMLResponse field, as received. */
  readonly samlResponse: string;
  /** This provider's ACS URL exactly as the IdP was told it: Recipient and Destination must equal it. */
  readonly acsUrl: string;
  /** The request this browser started (from its signed login state), or null when it has none. */
  readonly request: SamlRequestState | null;
}

export interface SamlResponseOptions {
  /** The SP private key in clear (PEM), to decrypt encrypted assertions; null when none is configured. */
  readonly decryptionKey: string | null;
  /** How long after the request its response is accepted (the login state's lifetime). */
  readonly requestLifetimeMs: number;
  /** Where accepted assertion IDs are recorded; a second use is refused. */
  readonly replay: AssertionReplayStore;
  /** The validity window and the request's age are checked against it. */
  readonly clock: Clock;
}

/**
 * A cache holding the one request this browser started: an answer to any other is refused. Its
 * age was checked with the Clock before (validateSamlResponse); node-saml compares the instant
 * given here with `Date`, so it is given node-saml's own now.
 */
function oneRequestCache(request: SamlRequestState | null): CacheProvider {
  return {
    saveAsync: async () => null,
    getAsync: async (key) => (request !== null && key === request.id ? new Date().toISOString() : null),
    removeAsync: async () => null,
  };
}

function libraryFor(settings: SamlSettings, input: SamlResponseInput, shape: ResponseShape, request: SamlRequestState | null, options: SamlResponseOptions): SAML {
  return new SAML({
    callbackUrl: input.acsUrl,
    issuer: settings.spEntityId,
    audience: settings.spEntityId,
    idpIssuer: settings.idpEntityId, // node-saml checks it on logout messages only: verified-assertion.ts checks the login's
    idpCert: [...settings.idpCertificates],
    // Each signature present is checked, and one must be: decided per message from its shape
    // (node-saml's defaults refuse assertion-only signing; both false would skip the assertion's).
    wantAuthnResponseSigned: shape.responseSigned,
    wantAssertionsSigned: shape.assertionSigned,
    acceptedClockSkewMs: -1, // off: node-saml reads Date; verified-assertion.ts checks the window with the Clock
    validateInResponseTo: request === null ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: options.requestLifetimeMs,
    cacheProvider: oneRequestCache(request),
    identifierFormat: settings.nameIdFormat,
    disableRequestedAuthnContext: true,
    signatureAlgorithm: 'sha256',
    ...(options.decryptionKey ? { decryptionPvk: options.decryptionKey } : {}),
  });
}

/** The request the response says it answers, and the ones its assertion's confirmations name where they differ (the signed ones, for an assertion moved into another response). */
function answeredRequests(shape: ResponseShape): string {
  const onResponse = shape.inResponseTo ?? '(none)';
  const subject = firstChild(shape.assertion, NS_ASSERTION, 'Subject');
  const confirmations = subject ? childElements(subject, NS_ASSERTION, 'SubjectConfirmation') : [];
  const inAssertion = confirmations.map((each) => attribute(firstChild(each, NS_ASSERTION, 'SubjectConfirmationData'), 'InResponseTo') ?? '(none)');
  return inAssertion.every((each) => each === onResponse) ? onResponse : `${onResponse} on the Response, ${inAssertion.join(', ')} in the assertion`;
}

function audiencesOf(shape: ResponseShape): string {
  const conditions = firstChild(shape.assertion, NS_ASSERTION, 'Conditions');
  const restrictions = conditions ? childElements(conditions, NS_ASSERTION, 'AudienceRestriction') : [];
  const audiences = restrictions.flatMap((restriction) => childElements(restriction, NS_ASSERTION, 'Audience').map((audience) => audience.textContent ?? ''));
  return audiences.join(', ') || '(no audience)';
}

/** SHA-256 fingerprints of the IdP certificates configured, for a refusal's expected value. */
function configuredSigners(settings: SamlSettings): string {
  return settings.idpCertificates.map((certificate) => fingerprintOf(certificate) ?? '(unreadable)').join(', ');
}

/** The shape rules know no certificate: an unsigned response is refused naming the ones a signature was expected from. */
function namingSigners(settings: SamlSettings, error: unknown): unknown {
  if (!isSamlLoginError(error, 'unsigned')) return error;
  return new SamlLoginError('unsigned', `a signature by ${configuredSigners(settings) || '(no certificate configured)'} on the Response or the Assertion`, error.received, { cause: error });
}

function signatureRefusal(settings: SamlSettings, shape: ResponseShape, error: Error): SamlLoginError {
  const configured = configuredSigners(settings);
  const named = [...new Set(shape.keyInfoCertificates.map((certificate) => fingerprintOf(certificate) ?? '(unreadable)'))].join(', ');
  return new SamlLoginError('signature-invalid', `a signature by ${configured || '(no certificate configured)'}`, named ? `a signature naming ${named}` : error.message, { cause: error });
}

/** node-saml's refusal as a SamlLoginError with its reason, from the message it throws (its only signal). */
function translate(error: unknown, settings: SamlSettings, input: SamlResponseInput, shape: ResponseShape, request: SamlRequestState | null): SamlLoginError {
  if (error instanceof SamlLoginError) return error;
  if (error instanceof SamlStatusError) return new SamlLoginError('idp-status', 'Success', error.message, { cause: error });
  if (!(error instanceof Error)) return new SamlLoginError('rejected', 'a valid response', String(error));
  const message = error.message;
  if (/^Invalid (document )?signature( from encrypted assertion)?$/.test(message)) return signatureRefusal(settings, shape, error);
  if (message.startsWith('Invalid signature')) return new SamlLoginError('structure', 'one signed assertion', message, { cause: error });
  if (message.startsWith('SAML assertion audience mismatch')) return new SamlLoginError('audience', settings.spEntityId, audiencesOf(shape), { cause: error });
  if (/InResponseTo/.test(message)) return new SamlLoginError('in-response-to', request?.id ?? '(none: IdP-initiated)', answeredRequests(shape), { cause: error });
  if (message.startsWith('Error parsing')) return new SamlLoginError('malformed', 'xs:dateTime instants where SAML requires them', message, { cause: error });
  if (message.startsWith('No decryption key')) return new SamlLoginError('no-decryption-key', 'the SP private key', 'none configured', { cause: error });
  return new SamlLoginError('rejected', `a valid response for ${input.acsUrl}`, message, { cause: error });
}

function checkDestination(shape: ResponseShape, acsUrl: string): void {
  // Required on a signed response (SAML bindings 3.5.5.2); where present on an unsigned one it must match too, though only the signed one proves anything.
  if (shape.destination === null ? shape.responseSigned : shape.destination !== acsUrl) {
    throw new SamlLoginError('destination', acsUrl, shape.destination);
  }
}

/** Validates a posted SAMLResponse for one provider; the assertion's values, or a SamlLoginError. */
export async function validateSamlResponse(settings: SamlSettings, input: SamlResponseInput, options: SamlResponseOptions): Promise<ValidatedAssertion> {
  let outer: ResponseShape;
  try {
    outer = readResponseShape(input.samlResponse);
  } catch (error) {
    throw namingSigners(settings, error);
  }
  // An unsolicited response (no InResponseTo) is taken as IdP-initiated even with a login state in this browser, when allowed.
  const request = outer.inResponseTo === null && settings.allowIdpInitiated ? null : input.request;
  if (request === null && !settings.allowIdpInitiated) {
    throw new SamlLoginError('unsolicited', 'a response to a sign-in started here', outer.inResponseTo === null ? 'an IdP-initiated response' : `a response to ${outer.inResponseTo}, with no sign-in started in this browser`);
  }
  if (settings.wantEncryptedAssertions && !outer.encrypted) throw new SamlLoginError('encryption-required', 'an EncryptedAssertion', 'a plain Assertion');
  const decryptionKey = options.decryptionKey;
  if (outer.encrypted && !decryptionKey) throw new SamlLoginError('no-decryption-key', 'the SP private key', 'none configured');
  // node-saml decrypts again on its own; the plaintext read here only decides which signatures it must find, and is held to the shape rules.
  const shape = await withDecryptedAssertion(outer, (xml) => decryptXml(xml, decryptionKey!)).catch((error: unknown) => {
    throw namingSigners(settings, error);
  });
  if (settings.idpCertificates.length === 0) throw new SamlLoginError('signature-invalid', 'a configured IdP certificate', '(no certificate configured)');
  const nowMs = options.clock.now();
  if (request !== null && nowMs >= request.issuedAt.getTime() + options.requestLifetimeMs) {
    const until = new Date(request.issuedAt.getTime() + options.requestLifetimeMs).toISOString();
    throw new SamlLoginError('in-response-to', `an answer to ${request.id} before ${until}`, `an answer at ${new Date(nowMs).toISOString()}`);
  }

  let verifiedXml: string;
  try {
    const { profile } = await libraryFor(settings, input, shape, request, options).validatePostResponseAsync({ SAMLResponse: shape.base64 });
    if (!profile?.getAssertionXml) throw new SamlLoginError('no-assertion', 'an assertion', 'none');
    verifiedXml = profile.getAssertionXml();
  } catch (error) {
    throw translate(error, settings, input, shape, request);
  }
  const assertion = checkVerifiedAssertion(verifiedXml, {
    idpEntityId: settings.idpEntityId,
    acsUrl: input.acsUrl,
    requestId: request?.id ?? null,
    nameIdFormat: settings.nameIdFormat,
    nowMs,
    clockToleranceSeconds: settings.clockToleranceSeconds,
  });
  checkDestination(shape, input.acsUrl);
  // Claimed last, so that a refused response does not use up its assertion or its request.
  const toleranceMs = settings.clockToleranceSeconds * 1000;
  // One sign-in per request too: a captured state cookie with a second response (another
  // assertion to the same request) signs in no more than once here. (Per instance: see assertion-replay.ts.)
  if (request !== null && !(await options.replay.claim(`${settings.name}\nrequest\n${request.id}`, new Date(request.issuedAt.getTime() + options.requestLifetimeMs + toleranceMs)))) {
    throw new SamlLoginError('replayed', 'an answer to a sign-in not answered before', `another answer to ${request.id}`);
  }
  const until = new Date(assertion.notOnOrAfter.getTime() + toleranceMs);
  if (!(await options.replay.claim(`${settings.name}\n${assertion.assertionId}`, until))) {
    throw new SamlLoginError('replayed', 'an assertion not used before', assertion.assertionId);
  }
  return assertion;
}
