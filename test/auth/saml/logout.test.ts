import assert from 'node:assert/strict';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../../src/instance/index.js';
import { login, tokenOf, withToken } from '../../helpers/http.js';
import { startLoggedInstance } from '../../helpers/oidc-instances.js';
import { base64, RSA_SHA1, testIdp, type TestIdp } from '../../helpers/saml-idp.js';
import { selfSigned, type SelfSigned } from '../../helpers/self-signed.js';
import { tempDir } from '../../helpers/temp.js';

const STATE_COOKIE = '__Host-capsule-saml-state';
const LOGOUT_COOKIE = '__Host-capsule-saml-logout';
const IDP_SSO = 'http://127.0.0.2:9/sso'; // never fetched: the test plays the browser and reads the redirects
const IDP_SLO = 'http://127.0.0.2:9/slo';
const IDP_ORIGIN = 'http://127.0.0.2:9';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

describe('SAML single logout, over HTTP against a started instance', () => {
  let instance: RunningInstance;
  let lines: string[];
  let idp: TestIdp;
  let otherIdp: TestIdp;
  /** Two providers that take the user id from the `uid` attribute, not the NameID. */
  let attributeIdps: Record<'attr' | 'attr-2', TestIdp>;
  let spKeys: SelfSigned;
  let sloUrl: string;

  before(async () => {
    ({ instance, lines } = await startLoggedInstance(join(tempDir(), 'home'), 'a'));
    idp = testIdp({ entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/corp/acs` });
    otherIdp = testIdp({ entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/other/acs` }, { entityId: 'urn:capsule-test:other-idp' });
    spKeys = selfSigned({ commonName: 'capsule-test-sp' });
    sloUrl = `${instance.url}/system/sling/saml/corp/slo`;
    const common = { serviceProviderEntityId: `${instance.url}/saml`, idpUrl: IDP_SSO, handleLogout: true, logoutUrl: IDP_SLO };
    await instance.services.config.update('capsule.auth.saml~corp', {
      ...common,
      idpEntityId: idp.entityId,
      idpCert: [idp.keys.certificatePem],
      title: 'Corporate SAML',
      signRequests: true,
      spPrivateKey: instance.services.crypto.protect(spKeys.privateKeyPem),
      spCertificate: spKeys.certificatePem,
    });
    await instance.services.config.update('capsule.auth.saml~other', { ...common, idpEntityId: otherIdp.entityId, idpCert: [otherIdp.keys.certificatePem] });
    attributeIdps = {
      attr: testIdp({ entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/attr/acs` }, { entityId: 'urn:capsule-test:attr-idp' }),
      'attr-2': testIdp({ entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/attr-2/acs` }, { entityId: 'urn:capsule-test:attr-2-idp' }),
    };
    for (const [name, attributeIdp] of Object.entries(attributeIdps)) {
      await instance.services.config.update(`capsule.auth.saml~${name}`, { ...common, idpEntityId: attributeIdp.entityId, idpCert: [attributeIdp.keys.certificatePem], userIDAttribute: 'uid' });
    }
    await instance.services.users.createUser('carol', { password: 'carol-password' });
  });
  after(() => instance.stop());

  /** A person signs in through `provider` (SP-initiated, as login.test.ts plays it); the login token. With `uid`, the `uid` attribute says it, not the NameID. */
  async function signIn(nameId: string, provider: 'corp' | 'other' | 'attr' | 'attr-2' = 'corp', uid = nameId): Promise<string> {
    const started = await fetch(`${instance.url}/system/sling/saml/${provider}/login?resource=%2Fapi%2Fsession`, { redirect: 'manual' });
    const cookie = started.headers.getSetCookie().find((line) => line.startsWith(`${STATE_COOKIE}=`))!.split(';')[0]!;
    const issuer = provider === 'corp' ? idp : provider === 'other' ? otherIdp : attributeIdps[provider];
    const request = await issuer.receiveRequest(started.headers.get('location')!);
    const xml = await issuer.issue({ requestId: request.id, nameId, edit: (xml) => xml.replace(/(<saml:Attribute Name="uid"><saml:AttributeValue[^>]*>)[^<]*/, `$1${uid}`) });
    const response = await fetch(`${instance.url}/system/sling/saml/${provider}/acs`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: IDP_ORIGIN, 'sec-fetch-site': 'cross-site', cookie },
      body: new URLSearchParams({ SAMLResponse: base64(xml) }).toString(),
    });
    assert.equal(response.status, 303);
    return tokenOf(response)!;
  }

  async function sessionStatus(token: string): Promise<number> {
    const response = await fetch(`${instance.url}/api/session`, withToken(token));
    await response.body?.cancel();
    return response.status;
  }

  /** Capsule's logout form, posted from Capsule's own page. */
  async function logout(token: string): Promise<Response> {
    return fetch(`${instance.url}/system/sling/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: instance.url, cookie: `login-token=${token}` },
      body: new URLSearchParams({ resource: '/system/sling/login' }).toString(),
    });
  }

  /** The IdP's message delivered by the browser (the redirect followed), with its cookies. */
  async function deliver(url: string, cookie: string | null = null): Promise<{ response: Response; body: string }> {
    const target = new URL(url);
    const response = await fetch(`${sloUrl}${target.search}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    return { response, body: await response.text() };
  }

  /** Capsule's logout up to the IdP: the logout cookie, and the LogoutRequest URL from the page on the way. */
  async function logoutToIdp(token: string): Promise<{ cookie: string; url: string; setCookie: string }> {
    const answer = await logout(token);
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.get('location'), '/system/sling/saml/corp/slo/start');
    const setCookie = answer.headers.getSetCookie().find((line) => line.startsWith(`${LOGOUT_COOKIE}=`))!;
    const cookie = setCookie.split(';')[0]!;
    const page = await fetch(`${instance.url}/system/sling/saml/corp/slo/start`, { headers: { cookie, 'sec-fetch-site': 'same-origin' } });
    assert.equal(page.status, 200);
    // The browser keeps the state /slo/start puts in place of the one it used.
    const sent = page.headers.getSetCookie().find((line) => line.startsWith(`${LOGOUT_COOKIE}=`));
    assert.ok(sent, 'the logout state is replaced when the browser is sent to the IdP');
    const html = await page.text();
    const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(html);
    assert.ok(refresh, html);
    const url = refresh[1]!.replace(/&amp;/g, '&');
    assert.ok(html.includes(`href="${refresh[1]}"`), 'and a link to the same place');
    return { cookie: sent.split(';')[0]!, url, setCookie };
  }

  function messageOf(url: string, parameter: 'SAMLRequest' | 'SAMLResponse'): string {
    return inflateRawSync(Buffer.from(new URL(url).searchParams.get(parameter)!, 'base64')).toString('utf8');
  }

  describe('logging out at Capsule (SP-initiated)', () => {
    it('ends the token, sends the browser to the IdP with a LogoutRequest signed by the SP key, and lands on the login page when the IdP answers', async () => {
      const token = await signIn('alice');
      const { cookie, url, setCookie } = await logoutToIdp(token);
      assert.equal(await sessionStatus(token), 401, 'the Capsule token ended at once');
      assert.ok(setCookie.startsWith('__Host-capsule-saml-logout='));
      assert.match(setCookie, /; Path=\/;/);
      assert.match(setCookie, /; Secure/);
      assert.doesNotMatch(setCookie, /; Domain=/i);
      assert.match(setCookie, /; HttpOnly/);
      assert.match(setCookie, /; SameSite=Lax/);
      assert.ok(url.startsWith(`${IDP_SLO}?SAMLRequest=`), url);
      assert.equal(new URL(url).searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');

      const received = await idp.receiveLogoutRequest(url, spKeys.certificatePem);
      assert.equal(received.nameId, 'alice');
      assert.match(received.xml, /Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"/);
      assert.match(received.xml, new RegExp(`Destination="${IDP_SLO}"`));
      await assert.rejects(idp.receiveLogoutRequest(url, selfSigned().certificatePem), 'the IdP checks the signature against the SP certificate');

      const back = await deliver(idp.logoutResponse(sloUrl, received.id), cookie);
      assert.equal(back.response.status, 303);
      assert.equal(back.response.headers.get('location'), '/system/sling/login?j_notice=signed_out');
      assert.match(back.response.headers.getSetCookie().find((line) => line.startsWith(`${LOGOUT_COOKIE}=`)) ?? '', /Max-Age=0/, 'the logout state is used up');
      const loginPage = await (await fetch(`${instance.url}${back.response.headers.get('location')}`)).text();
      assert.match(loginPage, /You are signed out, here and at your identity provider\./);
      assert.ok(lines.some((line) => line.includes('"event":"logout"') && line.includes('"initiatedBy":"sp"') && line.includes('"outcome":"success"') && line.includes('"provider":"corp"')), 'audited');
    });

    it('refuses a LogoutResponse to another logout, one without the logout state, one signed by another key, one addressed elsewhere; says so when the IdP failed', async () => {
      const mine = await logoutToIdp(await signIn('alice'));
      const theirs = await logoutToIdp(await signIn('alice'));
      const mineId = (await idp.receiveLogoutRequest(mine.url)).id;
      const theirsId = (await idp.receiveLogoutRequest(theirs.url)).id;

      const other = await deliver(idp.logoutResponse(sloUrl, theirsId), mine.cookie);
      assert.equal(other.response.status, 400);
      assert.match(other.body, /does not answer a logout started in this browser/);
      const none = await deliver(idp.logoutResponse(sloUrl, mineId), null);
      assert.equal(none.response.status, 400);
      const impostor = testIdp({ entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/corp/acs` }, { entityId: idp.entityId });
      const forged = await deliver(impostor.logoutResponse(sloUrl, mineId), mine.cookie);
      assert.equal(forged.response.status, 400);
      assert.match(forged.body, /could not be verified with the identity provider certificates/);
      const unsigned = await deliver(idp.logoutResponse(sloUrl, mineId, { sign: false }), mine.cookie);
      assert.equal(unsigned.response.status, 400, 'an unsigned LogoutResponse');
      assert.match(unsigned.body, /not signed by the identity provider/);
      const signedUrl = new URL(idp.logoutResponse(sloUrl, mineId));
      const stripped = `${signedUrl.origin}${signedUrl.pathname}?SAMLResponse=${encodeURIComponent(signedUrl.searchParams.get('SAMLResponse')!)}`;
      assert.equal((await deliver(stripped, mine.cookie)).response.status, 400, 'a signed LogoutResponse with SigAlg and Signature taken off');
      assert.ok(lines.some((line) => line.includes('"initiatedBy":"sp"') && line.includes('"reason":"unsigned"')), 'audited as unsigned');
      const elsewhere = await deliver(idp.logoutResponse(`${instance.url}/system/sling/saml/other/slo`, mineId), mine.cookie);
      assert.equal(elsewhere.response.status, 400);
      assert.match(elsewhere.body, /sent to another logout address/);
      const failed = await deliver(idp.logoutResponse(sloUrl, mineId, { status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }), mine.cookie);
      assert.equal(failed.response.status, 400);
      assert.match(failed.body, /You are signed out here, but the identity provider could not end your session there/);
      assert.ok(lines.some((line) => line.includes('"reason":"in-response-to"') && line.includes(mineId) && line.includes(theirsId)), 'logged with both ids');
    });

    it('goes nowhere else for a local user, or a user of a provider without single logout', async () => {
      const local = await logout(await login(instance.url, 'carol', 'carol-password'));
      assert.equal(local.status, 303);
      assert.equal(local.headers.get('location'), '/system/sling/login');
      assert.equal(local.headers.getSetCookie().find((line) => line.startsWith(`${LOGOUT_COOKIE}=`)), undefined);

      await instance.services.config.update('capsule.auth.saml~other', { ...instance.services.config.current('capsule.auth.saml~other'), handleLogout: false });
      try {
        const token = await signIn('olive', 'other');
        const plain = await logout(token);
        assert.equal(plain.headers.get('location'), '/system/sling/login');
        assert.equal(await sessionStatus(token), 401);
      } finally {
        await instance.services.config.update('capsule.auth.saml~other', { ...instance.services.config.current('capsule.auth.saml~other'), handleLogout: true });
      }
    });

    it('refuses to start the logout at the IdP from another site, and the state still starts it from this one', async () => {
      const answer = await logout(await signIn('alice'));
      const cookie = answer.headers.getSetCookie().find((line) => line.startsWith(`${LOGOUT_COOKIE}=`))!.split(';')[0]!;
      const crossSite = await fetch(`${instance.url}/system/sling/saml/corp/slo/start`, { headers: { cookie, 'sec-fetch-site': 'cross-site' } });
      assert.equal(crossSite.status, 403);
      const body = await crossSite.text();
      assert.doesNotMatch(body, /SAMLRequest/, 'no LogoutRequest on the page');
      assert.equal(crossSite.headers.getSetCookie().find((line) => line.startsWith(`${LOGOUT_COOKIE}=`)), undefined, 'the state is left as it was');
      const ownSite = await fetch(`${instance.url}/system/sling/saml/corp/slo/start`, { headers: { cookie, 'sec-fetch-site': 'same-origin' } });
      assert.equal(ownSite.status, 200);
      assert.match(await ownSite.text(), /SAMLRequest=/);
    });

    it('sends the browser to the IdP once per logout: the state /slo/start leaves starts nothing more, but takes the response', async () => {
      const answer = await logout(await signIn('alice'));
      const first = answer.headers.getSetCookie().find((line) => line.startsWith(`${LOGOUT_COOKIE}=`))!.split(';')[0]!;
      const page = await fetch(`${instance.url}/system/sling/saml/corp/slo/start`, { headers: { cookie: first } });
      assert.equal(page.status, 200);
      const url = /content="0;url=([^"]+)"/.exec(await page.text())![1]!.replace(/&amp;/g, '&');
      const sent = page.headers.getSetCookie().find((line) => line.startsWith(`${LOGOUT_COOKIE}=`))!.split(';')[0]!;
      assert.notEqual(sent, first);
      const again = await fetch(`${instance.url}/system/sling/saml/corp/slo/start`, { headers: { cookie: sent } });
      assert.equal(again.status, 400, 'no second LogoutRequest');
      assert.match(await again.text(), /No sign-out at the identity provider is under way in this browser/);
      const received = await idp.receiveLogoutRequest(url);
      const back = await deliver(idp.logoutResponse(sloUrl, received.id), sent);
      assert.equal(back.response.status, 303);
      assert.equal(back.response.headers.get('location'), '/system/sling/login?j_notice=signed_out');
    });

    it('forgets a logout state at the next sign-in in that browser', async () => {
      const started = await fetch(`${instance.url}/system/sling/saml/corp/login`, { redirect: 'manual' });
      const cookie = started.headers.getSetCookie().find((line) => line.startsWith(`${STATE_COOKIE}=`))!.split(';')[0]!;
      const request = await idp.receiveRequest(started.headers.get('location')!);
      const response = await fetch(`${instance.url}/system/sling/saml/corp/acs`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: IDP_ORIGIN, 'sec-fetch-site': 'cross-site', cookie },
        body: new URLSearchParams({ SAMLResponse: base64(await idp.issue({ requestId: request.id, nameId: 'alice' })) }).toString(),
      });
      assert.equal(response.status, 303);
      assert.match(response.headers.getSetCookie().find((line) => line.startsWith(`${LOGOUT_COOKIE}=`)) ?? '', /Max-Age=0/);
    });

    it('starts nothing at the IdP without a logout state in the browser', async () => {
      const page = await fetch(`${instance.url}/system/sling/saml/corp/slo/start`);
      assert.equal(page.status, 400);
      assert.match(await page.text(), /No sign-out at the identity provider is under way in this browser/);
    });

    it('advertises the single logout endpoint (HTTP-Redirect) in the SP metadata', async () => {
      const xml = await (await fetch(`${instance.url}/system/sling/saml/corp/metadata`)).text();
      assert.match(xml, new RegExp(`<(md:)?SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${sloUrl}"`));
    });
  });

  describe('a LogoutRequest from the IdP (IdP-initiated)', () => {
    it("ends every token of the user that provider provisioned with that NameID, and answers with a signed LogoutResponse carrying the RelayState", async () => {
      const first = await signIn('bob');
      const second = await signIn('bob');
      const { id, url } = idp.logoutRequest(sloUrl, { nameId: 'bob', relayState: 'back-to-idp' });
      const { response } = await deliver(url);
      assert.equal(response.status, 302);
      const location = response.headers.get('location')!;
      assert.ok(location.startsWith(`${IDP_SLO}?SAMLResponse=`), location);
      const answer = new URL(location).searchParams;
      assert.equal(answer.get('RelayState'), 'back-to-idp');
      assert.ok(answer.get('Signature'), 'signed with the SP key (signRequests)');
      const xml = messageOf(location, 'SAMLResponse');
      assert.match(xml, new RegExp(`InResponseTo="${id}"`));
      assert.match(xml, new RegExp(`StatusCode Value="${SUCCESS}"`));
      assert.equal(await sessionStatus(first), 401);
      assert.equal(await sessionStatus(second), 401);
      assert.ok(lines.some((line) => line.includes('"initiatedBy":"idp"') && line.includes('"outcome":"success"') && line.includes('"userId":"bob"')), 'audited');
    });

    it("ends only the user it names, whoever's browser brings it: the bringer stays signed in", async () => {
      const bringer = await signIn('anna');
      const named = await signIn('ben');
      const { response } = await deliver(idp.logoutRequest(sloUrl, { nameId: 'ben' }).url, `login-token=${bringer}`);
      assert.equal(response.status, 302);
      assert.equal(await sessionStatus(named), 401);
      assert.equal(await sessionStatus(bringer), 200);
    });

    it("ends nothing for a NameID that is a local user's id, or another provider's user, and answers UnknownPrincipal", async () => {
      const carol = await login(instance.url, 'carol', 'carol-password');
      const olga = await signIn('olga', 'other');
      for (const nameId of ['carol', 'olga', 'nobody']) {
        const { response } = await deliver(idp.logoutRequest(sloUrl, { nameId }).url);
        assert.equal(response.status, 302, nameId);
        assert.match(messageOf(response.headers.get('location')!, 'SAMLResponse'), /UnknownPrincipal/);
      }
      assert.equal(await sessionStatus(carol), 200);
      assert.equal(await sessionStatus(olga), 200);
      assert.ok(lines.some((line) => line.includes('"initiatedBy":"idp"') && line.includes('"outcome":"unknown-user"') && line.includes('"nameId":"carol"')));
    });

    it("with the user id from an attribute: ends the user that provider provisioned with that NameID, not another provider's user of the same NameID", async () => {
      const nameId = 'shared:subject';
      const ulla = await signIn(nameId, 'attr', 'ulla');
      const uwe = await signIn(nameId, 'attr-2', 'uwe');
      assert.deepEqual(await instance.services.users.externalIdentityOf('ulla'), { provider: 'attr', subject: nameId });
      assert.deepEqual(await instance.services.users.externalIdentityOf('uwe'), { provider: 'attr-2', subject: nameId });
      const logoutAt = async (provider: 'attr' | 'attr-2') => {
        const url = new URL(attributeIdps[provider].logoutRequest(`${instance.url}/system/sling/saml/${provider}/slo`, { nameId }).url);
        const response = await fetch(`${instance.url}/system/sling/saml/${provider}/slo${url.search}`, { redirect: 'manual' });
        assert.equal(response.status, 302);
        return messageOf(response.headers.get('location')!, 'SAMLResponse');
      };
      assert.match(await logoutAt('attr'), new RegExp(`StatusCode Value="${SUCCESS}"`));
      assert.equal(await sessionStatus(ulla), 401);
      assert.equal(await sessionStatus(uwe), 200, "the other provider's user of the same NameID stays signed in");
      assert.ok(lines.some((line) => line.includes('"initiatedBy":"idp"') && line.includes('"outcome":"success"') && line.includes('"userId":"ulla"')), 'audited');
      assert.match(await logoutAt('attr-2'), new RegExp(`StatusCode Value="${SUCCESS}"`));
      assert.equal(await sessionStatus(uwe), 401);
    });

    it('with the user id from an attribute that changed (two users of one NameID): ends both, not only the first in id order', async () => {
      const nameId = 'renamed:subject';
      const before = await signIn(nameId, 'attr', 'zeta-old');
      const after = await signIn(nameId, 'attr', 'alpha-new'); // the IdP now sends another uid for the same person
      assert.deepEqual(await instance.services.users.findExternalUsers('attr', nameId), ['alpha-new', 'zeta-old']);
      const url = new URL(attributeIdps.attr.logoutRequest(`${instance.url}/system/sling/saml/attr/slo`, { nameId }).url);
      const response = await fetch(`${instance.url}/system/sling/saml/attr/slo${url.search}`, { redirect: 'manual' });
      assert.equal(response.status, 302);
      assert.match(messageOf(response.headers.get('location')!, 'SAMLResponse'), new RegExp(`StatusCode Value="${SUCCESS}"`));
      assert.equal(await sessionStatus(before), 401);
      assert.equal(await sessionStatus(after), 401);
      assert.ok(lines.some((line) => line.includes('"initiatedBy":"idp"') && line.includes('"userIds":["alpha-new","zeta-old"]')), 'both audited');
    });

    const refusals: Array<{ name: string; make: () => string; page: RegExp; reason: string }> = [
      { name: 'unsigned', make: () => idp.logoutRequest(sloUrl, { nameId: 'victor', sign: false }).url, page: /not signed by the identity provider/, reason: 'unsigned' },
      {
        name: 'signed by another key (same entity id)',
        make: () => testIdp({ entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/corp/acs` }, { entityId: idp.entityId }).logoutRequest(sloUrl, { nameId: 'victor' }).url,
        page: /could not be verified/,
        reason: 'signature-invalid',
      },
      { name: 'past its NotOnOrAfter', make: () => idp.logoutRequest(sloUrl, { nameId: 'victor', notOnOrAfter: new Date(Date.now() - 120_000) }).url, page: /has expired/, reason: 'expired' },
      { name: 'issued long ago (no NotOnOrAfter)', make: () => idp.logoutRequest(sloUrl, { nameId: 'victor', issueInstant: new Date(Date.now() - 3_600_000) }).url, page: /has expired/, reason: 'expired' },
      { name: 'addressed to another SP endpoint', make: () => idp.logoutRequest(sloUrl, { nameId: 'victor', destination: `${instance.url}/system/sling/saml/other/slo` }).url, page: /another logout address/, reason: 'destination' },
      { name: 'from another issuer', make: () => idp.logoutRequest(sloUrl, { nameId: 'victor', issuer: 'urn:capsule-test:someone-else' }).url, page: /other than the one configured/, reason: 'issuer' },
      { name: 'signed with SHA-1', make: () => idp.logoutRequest(sloUrl, { nameId: 'victor', signatureAlgorithm: RSA_SHA1 }).url, page: /algorithm that is not accepted/, reason: 'weak-algorithm' },
      {
        name: 'with its message swapped for another NameID after signing',
        make: () => {
          const genuine = new URL(idp.logoutRequest(sloUrl, { nameId: 'nobody' }).url);
          genuine.searchParams.set('SAMLRequest', new URL(idp.logoutRequest(sloUrl, { nameId: 'victor', sign: false }).url).searchParams.get('SAMLRequest')!);
          return genuine.href;
        },
        page: /could not be verified/,
        reason: 'signature-invalid',
      },
      {
        name: 'with a second SAMLRequest appended to a genuine one',
        make: () => `${idp.logoutRequest(sloUrl, { nameId: 'nobody' }).url}&SAMLRequest=${encodeURIComponent(new URL(idp.logoutRequest(sloUrl, { nameId: 'victor', sign: false }).url).searchParams.get('SAMLRequest')!)}`,
        page: /could not be read/,
        reason: 'malformed',
      },
      {
        name: 'made without the IdP key, with SigAlg and an empty Signature',
        make: () => {
          const unsigned = new URL(idp.logoutRequest(sloUrl, { nameId: 'victor', sign: false }).url);
          const sigAlg = encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
          return `${unsigned.origin}${unsigned.pathname}?SAMLRequest=${encodeURIComponent(unsigned.searchParams.get('SAMLRequest')!)}&SigAlg=${sigAlg}&Signature=`;
        },
        page: /could not be read/,
        reason: 'malformed',
      },
      {
        name: 'made without the IdP key, with SigAlg and a Signature of spaces',
        make: () => {
          const unsigned = new URL(idp.logoutRequest(sloUrl, { nameId: 'victor', sign: false }).url);
          const sigAlg = encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
          return `${unsigned.origin}${unsigned.pathname}?SAMLRequest=${encodeURIComponent(unsigned.searchParams.get('SAMLRequest')!)}&SigAlg=${sigAlg}&Signature=%20+`;
        },
        page: /could not be read/,
        reason: 'malformed',
      },
      {
        name: 'with a document type declaration',
        make: () => idp.logoutRequest(sloUrl, { nameId: 'victor', edit: (xml) => `<!DOCTYPE x [<!ENTITY e "victor">]>${xml}` }).url,
        page: /document type declaration/,
        reason: 'doctype',
      },
    ];
    for (const refusal of refusals) {
      it(`refuses one ${refusal.name}, and the user's token still works`, async () => {
        const victor = await signIn('victor');
        const { response, body } = await deliver(refusal.make());
        assert.equal(response.status, 400);
        assert.equal(response.headers.get('location'), null, 'no LogoutResponse goes back');
        assert.match(body, refusal.page);
        assert.equal(await sessionStatus(victor), 200);
        assert.ok(lines.some((line) => line.includes('"initiatedBy":"idp"') && line.includes('"outcome":"refused"') && line.includes(`"reason":"${refusal.reason}"`)), `audited as ${refusal.reason}`);
      });
    }

    it('takes each LogoutRequest once: a replay ends nothing', async () => {
      const before = await signIn('rita');
      const { url } = idp.logoutRequest(sloUrl, { nameId: 'rita' });
      assert.equal((await deliver(url)).response.status, 302);
      assert.equal(await sessionStatus(before), 401);
      const after = await signIn('rita');
      const replay = await deliver(url);
      assert.equal(replay.response.status, 400);
      assert.match(replay.body, /already used/);
      assert.equal(await sessionStatus(after), 200);
    });

    it('is refused for a provider without single logout', async () => {
      const token = await signIn('oscar', 'other');
      await instance.services.config.update('capsule.auth.saml~other', { ...instance.services.config.current('capsule.auth.saml~other'), handleLogout: false });
      try {
        const direct = await fetch(`${instance.url}/system/sling/saml/other/slo${new URL(otherIdp.logoutRequest(`${instance.url}/system/sling/saml/other/slo`, { nameId: 'oscar' }).url).search}`, { redirect: 'manual' });
        assert.equal(direct.status, 404);
        assert.match(await direct.text(), /does not take logout messages from this identity provider/);
        assert.equal(await sessionStatus(token), 200);
      } finally {
        await instance.services.config.update('capsule.auth.saml~other', { ...instance.services.config.current('capsule.auth.saml~other'), handleLogout: true });
      }
    });
  });
});
