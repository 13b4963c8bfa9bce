import { randomUUID } from 'node:crypto';
import samlify from 'samlify';
import type { SamlResponseOptions } from '../../src/auth/saml/acs.js';
import { createMemoryReplayStore } from '../../src/auth/saml/assertion-replay.js';
import { samlSettings, type SamlSettings } from '../../src/auth/saml/saml-config.js';
import { systemClock } from '../../src/clock.js';
import { selfSigned, type SelfSigned } from './self-signed.js';

/**
 * samlify as an identity provider in this process, independent of node-saml (the SP library
 * under test). `issue` signs a login response at the time of the call; `edit` changes the XML
 * before it is signed, so a validly signed response can say anything (another audience, a
 * holder-of-key confirmation, a comment in the NameID). Attacks on the signed XML are made
 * afterwards by the test, from the string `issue` returns.
 */

// samlify refuses to parse without a schema validator; it parses nothing here but its own output.
samlify.setSchemaValidator({ validate: async () => 'skipped: test identity provider only' });

export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';

export interface IssueOptions {
  /** InResponseTo on the Response and the bearer confirmation; null for an IdP-initiated response (no InResponseTo at all). */
  readonly requestId: string | null;
  readonly nameId?: string;
  readonly nameIdFormat?: string;
  readonly groups?: readonly string[];
  /** Which signatures samlify makes; default both. Neither is not possible (samlify then signs the response). */
  readonly sign?: { readonly response: boolean; readonly assertion: boolean };
  readonly signatureAlgorithm?: string;
  readonly audience?: string;
  readonly recipient?: string;
  readonly destination?: string;
  readonly issuer?: string;
  readonly notBefore?: Date;
  readonly notOnOrAfter?: Date;
  /** Changes the XML before it is signed. */
  readonly edit?: (xml: string) => string;
  /** The assertion's ID; a fresh one by default. */
  readonly assertionId?: string;
  /** The response's ID; a fresh one by default. */
  readonly responseId?: string;
  /** The issue instant the window is counted from; the time of the call by default (fixed for the vectors in test/vectors/saml/). */
  readonly now?: Date;
  /** Encrypts the assertion to this certificate (PEM), the assertion signed before, the response after (samlify's defaults: AES-256, RSA-OAEP). */
  readonly encryptTo?: string;
}

export interface TestIdp {
  readonly entityId: string;
  readonly keys: SelfSigned;
  /** The Response XML, signed as asked. */
  issue(options: IssueOptions): Promise<string>;
  /** This IdP's SAML metadata, as samlify writes it. */
  metadata(): string;
  /** Reads an AuthnRequest URL (HTTP-Redirect) as this IdP would; with `spCertificate`, its signature is required and checked. */
  receiveRequest(url: string, spCertificate?: string): Promise<ReceivedRequest>;
  /** A LogoutRequest from this IdP to an SP's single logout URL (HTTP-Redirect), signed unless `sign` is false. */
  logoutRequest(sloUrl: string, options: LogoutRequestOptions): { readonly id: string; readonly url: string };
  /** A LogoutResponse from this IdP to `inResponseTo` (HTTP-Redirect to `sloUrl`), signed unless `sign` is false. */
  logoutResponse(sloUrl: string, inResponseTo: string, options?: { sign?: boolean; status?: string; edit?: (xml: string) => string }): string;
  /** Reads an SP's LogoutRequest URL as this IdP would; with `spCertificate`, its signature is required and checked. */
  receiveLogoutRequest(url: string, spCertificate?: string): Promise<ReceivedLogoutRequest>;
}

export interface LogoutRequestOptions {
  readonly nameId: string;
  readonly nameIdFormat?: string;
  readonly sign?: boolean;
  readonly signatureAlgorithm?: string;
  readonly issuer?: string;
  readonly destination?: string;
  readonly issueInstant?: Date;
  readonly notOnOrAfter?: Date;
  readonly relayState?: string;
  /** Changes the XML before it is signed. */
  readonly edit?: (xml: string) => string;
}

export interface ReceivedLogoutRequest {
  readonly id: string;
  readonly nameId: string;
  readonly xml: string;
}

export interface ReceivedRequest {
  readonly id: string;
  /** The request XML as inflated. */
  readonly xml: string;
}

export interface TestSp {
  readonly entityId: string;
  readonly acsUrl: string;
}

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

function attributeStatement(nameId: string, groups: readonly string[]): string {
  const values = (items: readonly string[]) => items.map((item) => `<saml:AttributeValue xsi:type="xs:string">${escape(item)}</saml:AttributeValue>`).join('');
  const groupAttribute = groups.length > 0 ? `<saml:Attribute Name="groupMembership">${values(groups)}</saml:Attribute>` : '';
  return `<saml:AttributeStatement><saml:Attribute Name="uid">${values([nameId])}</saml:Attribute>${groupAttribute}</saml:AttributeStatement>`;
}

function authnStatement(now: Date, sessionIndex: string): string {
  return `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${sessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
}

export function testIdp(sp: TestSp, options: { entityId?: string; keys?: SelfSigned } = {}): TestIdp {
  const entityId = options.entityId ?? 'urn:capsule-test:idp';
  const keys = options.keys ?? selfSigned({ commonName: 'capsule-test-idp' });
  const identityProvider = (signatureAlgorithm: string, encrypt: boolean, wantAuthnRequestsSigned = false, wantLogoutRequestSigned = false) =>
    samlify.IdentityProvider({
      wantAuthnRequestsSigned,
      wantLogoutRequestSigned,
      isAssertionEncrypted: encrypt,
      entityID: entityId,
      privateKey: keys.privateKeyPem,
      signingCert: keys.certificatePem,
      requestSignatureAlgorithm: signatureAlgorithm,
      nameIDFormat: [NAMEID_PERSISTENT],
      singleSignOnService: [{ Binding: REDIRECT, Location: 'http://127.0.0.1:1/sso' }],
      singleLogoutService: [{ Binding: REDIRECT, Location: 'http://127.0.0.1:1/slo' }],
    });
  /** What the signature of a redirect message covers: the query as sent, without the Signature itself (SAML bindings 3.4.4.1). */
  const octetStringOf = (parsed: URL) =>
    parsed.search
      .slice(1)
      .split('&')
      .filter((pair) => !pair.startsWith('Signature='))
      .join('&');
  const logoutPeer = (sloUrl: string, signed: { request?: boolean; response?: boolean; certificate?: string }) =>
    samlify.ServiceProvider({
      entityID: sp.entityId,
      wantLogoutRequestSigned: signed.request ?? false,
      wantLogoutResponseSigned: signed.response ?? false,
      assertionConsumerService: [{ Binding: POST, Location: sp.acsUrl }],
      singleLogoutService: [{ Binding: REDIRECT, Location: sloUrl }],
      ...(signed.certificate ? { signingCert: signed.certificate } : {}),
    });
  return {
    entityId,
    keys,
    logoutRequest(sloUrl, logout) {
      const values = {
        ID: `_l${randomUUID()}`,
        Destination: logout.destination ?? sloUrl,
        Issuer: logout.issuer ?? entityId,
        IssueInstant: (logout.issueInstant ?? new Date()).toISOString(),
        NameIDFormat: logout.nameIdFormat ?? NAMEID_PERSISTENT,
        NameID: logout.nameId,
        SessionIndex: `_s${randomUUID()}`,
      };
      const customTagReplacement = (template: string) => {
        let xml = samlify.SamlLib.replaceTagsByValue(template, values);
        if (logout.notOnOrAfter) xml = xml.replace(' Destination=', ` NotOnOrAfter="${logout.notOnOrAfter.toISOString()}" Destination=`);
        if (logout.edit) xml = logout.edit(xml);
        return { id: values.ID, context: xml };
      };
      const created = identityProvider(logout.signatureAlgorithm ?? RSA_SHA256, false).createLogoutRequest(logoutPeer(sloUrl, { request: logout.sign ?? true }), 'redirect', { logoutNameID: logout.nameId }, {
        relayState: logout.relayState ?? '',
        customTagReplacement,
      }) as { id: string; context: string };
      return { id: values.ID, url: created.context };
    },
    logoutResponse(sloUrl, inResponseTo, answer = {}) {
      const values = {
        ID: `_lr${randomUUID()}`,
        Destination: sloUrl,
        Issuer: entityId,
        EntityID: entityId,
        IssueInstant: new Date().toISOString(),
        StatusCode: answer.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success',
        InResponseTo: inResponseTo,
      };
      const customTagReplacement = (template: string) => {
        let xml = samlify.SamlLib.replaceTagsByValue(template, values);
        if (answer.edit) xml = answer.edit(xml);
        return { id: values.ID, context: xml };
      };
      const created = identityProvider(RSA_SHA256, false).createLogoutResponse(logoutPeer(sloUrl, { response: answer.sign ?? true }), { extract: { request: { id: inResponseTo } } }, 'redirect', {
        relayState: '',
        customTagReplacement,
      }) as { context: string };
      return created.context;
    },
    async receiveLogoutRequest(url, spCertificate) {
      const parsed = new URL(url);
      const received = await identityProvider(RSA_SHA256, false, false, spCertificate !== undefined).parseLogoutRequest(
        logoutPeer(`${parsed.origin}/unused`, spCertificate ? { certificate: spCertificate } : {}),
        'redirect',
        { query: Object.fromEntries(parsed.searchParams), octetString: octetStringOf(parsed) },
      );
      const extract = received.extract as { request?: { id?: unknown }; nameID?: unknown };
      return { id: String(extract.request?.id), nameId: String(extract.nameID), xml: received.samlContent };
    },
    metadata() {
      return identityProvider(RSA_SHA256, false).getMetadata();
    },
    async receiveRequest(url, spCertificate) {
      const serviceProvider = samlify.ServiceProvider({
        entityID: sp.entityId,
        assertionConsumerService: [{ Binding: POST, Location: sp.acsUrl }],
        ...(spCertificate ? { signingCert: spCertificate, authnRequestsSigned: true } : {}),
      });
      const parsed = new URL(url);
      const received = await identityProvider(RSA_SHA256, false, spCertificate !== undefined).parseLoginRequest(serviceProvider, 'redirect', {
        query: Object.fromEntries(parsed.searchParams),
        // What the signature covers: the query as sent, without the Signature itself (SAML bindings 3.4.4.1).
        octetString: parsed.search
          .slice(1)
          .split('&')
          .filter((pair) => !pair.startsWith('Signature='))
          .join('&'),
      });
      return { id: String((received.extract as { request?: { id?: unknown } }).request?.id), xml: received.samlContent };
    },
    async issue(issue) {
      const sign = issue.sign ?? { response: true, assertion: true };
      const serviceProvider = samlify.ServiceProvider({
        entityID: sp.entityId,
        wantAssertionsSigned: sign.assertion,
        wantMessageSigned: sign.response,
        assertionConsumerService: [{ Binding: POST, Location: sp.acsUrl }],
        ...(issue.encryptTo ? { encryptCert: issue.encryptTo } : {}),
      });
      const now = issue.now ?? new Date();
      const nameId = issue.nameId ?? 'alice';
      const responseId = issue.responseId ?? `_r${randomUUID()}`;
      const values = {
        ID: responseId,
        AssertionID: issue.assertionId ?? `_a${randomUUID()}`,
        Destination: issue.destination ?? sp.acsUrl,
        Audience: issue.audience ?? sp.entityId,
        SubjectRecipient: issue.recipient ?? sp.acsUrl,
        Issuer: issue.issuer ?? entityId,
        IssueInstant: now.toISOString(),
        StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
        ConditionsNotBefore: (issue.notBefore ?? new Date(now.getTime() - 30_000)).toISOString(),
        ConditionsNotOnOrAfter: (issue.notOnOrAfter ?? new Date(now.getTime() + 300_000)).toISOString(),
        SubjectConfirmationDataNotOnOrAfter: (issue.notOnOrAfter ?? new Date(now.getTime() + 300_000)).toISOString(),
        NameIDFormat: issue.nameIdFormat ?? NAMEID_PERSISTENT,
        NameID: nameId,
        InResponseTo: issue.requestId ?? '',
        AuthnStatement: '',
        AttributeStatement: '',
      };
      const customTagReplacement = (template: string) => {
        let xml = samlify.SamlLib.replaceTagsByValue(template, values);
        xml = xml.replace('</saml:Conditions>', `</saml:Conditions>${authnStatement(now, `_s${responseId.slice(1)}`)}${attributeStatement(nameId, issue.groups ?? ['idp-editors'])}`);
        if (issue.requestId === null) xml = xml.replace(/ InResponseTo=""/g, '');
        if (issue.edit) xml = issue.edit(xml);
        return { id: values.ID, context: xml };
      };
      // samlify reads only extract.request.id (for InResponseTo, which the template above already holds).
      const requestInfo = { extract: { request: { id: issue.requestId ?? '' } } };
      const { context } = await identityProvider(issue.signatureAlgorithm ?? RSA_SHA256, issue.encryptTo !== undefined).createLoginResponse(serviceProvider, requestInfo, 'post', { email: nameId }, { customTagReplacement, encryptThenSign: issue.encryptTo !== undefined });
      return Buffer.from(context, 'base64').toString('utf8');
    },
  };
}

export function base64(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

/** A service provider as the tests configure it. */
export const TEST_SP: TestSp = { entityId: 'https://www.example.test/saml/corp', acsUrl: 'https://www.example.test/system/sling/saml/corp/acs' };

/** Settings of provider `corp` that trust `idp`, with `values` over them (as configuration values). */
export function settingsTrusting(idp: TestIdp, values: Record<string, string | number | boolean | string[]> = {}): SamlSettings {
  return samlSettings('corp', {
    idpUrl: 'https://idp.example.test/sso',
    idpEntityId: idp.entityId,
    idpCert: [idp.keys.certificatePem],
    serviceProviderEntityId: TEST_SP.entityId,
    ...values,
  });
}

/** ACS options with a replay store of their own (a test of replays shares one on purpose). */
export function freshOptions(decryptionKey: string | null = null): SamlResponseOptions {
  return { decryptionKey, requestLifetimeMs: 600_000, replay: createMemoryReplayStore({ clock: systemClock }), clock: systemClock };
}
