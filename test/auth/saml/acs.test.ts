import assert from 'node:assert/strict';
import { randomUUID, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { validateSamlResponse, type SamlRequestState } from '../../../src/auth/saml/acs.js';
import type { SamlSettings } from '../../../src/auth/saml/saml-config.js';
import { isSamlLoginError, type SamlLoginError, type SamlRefusal } from '../../../src/auth/saml/saml-login-error.js';
import { base64, freshOptions, NAMEID_PERSISTENT, settingsTrusting, TEST_SP, RSA_SHA1, testIdp, type IssueOptions } from '../../helpers/saml-idp.js';
import { fixedClock } from '../../../src/clock.js';
import { selfSigned } from '../../helpers/self-signed.js';
import { extensions, forgedAssertion, forgedInPlace, NS_A, NS_DS, NS_P, parse, serialize, stripSignatures } from '../../helpers/saml-xml-edits.js';

const SP = TEST_SP;
const idp = testIdp(SP);
const otherIdp = testIdp(SP, { keys: selfSigned({ commonName: 'someone-else' }) });

function settings(values: Record<string, string | number | boolean | string[]> = {}) {
  return settingsTrusting(idp, values);
}

function newRequest(): SamlRequestState {
  return { id: `_q${randomUUID()}`, issuedAt: new Date() };
}

interface Attempt {
  readonly xml: string;
  readonly request: SamlRequestState | null;
  readonly settings?: SamlSettings;
}

function validate(attempt: Attempt) {
  return validateSamlResponse(attempt.settings ?? settings(), { samlResponse: base64(attempt.xml), acsUrl: SP.acsUrl, request: attempt.request }, freshOptions(null));
}

/** A response to a fresh request, issued with `options`, with that request. */
async function answered(options: Omit<IssueOptions, 'requestId'> = {}, issuer = idp): Promise<Attempt> {
  const request = newRequest();
  return { xml: await issuer.issue({ requestId: request.id, ...options }), request };
}

/** Refused with `reason`, as a SamlLoginError (never another error). */
async function refused(attempt: Attempt, reason: SamlRefusal): Promise<SamlLoginError> {
  let caught: unknown;
  try {
    const accepted = await validate(attempt);
    assert.fail(`accepted, as ${accepted.nameId}; expected a refusal (${reason})`);
  } catch (error) {
    caught = error;
  }
  assert.ok(isSamlLoginError(caught), `a SamlLoginError, not: ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  assert.equal(caught.code, 'SAML_LOGIN_FAILED');
  assert.ok(caught.userMessage.length > 0);
  return caught;
}

const A = NS_A;
const P = NS_P;
const DS = NS_DS;

describe('the ACS accepts a valid response', () => {
  it('gives the NameID, its format, the attributes, the session index, the assertion id and the end of validity', async () => {
    const attempt = await answered({ nameId: 'alice', groups: ['idp-editors', 'administrators'] });
    const assertion = await validate(attempt);
    assert.equal(assertion.nameId, 'alice');
    assert.equal(assertion.nameIdFormat, NAMEID_PERSISTENT);
    assert.deepEqual(assertion.attributes, { uid: ['alice'], groupMembership: ['idp-editors', 'administrators'] });
    assert.match(assertion.sessionIndex ?? '', /^_s/);
    assert.equal(assertion.assertionId, /<saml:Assertion [^>]*ID="([^"]+)"/.exec(attempt.xml)![1]);
    assert.ok(assertion.notOnOrAfter && assertion.notOnOrAfter.getTime() > Date.now());
  });

  it('accepts a response signed on the assertion alone, and one signed on the response alone', async () => {
    assert.equal((await validate(await answered({ sign: { response: false, assertion: true } }))).nameId, 'alice');
    assert.equal((await validate(await answered({ sign: { response: true, assertion: false } }))).nameId, 'alice');
  });

  it('accepts the new IdP certificate beside the old one (key rollover)', async () => {
    const rolled = settings({ idpCert: [otherIdp.keys.certificatePem, idp.keys.certificatePem] });
    assert.equal((await validate({ ...(await answered()), settings: rolled })).nameId, 'alice');
  });

  it('accepts a response whose window begins within the clock tolerance', async () => {
    const attempt = await answered({ notBefore: new Date(Date.now() + 20_000) });
    assert.equal((await validate({ ...attempt, settings: settings({ clockTolerance: 60 }) })).nameId, 'alice');
  });

  it('accepts an IdP-initiated response only where allowed', async () => {
    const xml = await idp.issue({ requestId: null });
    await refused({ xml, request: null }, 'unsolicited');
    assert.equal((await validate({ xml, request: null, settings: settings({ allowIdpInitiated: true }) })).nameId, 'alice');
  });

  it('takes any NameID format when none is configured', async () => {
    const attempt = await answered({ nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient' });
    assert.equal((await validate({ ...attempt, settings: settings({ nameIdFormat: '' }) })).nameIdFormat, 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient');
  });
});

describe('the ACS refuses, each with its reason and the two values that differ', () => {
  it('another audience', async () => {
    const error = await refused(await answered({ audience: 'https://other.example/sp' }), 'audience');
    assert.equal(error.expected, SP.entityId);
    assert.equal(error.received, 'https://other.example/sp');
  });

  it('another Recipient (node-saml does not check it)', async () => {
    const error = await refused(await answered({ recipient: 'https://other.example/acs' }), 'recipient');
    assert.equal(error.expected, SP.acsUrl);
    assert.equal(error.received, 'https://other.example/acs');
  });

  it('another Destination (node-saml does not check it)', async () => {
    const error = await refused(await answered({ destination: 'https://other.example/acs' }), 'destination');
    assert.equal(error.expected, SP.acsUrl);
    assert.equal(error.received, 'https://other.example/acs');
  });

  it('an expired response', async () => {
    const error = await refused(await answered({ notBefore: new Date(Date.now() - 7_200_000), notOnOrAfter: new Date(Date.now() - 3_600_000) }), 'expired');
    assert.match(error.expected ?? '', /^before \d{4}-/);
  });

  it('a response not valid yet beyond the clock tolerance', async () => {
    const attempt = await answered({ notBefore: new Date(Date.now() + 300_000), notOnOrAfter: new Date(Date.now() + 600_000) });
    const error = await refused({ ...attempt, settings: settings({ clockTolerance: 60 }) }, 'not-yet-valid');
    assert.match(error.expected ?? '', /^from \d{4}-.*60 s/);
  });

  it('a response with its signatures stripped', async () => {
    const attempt = await answered();
    await refused({ ...attempt, xml: stripSignatures(attempt.xml) }, 'unsigned');
  });

  it('a response signed by another key, naming both certificates', async () => {
    const error = await refused(await answered({}, otherIdp), 'signature-invalid');
    assert.ok(error.expected?.includes(new X509Certificate(idp.keys.certificatePem).fingerprint256));
    assert.ok(error.received?.includes(new X509Certificate(otherIdp.keys.certificatePem).fingerprint256));
  });

  it('a response signed with RSA-SHA1', async () => {
    const error = await refused(await answered({ signatureAlgorithm: RSA_SHA1 }), 'weak-algorithm');
    assert.equal(error.received, RSA_SHA1);
  });

  it('a response with a DOCTYPE and an entity, and the billion laughs', async () => {
    const attempt = await answered();
    await refused({ ...attempt, xml: `<!DOCTYPE samlp:Response [<!ENTITY e "admin">]>${attempt.xml.replace('>alice</saml:NameID>', '>&e;</saml:NameID>')}` }, 'doctype');
    const laughs = '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>';
    await refused({ ...attempt, xml: laughs + attempt.xml.replace('>alice<', '>&c;<') }, 'doctype');
    await refused({ ...attempt, xml: `<?xml version="1.0"?>\n<!DOCTYPE samlp:Response SYSTEM "http://127.0.0.1:1/dtd">${attempt.xml}` }, 'doctype');
  });

  it('a holder-of-key confirmation', async () => {
    const error = await refused(await answered({ edit: (xml) => xml.replace('cm:bearer', 'cm:holder-of-key') }), 'confirmation-method');
    assert.equal(error.received, 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key');
  });

  it('an answer to another request (InResponseTo mismatch)', async () => {
    const { xml } = await answered();
    const other = newRequest();
    const error = await refused({ xml, request: other }, 'in-response-to');
    assert.equal(error.expected, other.id);
  });

  it('an answer to a request when this browser started none, even where IdP-initiated sign-in is allowed', async () => {
    const { xml } = await answered();
    await refused({ xml, request: null }, 'unsolicited');
    await refused({ xml, request: null, settings: settings({ allowIdpInitiated: true }) }, 'in-response-to');
  });

  it('an assertion answering a request, passed off as IdP-initiated by removing the unsigned Response@InResponseTo', async () => {
    const { xml } = await answered({ sign: { response: false, assertion: true } });
    const stripped = xml.replace(/(<samlp:Response [^>]*?) InResponseTo="[^"]*"/, '$1');
    assert.notEqual(stripped, xml);
    const error = await refused({ xml: stripped, request: null, settings: settings({ allowIdpInitiated: true }) }, 'in-response-to');
    assert.equal(error.expected, '(none: IdP-initiated)');
  });

  it('a signed assertion for one request inside a response whose InResponseTo was changed to this browser’s', async () => {
    const first = await answered({ sign: { response: false, assertion: true } });
    const mine = newRequest();
    const xml = first.xml.replace(`InResponseTo="${first.request!.id}"`, `InResponseTo="${mine.id}"`);
    assert.notEqual(xml, first.xml);
    await refused({ xml, request: mine }, 'in-response-to');
  });

  it('a response from another issuer (node-saml does not check it on a login response)', async () => {
    const error = await refused(await answered({ issuer: 'urn:someone-else' }), 'issuer');
    assert.equal(error.received, 'urn:someone-else');
  });

  it('a NameID in another format than the one configured', async () => {
    const error = await refused(await answered({ nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' }), 'nameid-format');
    assert.equal(error.expected, NAMEID_PERSISTENT);
  });

  it('a plain assertion where encrypted assertions are required', async () => {
    await refused({ ...(await answered()), settings: settings({ wantEncryptedAssertions: true }) }, 'encryption-required');
  });

  it('a bearer confirmation that does not say until when', async () => {
    await refused(await answered({ edit: (xml) => xml.replace(/(<saml:SubjectConfirmationData) NotOnOrAfter="[^"]*"/, '$1') }), 'malformed');
  });

  it('an assertion without an AuthnStatement, signed so by the IdP (Web SSO profile 4.1.4.2 requires one)', async () => {
    const error = await refused(await answered({ edit: (xml) => xml.replace(/<saml:AuthnStatement[\s\S]*?<\/saml:AuthnStatement>/, '') }), 'no-authn-statement');
    assert.equal(error.received, 'none');
  });

  it('an assertion whose IdP session ended (AuthnStatement SessionNotOnOrAfter), naming both instants', async () => {
    const ended = new Date(Date.now() - 3_600_000).toISOString();
    const error = await refused(await answered({ edit: (xml) => xml.replace('<saml:AuthnStatement ', `<saml:AuthnStatement SessionNotOnOrAfter="${ended}" `) }), 'expired');
    assert.match(error.expected ?? '', new RegExp(`SessionNotOnOrAfter ${ended}`));
    assert.match(error.received ?? '', /^\d{4}-/);
  });

  it('a second answer to the same request, with another assertion, on the same instance', async () => {
    const request = newRequest();
    const options = freshOptions(null);
    const submit = async (nameId: string) =>
      validateSamlResponse(settings(), { samlResponse: base64(await idp.issue({ requestId: request.id, nameId })), acsUrl: SP.acsUrl, request }, options);
    assert.equal((await submit('alice')).nameId, 'alice');
    await assert.rejects(submit('bob'), (caught) => isSamlLoginError(caught, 'replayed') && caught.received === `another answer to ${request.id}`);
  });

  it('a NameID changed after signing', async () => {
    const attempt = await answered();
    await refused({ ...attempt, xml: attempt.xml.replace('>alice</saml:NameID>', '>admin</saml:NameID>') }, 'signature-invalid');
  });

  it('an error status from the IdP, unsigned, with no assertion', async () => {
    const xml = `<samlp:Response xmlns:samlp="${P}" ID="_e" Version="2.0" IssueInstant="${new Date().toISOString()}"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode></samlp:Status></samlp:Response>`;
    const error = await refused({ xml, request: newRequest() }, 'idp-status');
    assert.match(error.received ?? '', /AuthnFailed/);
  });

  it('input that is not a response: too large, not base64, not XML, another root', async () => {
    const request = newRequest();
    await assert.rejects(
      validateSamlResponse(settings(), { samlResponse: 'A'.repeat(256 * 1024 + 4), acsUrl: SP.acsUrl, request }, freshOptions(null)),
      (error) => isSamlLoginError(error, 'too-large'),
    );
    await assert.rejects(
      validateSamlResponse(settings(), { samlResponse: '%%%not base64%%%', acsUrl: SP.acsUrl, request }, freshOptions(null)),
      (error) => isSamlLoginError(error, 'malformed'),
    );
    await refused({ xml: '<samlp:Response xmlns:samlp="x"><unclosed></samlp:Response>', request }, 'malformed');
    await refused({ xml: `<samlp:LogoutResponse xmlns:samlp="${P}" ID="_l"/>`, request }, 'malformed');
  });
});

describe('the ACS reads the time from the Clock it is given, never from Date', () => {
  const instant = Date.parse('2026-01-15T09:00:00.000Z');
  const at = (nowMs: number) => ({ ...freshOptions(null), clock: fixedClock(nowMs) });
  const submit = (xml: string, request: SamlRequestState, nowMs: number) => validateSamlResponse(settings(), { samlResponse: base64(xml), acsUrl: SP.acsUrl, request }, at(nowMs));

  it('takes a response issued at the Clock’s instant, however far that is from the system clock', async () => {
    const request = { id: `_q${randomUUID()}`, issuedAt: new Date(instant) };
    const xml = await idp.issue({ requestId: request.id, now: new Date(instant) });
    assert.equal((await submit(xml, request, instant)).nameId, 'alice');
  });

  it('refuses a response the system clock takes once the Clock is past its end, naming the Clock’s now', async () => {
    const later = Date.now() + 3_600_000;
    const request = { id: `_q${randomUUID()}`, issuedAt: new Date(later - 1_000) }; // a fresh request by the Clock: the assertion is what has ended
    const xml = await idp.issue({ requestId: request.id });
    await assert.rejects(submit(xml, request, later), (caught) => isSamlLoginError(caught, 'expired') && caught.received === new Date(later).toISOString());
  });

  it('refuses an assertion whose SessionNotOnOrAfter the Clock has passed, beyond the tolerance only', async () => {
    const request = { id: `_q${randomUUID()}`, issuedAt: new Date(instant) };
    const sessionEnd = new Date(instant + 120_000).toISOString();
    const xml = await idp.issue({ requestId: request.id, now: new Date(instant), edit: (x) => x.replace('<saml:AuthnStatement ', `<saml:AuthnStatement SessionNotOnOrAfter="${sessionEnd}" `) });
    // clockTolerance defaults to 60 s: the session end counts from 09:03:00 by the Clock.
    await assert.rejects(submit(xml, { ...request, issuedAt: new Date(instant + 180_000) }, instant + 180_000), (caught) => isSamlLoginError(caught, 'expired') && caught.received === new Date(instant + 180_000).toISOString());
    assert.equal((await submit(xml, { ...request, issuedAt: new Date(instant + 179_999) }, instant + 179_999)).nameId, 'alice', 'within the tolerance');
  });

  it('refuses an answer that comes after the request’s lifetime by the Clock, though the assertion is still valid', async () => {
    const request = { id: `_q${randomUUID()}`, issuedAt: new Date(instant) };
    const xml = await idp.issue({ requestId: request.id, now: new Date(instant), notOnOrAfter: new Date(instant + 3_600_000) });
    await assert.rejects(submit(xml, request, instant + 600_000), (caught) => isSamlLoginError(caught, 'in-response-to') && caught.expected === `an answer to ${request.id} before 2026-01-15T09:10:00.000Z`);
    assert.equal((await submit(xml, request, instant + 599_999)).nameId, 'alice', 'within it');
  });
});

describe('the ACS refuses what would exhaust a parser', () => {
  it('a response nested deeper than any real one (tens of thousands of levels within the size limit), as a SamlLoginError', async () => {
    const depth = 27_000;
    const xml = `<samlp:Response xmlns:samlp="${P}" ID="_deep">${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</samlp:Response>`;
    const error = await refused({ xml, request: newRequest() }, 'structure');
    assert.equal(error.received, `${depth + 1} levels`);
  });
});

describe('a comment inside the NameID never cuts it short', () => {
  it('signed with the comment by the IdP: the whole value', async () => {
    const attempt = await answered({ nameId: 'admin@example.com.evil', edit: (xml) => xml.replace('>admin@example.com.evil</saml:NameID>', '>admin@example.com<!---->.evil</saml:NameID>') });
    assert.match(attempt.xml, /admin@example.com<!---->.evil/);
    assert.equal((await validate(attempt)).nameId, 'admin@example.com.evil');
  });

  it('added after signing (comments are outside exclusive canonicalization): the whole value', async () => {
    const attempt = await answered({ nameId: 'admin@example.com.evil' });
    const xml = attempt.xml.replace('>admin@example.com.evil</saml:NameID>', '>admin@example.com<!-- cut here -->.evil</saml:NameID>');
    assert.notEqual(xml, attempt.xml);
    assert.equal((await validate({ ...attempt, xml })).nameId, 'admin@example.com.evil');
  });
});

/**
 * XML signature wrapping: the signed bytes stay valid while what a careless reader takes as
 * the assertion is a forged one. Each is made from a valid response by DOM edits, and each must
 * be refused as a SamlLoginError (by shape, before the verifier is asked).
 */
const WRAPPINGS: readonly { name: string; sign: { response: boolean; assertion: boolean }; wrap: (doc: Document) => void; reason: SamlRefusal }[] = [
  {
    name: 'a second, unsigned assertion before the signed one',
    sign: { response: true, assertion: true },
    wrap: (doc) => doc.documentElement!.insertBefore(forgedAssertion(doc), doc.getElementsByTagNameNS(A, 'Assertion')[0]!),
    reason: 'structure',
  },
  {
    name: 'a second, unsigned assertion after the signed one',
    sign: { response: false, assertion: true },
    wrap: (doc) => doc.documentElement!.appendChild(forgedAssertion(doc)),
    reason: 'structure',
  },
  {
    name: 'the signed assertion moved into samlp:Extensions of an unsigned response, a forged one in its place',
    sign: { response: false, assertion: true },
    wrap: (doc) => {
      const { signed, forged } = forgedInPlace(doc);
      doc.documentElement!.insertBefore(extensions(doc, signed), forged);
    },
    reason: 'structure',
  },
  {
    name: 'the signed response re-parented into a forged response (its Extensions) with a forged assertion',
    sign: { response: true, assertion: false },
    wrap: (doc) => {
      const signed = doc.documentElement!;
      const forged = signed.cloneNode(false) as Element;
      forged.setAttribute('ID', '_forged-response');
      doc.replaceChild(forged, signed);
      forged.appendChild(extensions(doc, signed));
      forged.appendChild(forgedAssertion(doc));
    },
    reason: 'structure',
  },
  {
    name: 'the signed assertion re-parented inside the forged assertion (under its Subject)',
    sign: { response: false, assertion: true },
    wrap: (doc) => {
      const { signed, forged } = forgedInPlace(doc);
      forged.getElementsByTagNameNS(A, 'Subject')[0]!.appendChild(signed);
    },
    reason: 'structure',
  },
  {
    name: "the assertion's signature moved onto the response (a signature over another element than its parent)",
    sign: { response: false, assertion: true },
    wrap: (doc) => {
      const signature = doc.getElementsByTagNameNS(DS, 'Signature')[0]!;
      signature.parentNode!.removeChild(signature);
      const response = doc.documentElement!;
      response.insertBefore(signature, response.getElementsByTagNameNS(P, 'Status')[0]!);
      doc.getElementsByTagNameNS(A, 'NameID')[0]!.textContent = 'admin';
    },
    reason: 'structure',
  },
  {
    name: "a forged element carrying the signed assertion's ID (duplicate ID)",
    sign: { response: false, assertion: true },
    wrap: (doc) => {
      const signed = doc.getElementsByTagNameNS(A, 'Assertion')[0]!;
      const decoy = doc.createElementNS(P, 'samlp:Decoy');
      decoy.setAttribute('ID', signed.getAttribute('ID')!);
      doc.documentElement!.insertBefore(extensions(doc, decoy), signed);
    },
    reason: 'structure',
  },
];

describe('the ACS refuses XML signature wrapping', () => {
  for (const wrapping of WRAPPINGS) {
    it(wrapping.name, async () => {
      const attempt = await answered({ sign: wrapping.sign });
      const doc = parse(attempt.xml);
      wrapping.wrap(doc);
      const xml = serialize(doc);
      assert.notEqual(xml, attempt.xml);
      await refused({ ...attempt, xml }, wrapping.reason);
    });
  }
});

describe('the ACS never fails other than by refusing', () => {
  it('refuses a signed response with any one character changed as a SamlLoginError, or accepts it unchanged in meaning', async () => {
    const attempt = await answered();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: attempt.xml.length - 1 }), fc.constantFrom('<', '>', '"', '&', 'x', ' ', '0', '/', '='), async (at, character) => {
        const xml = attempt.xml.slice(0, at) + character + attempt.xml.slice(at + 1);
        try {
          const accepted = await validate({ ...attempt, xml });
          assert.equal(accepted.nameId, 'alice', `accepted with a changed meaning at ${at}`);
        } catch (error) {
          assert.ok(isSamlLoginError(error), `at ${at} (${character}): ${String(error)}`);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('encrypted assertions', () => {
  const spKeys = selfSigned({ commonName: 'capsule-test-sp' });
  const encrypted = (options: Omit<IssueOptions, 'requestId'> = {}) => answered({ encryptTo: spKeys.certificatePem, ...options });
  const withKey = (attempt: Attempt, key: string | null = spKeys.privateKeyPem, values: Record<string, boolean> = {}) =>
    validateSamlResponse(settings(values), { samlResponse: base64(attempt.xml), acsUrl: SP.acsUrl, request: attempt.request }, freshOptions(key));

  it('decrypts with the SP key, signed on the response, on the assertion inside, or both; also where encryption is required', async () => {
    for (const sign of [{ response: true, assertion: true }, { response: false, assertion: true }, { response: true, assertion: false }]) {
      const attempt = await encrypted({ sign });
      assert.match(attempt.xml, /EncryptedAssertion/);
      assert.doesNotMatch(attempt.xml, /<saml:NameID/);
      assert.equal((await withKey(attempt, spKeys.privateKeyPem, { wantEncryptedAssertions: true })).nameId, 'alice', JSON.stringify(sign));
    }
  });

  it('refuses without a key, with another key, and a SHA-1 signature inside the ciphertext', async () => {
    const attempt = await encrypted();
    await assert.rejects(withKey(attempt, null), (error) => isSamlLoginError(error, 'no-decryption-key'));
    await assert.rejects(withKey(attempt, selfSigned().privateKeyPem), (error) => isSamlLoginError(error, 'decryption-failed'));
    const sha1 = await encrypted({ sign: { response: false, assertion: true }, signatureAlgorithm: RSA_SHA1 });
    await assert.rejects(withKey(sha1), (error) => isSamlLoginError(error, 'weak-algorithm'));
  });

  it('checks a signature inside the ciphertext even where the response is signed too', async () => {
    // A signature over the same assertion ID, made by another key, put inside the assertion before the IdP encrypts it and signs the response.
    const assertionId = `_a${randomUUID()}`;
    const foreign = await otherIdp.issue({ requestId: '_unrelated', assertionId, sign: { response: false, assertion: true } });
    const signature = /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(foreign)![0];
    const attempt = await encrypted({
      assertionId,
      sign: { response: true, assertion: false },
      edit: (xml) => xml.replace(/(<saml:Assertion [^>]*><saml:Issuer>[^<]*<\/saml:Issuer>)/, `$1${signature}`),
    });
    await assert.rejects(withKey(attempt), (error) => isSamlLoginError(error, 'signature-invalid'));
  });
});
