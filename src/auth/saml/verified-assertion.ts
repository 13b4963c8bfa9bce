import { SamlLoginError } from './saml-login-error.js';
import { allElements, attribute, childElements, firstChild, isElement, NS_ASSERTION, parseXml, textOf } from './saml-xml.js';

/**
 * Capsule's own checks on the assertion node-saml verified (its signed bytes, never the
 * envelope around them), for what node-saml does not check: issuer, a bearer confirmation
 * addressed to this ACS URL and bound to this browser's request, the validity window by the
 * Clock (node-saml would read `Date`), the NameID format. Reads the values a sign-in uses from
 * the same bytes.
 */

export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

export interface AssertionExpectations {
  readonly idpEntityId: string;
  readonly acsUrl: string;
  /** The AuthnRequest ID this browser's login state holds; null for an IdP-initiated sign-in. */
  readonly requestId: string | null;
  /** null: any format. */
  readonly nameIdFormat: string | null;
  /** The Clock's now, for the validity window. */
  readonly nowMs: number;
  readonly clockToleranceSeconds: number;
}

export interface ValidatedAssertion {
  readonly nameId: string;
  /** null when the NameID has no Format (unspecified). */
  readonly nameIdFormat: string | null;
  /** Attribute name → its values, in order; an attribute without values is left out. */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
  readonly sessionIndex: string | null;
  /** For the replay store: an assertion ID is accepted once until `notOnOrAfter`. */
  readonly assertionId: string;
  /** The earliest end of validity the assertion states (Conditions or the bearer confirmation; the latter is required). */
  readonly notOnOrAfter: Date;
}

function assertionIn(verifiedXml: string): Element {
  const doc = parseXml(verifiedXml);
  const root = doc?.documentElement ?? null;
  const assertion = root ? allElements(root).find((element) => isElement(element, NS_ASSERTION, 'Assertion')) : undefined;
  if (!assertion) throw new SamlLoginError('no-assertion', 'a verified assertion', 'none');
  return assertion;
}

function checkIssuer(assertion: Element, expected: string): void {
  const issuer = firstChild(assertion, NS_ASSERTION, 'Issuer');
  const received = issuer ? textOf(issuer).trim() : null;
  if (received !== expected) throw new SamlLoginError('issuer', expected, received);
}

/** The bearer confirmation for this ACS URL and request; refuses with the first thing that differs. */
function bearerConfirmation(subject: Element, expected: AssertionExpectations): Element {
  const confirmations = childElements(subject, NS_ASSERTION, 'SubjectConfirmation');
  const bearers = confirmations.filter((confirmation) => attribute(confirmation, 'Method') === BEARER);
  if (bearers.length === 0) {
    const methods = confirmations.map((confirmation) => attribute(confirmation, 'Method') ?? '(no Method)');
    throw new SamlLoginError('confirmation-method', BEARER, methods.join(', ') || 'no SubjectConfirmation');
  }
  const data = bearers.map((bearer) => firstChild(bearer, NS_ASSERTION, 'SubjectConfirmationData'));
  const addressed = data.filter((each): each is Element => each !== null && attribute(each, 'Recipient') === expected.acsUrl);
  if (addressed.length === 0) {
    const recipients = data.map((each) => attribute(each, 'Recipient') ?? '(no Recipient)');
    throw new SamlLoginError('recipient', expected.acsUrl, recipients.join(', '));
  }
  // With only the assertion signed, Response/@InResponseTo is the sender's to change: the binding to this browser's request must come from signed bytes.
  const bound = addressed.find((each) => attribute(each, 'InResponseTo') === expected.requestId);
  if (!bound) {
    const received = addressed.map((each) => attribute(each, 'InResponseTo') ?? '(none)').join(', ');
    throw new SamlLoginError('in-response-to', expected.requestId ?? '(none: IdP-initiated)', received);
  }
  return bound;
}

function instant(value: string, name: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new SamlLoginError('malformed', `an xs:dateTime ${name}`, value);
  return ms;
}

/** NotBefore and NotOnOrAfter of the Conditions and of the bearer confirmation, each with the clock tolerance either side. */
function checkWindow(elements: readonly (Element | null)[], expected: AssertionExpectations): void {
  const toleranceMs = expected.clockToleranceSeconds * 1000;
  const now = new Date(expected.nowMs).toISOString();
  for (const element of elements) {
    const notOnOrAfter = attribute(element, 'NotOnOrAfter');
    if (notOnOrAfter !== null && expected.nowMs - toleranceMs >= instant(notOnOrAfter, 'NotOnOrAfter')) {
      throw new SamlLoginError('expired', `before ${notOnOrAfter} (+${expected.clockToleranceSeconds} s tolerance)`, now);
    }
    const notBefore = attribute(element, 'NotBefore');
    if (notBefore !== null && expected.nowMs + toleranceMs < instant(notBefore, 'NotBefore')) {
      throw new SamlLoginError('not-yet-valid', `from ${notBefore} (−${expected.clockToleranceSeconds} s tolerance)`, now);
    }
  }
}

/**
 * SAML profiles 4.1.4.2: a bearer assertion for Web SSO carries at least one AuthnStatement (the
 * statement that the user signed in); none means the assertion says nothing of a sign-in. The
 * IdP's session end (`SessionNotOnOrAfter`) past by the Clock means the IdP no longer vouches for it.
 */
function checkAuthnStatements(assertion: Element, expected: AssertionExpectations): Element {
  const statements = childElements(assertion, NS_ASSERTION, 'AuthnStatement');
  if (statements.length === 0) throw new SamlLoginError('no-authn-statement', 'an AuthnStatement in the assertion', 'none');
  const toleranceMs = expected.clockToleranceSeconds * 1000;
  for (const statement of statements) {
    const sessionEnd = attribute(statement, 'SessionNotOnOrAfter');
    if (sessionEnd !== null && expected.nowMs - toleranceMs >= instant(sessionEnd, 'SessionNotOnOrAfter')) {
      throw new SamlLoginError('expired', `an IdP session before its SessionNotOnOrAfter ${sessionEnd} (+${expected.clockToleranceSeconds} s tolerance)`, new Date(expected.nowMs).toISOString());
    }
  }
  return statements[0]!;
}

function attributesOf(assertion: Element): Record<string, string[]> {
  const attributes: Record<string, string[]> = {};
  for (const statement of childElements(assertion, NS_ASSERTION, 'AttributeStatement')) {
    for (const element of childElements(statement, NS_ASSERTION, 'Attribute')) {
      const name = attribute(element, 'Name');
      const values = childElements(element, NS_ASSERTION, 'AttributeValue').map(textOf);
      if (name === null || values.length === 0) continue;
      attributes[name] = [...(attributes[name] ?? []), ...values];
    }
  }
  return attributes;
}

function earliest(required: string, optional: string | null): Date {
  const times = [required, optional].filter((instant): instant is string => instant !== null).map((instant) => Date.parse(instant));
  if (times.some((ms) => !Number.isFinite(ms))) throw new SamlLoginError('malformed', 'xs:dateTime instants', [required, optional].join(', '));
  return new Date(Math.min(...times));
}

export function checkVerifiedAssertion(verifiedXml: string, expected: AssertionExpectations): ValidatedAssertion {
  const assertion = assertionIn(verifiedXml);
  checkIssuer(assertion, expected.idpEntityId);
  const subject = firstChild(assertion, NS_ASSERTION, 'Subject');
  if (!subject) throw new SamlLoginError('no-assertion', 'an assertion with a Subject', 'an assertion without one');
  const confirmationData = bearerConfirmation(subject, expected);
  const conditions = firstChild(assertion, NS_ASSERTION, 'Conditions');
  checkWindow([conditions, confirmationData], expected);

  const nameIdElement = firstChild(subject, NS_ASSERTION, 'NameID');
  const nameId = nameIdElement ? textOf(nameIdElement).trim() : '';
  if (nameId === '') throw new SamlLoginError('no-assertion', 'a NameID', 'none (or an encrypted one)');
  const nameIdFormat = attribute(nameIdElement, 'Format');
  if (expected.nameIdFormat !== null && nameIdFormat !== expected.nameIdFormat) {
    throw new SamlLoginError('nameid-format', expected.nameIdFormat, nameIdFormat ?? '(no Format: unspecified)');
  }
  const assertionId = attribute(assertion, 'ID');
  if (!assertionId) throw new SamlLoginError('malformed', 'an assertion with an ID', 'none');
  // SAML profiles 4.1.4.2: a bearer confirmation must say until when; the replay store keeps the ID until then.
  const confirmationEnd = attribute(confirmationData, 'NotOnOrAfter');
  if (confirmationEnd === null) throw new SamlLoginError('malformed', 'a NotOnOrAfter on the bearer confirmation', 'none');
  const authnStatement = checkAuthnStatements(assertion, expected);
  return {
    nameId,
    nameIdFormat,
    attributes: attributesOf(assertion),
    sessionIndex: attribute(authnStatement, 'SessionIndex'),
    assertionId,
    notOnOrAfter: earliest(confirmationEnd, attribute(conditions, 'NotOnOrAfter')),
  };
}
