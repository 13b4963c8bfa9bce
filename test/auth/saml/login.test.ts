import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../../src/instance/index.js';
import { tokenOf, withToken } from '../../helpers/http.js';
import { memorySessionRegistry, type MemorySessionRegistry } from '../../helpers/memory-session-registry.js';
import { startLoggedInstance } from '../../helpers/oidc-instances.js';
import { base64, testIdp, type TestIdp } from '../../helpers/saml-idp.js';
import { tempDir } from '../../helpers/temp.js';

const STATE_COOKIE = '__Host-capsule-saml-state';
const IDP_URL = 'http://127.0.0.2:9/sso'; // never fetched: the test reads the AuthnRequest from the redirect
/** What a browser sends with the IdP's auto-posted form: another site. */
const IDP_ORIGIN = 'http://127.0.0.2:9';

interface Begun {
  readonly cookie: string;
  readonly requestId: string;
  readonly setCookie: string;
}

describe('single sign-on with SAML 2.0, over HTTP against a started instance', () => {
  let instance: RunningInstance;
  let lines: string[];
  let idp: TestIdp;
  let acsUrl: string;
  let sessions: MemorySessionRegistry;
  before(async () => {
    sessions = memorySessionRegistry();
    ({ instance, lines } = await startLoggedInstance(join(tempDir(), 'home'), 'a', { sessions }));
    acsUrl = `${instance.url}/system/sling/saml/corp/acs`;
    idp = testIdp({ entityId: `${instance.url}/saml`, acsUrl });
    await instance.services.config.update('capsule.auth.saml~corp', {
      idpUrl: IDP_URL,
      idpEntityId: idp.entityId,
      idpCert: [idp.keys.certificatePem],
      serviceProviderEntityId: `${instance.url}/saml`,
      title: 'Corporate SAML',
      groupMap: ['idp-editors=editors'],
      defaultGroups: ['staff'],
    });
  });
  after(() => instance.stop());

  /** The login redirect as a browser follows it to the IdP; the IdP reads the request. */
  async function begin(resource = '/api/session'): Promise<Begun> {
    const response = await fetch(`${instance.url}/system/sling/saml/corp/login?resource=${encodeURIComponent(resource)}`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    const location = response.headers.get('location')!;
    assert.ok(location.startsWith(`${IDP_URL}?SAMLRequest=`), location);
    const setCookie = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${STATE_COOKIE}=`))!;
    const request = await idp.receiveRequest(location);
    return { cookie: setCookie.split(';')[0]!, requestId: request.id, setCookie };
  }

  /** The IdP's form posted to the ACS, from the IdP's site, with this browser's cookie. */
  async function post(xml: string, cookie: string | null, url = acsUrl): Promise<{ response: Response; token: string | null; body: string }> {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: IDP_ORIGIN, 'sec-fetch-site': 'cross-site', ...(cookie ? { cookie } : {}) },
      body: new URLSearchParams({ SAMLResponse: base64(xml), RelayState: 'https://evil.example/' }).toString(),
    });
    return { response, token: tokenOf(response), body: await response.text() };
  }

  async function session(token: string): Promise<{ userId: string; groups: string[] }> {
    const response = await fetch(`${instance.url}/api/session`, withToken(token));
    assert.equal(response.status, 200);
    return (await response.json()) as { userId: string; groups: string[] };
  }

  it('shows a SAML sign-in button on the login page', async () => {
    const page = await (await fetch(`${instance.url}/system/sling/login?resource=%2Fapi%2Fsession`)).text();
    assert.match(page, /<a class="sso" href="\/system\/sling\/saml\/corp\/login\?resource=%2Fapi%2Fsession">Sign in with Corporate SAML<\/a>/);
  });

  it('signs a person in: redirect with an AuthnRequest, the signed answer accepted at the ACS, the user created with mapped groups only, the session works', async () => {
    const begun = await begin('/api/session');
    assert.ok(begun.setCookie.startsWith('__Host-capsule-saml-state='), 'a __Host- cookie: no sibling subdomain can plant one');
    assert.match(begun.setCookie, /; Path=\/;/);
    assert.doesNotMatch(begun.setCookie, /; Domain=/i);
    assert.match(begun.setCookie, /; HttpOnly/);
    assert.match(begun.setCookie, /; Secure/);
    assert.match(begun.setCookie, /; SameSite=None/);

    const xml = await idp.issue({ requestId: begun.requestId, nameId: 'alice', groups: ['idp-editors', 'administrators'] });
    const { response, token } = await post(xml, begun.cookie);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/api/session', 'the resource from the signed state, never the RelayState');
    assert.ok(token, 'the login cookie is set');
    assert.match(response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${STATE_COOKIE}=`)) ?? '', /Max-Age=0/, 'the state is cleared');
    const alice = await session(token);
    assert.equal(alice.userId, 'alice');
    assert.deepEqual(alice.groups, ['editors', 'staff'], "an IdP group called 'administrators' grants nothing");
    const [started, ...more] = await sessions.list('alice');
    assert.deepEqual([started?.method, started?.provider, started?.clientAddress, more.length], ['saml', 'corp', '127.0.0.1', 0], 'the sign-in started a session');
    assert.equal((await instance.tokens.authenticateToken(token))?.session.sessionId, started?.id, 'which the token carries');

    const passwordLogin = await fetch(`${instance.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: 'alice', j_password: '' }).toString(),
    });
    assert.notEqual(passwordLogin.status, 200, 'the created user has no password');
    assert.ok(lines.some((line) => line.includes('"event":"login"') && line.includes('"method":"saml"') && line.includes('"outcome":"success"')), 'audited');
  });

  it('refuses the same response posted again, even with its own state cookie', async () => {
    const begun = await begin();
    const xml = await idp.issue({ requestId: begun.requestId, nameId: 'bob' });
    assert.equal((await post(xml, begun.cookie)).response.status, 303);
    const replay = await post(xml, begun.cookie);
    assert.equal(replay.response.status, 401);
    assert.equal(replay.token, null);
    assert.match(replay.body, /This sign-in response was already used/);
    assert.ok(lines.some((line) => line.includes('"reason":"replayed"') && line.includes('"outcome":"refused"')), 'in the audit trail with its reason');
  });

  it("refuses a response to another browser's request, and creates no user", async () => {
    const mine = await begin();
    const theirs = await begin();
    const xml = await idp.issue({ requestId: theirs.requestId, nameId: 'mallory' });
    const refused = await post(xml, mine.cookie);
    assert.equal(refused.response.status, 401);
    assert.equal(refused.token, null);
    assert.match(refused.body, /does not answer the sign-in started in this browser/);
    const line = lines.find((entry) => entry.includes('"reason":"in-response-to"'));
    assert.ok(line, 'logged with its reason');
    assert.ok(line.includes(mine.requestId) && line.includes(theirs.requestId), 'with the expected and the received request ids');
    assert.equal(await instance.services.users.getUser('mallory'), null);

    const noCookie = await post(await idp.issue({ requestId: theirs.requestId, nameId: 'mallory' }), null);
    assert.equal(noCookie.response.status, 401, 'nor without any state (IdP-initiated sign-in is off)');
    assert.equal(await instance.services.users.getUser('mallory'), null);
  });

  it("takes the login state only from the __Host- cookie: one planted under another name (as a sibling subdomain can, with a more specific Path) signs nobody in", async () => {
    // The attacker's own sign-in: its state and the IdP's answer for the attacker's account.
    const attackers = await begin();
    const planted = `capsule-saml-state=${attackers.cookie.slice(attackers.cookie.indexOf('=') + 1)}`;
    const refused = await post(await idp.issue({ requestId: attackers.requestId, nameId: 'planted-mallory' }), planted);
    assert.equal(refused.response.status, 401);
    assert.equal(refused.token, null);
    assert.equal(await instance.services.users.getUser('planted-mallory'), null);
  });

  it('says in the log why a response came without its state on a plain-http site that is not loopback', async () => {
    const begun = await begin();
    const xml = await idp.issue({ requestId: begun.requestId, nameId: 'petra' });
    // fetch always sends the URL's own Host; node:http sends the one given, as a reverse proxy would.
    const status = await new Promise<number>((resolve, reject) => {
      const body = new URLSearchParams({ SAMLResponse: base64(xml) }).toString();
      const sent = request(acsUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'www.example.test', 'content-length': Buffer.byteLength(body) } }, (answer) => {
        answer.resume();
        answer.on('end', () => resolve(answer.statusCode ?? 0));
      });
      sent.on('error', reject);
      sent.end(body);
    });
    assert.equal(status, 401);
    assert.ok(lines.some((line) => line.includes('"provider":"corp"') && line.includes('serve it over https')), 'the hint is logged');
    assert.equal(await instance.services.users.getUser('petra'), null);
  });

  it("never takes over a local user: a signed assertion naming 'admin' is refused, and admin is unchanged", async () => {
    const before = await instance.services.users.getUser('admin');
    const begun = await begin();
    const refused = await post(await idp.issue({ requestId: begun.requestId, nameId: 'admin', groups: ['idp-editors'] }), begun.cookie);
    assert.equal(refused.response.status, 401);
    assert.equal(refused.token, null);
    assert.match(refused.body, /This account cannot sign in here with the identity provider/);
    assert.ok(lines.some((line) => line.includes('"reason":"account-elsewhere"')));
    assert.deepEqual(await instance.services.users.getUser('admin'), before);
    const passwordLogin = await fetch(`${instance.url}/j_security_check`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: 'admin', j_password: 'admin-password' }).toString(),
    });
    assert.ok(tokenOf(passwordLogin), 'its password still works');
  });

  it('takes an IdP-initiated response only when allowed, then sends the person to the login page, never to the RelayState', async () => {
    const unsolicited = await post(await idp.issue({ requestId: null, nameId: 'olga' }), null);
    assert.equal(unsolicited.response.status, 401);
    assert.match(unsolicited.body, /accepts only sign-ins started here/);
    assert.equal(await instance.services.users.getUser('olga'), null);

    await instance.services.config.update('capsule.auth.saml~corp', { allowIdpInitiated: true });
    try {
      const xml = await idp.issue({ requestId: null, nameId: 'olga' });
      const accepted = await post(xml, null);
      assert.equal(accepted.response.status, 303);
      assert.equal(accepted.response.headers.get('location'), '/system/sling/login');
      assert.equal((await session(accepted.token!)).userId, 'olga');
      const replay = await post(xml, null);
      assert.equal(replay.response.status, 401, 'an IdP-initiated assertion is usable once');
      assert.equal(replay.token, null);
    } finally {
      await instance.services.config.update('capsule.auth.saml~corp', { allowIdpInitiated: false });
    }
  });

  it('answers 404 for a provider that is not configured, and serves the metadata of one that is', async () => {
    const login = await fetch(`${instance.url}/system/sling/saml/other/login`, { redirect: 'manual' });
    assert.equal(login.status, 404);
    assert.equal(login.headers.get('location'), null);
    const begun = await begin();
    const acs = await post(await idp.issue({ requestId: begun.requestId, nameId: 'nina' }), begun.cookie, `${instance.url}/system/sling/saml/other/acs`);
    assert.equal(acs.response.status, 404);
    assert.equal(acs.token, null);
    assert.equal(await instance.services.users.getUser('nina'), null);
    assert.equal((await fetch(`${instance.url}/system/sling/saml/other/metadata`)).status, 404);

    const metadata = await fetch(`${instance.url}/system/sling/saml/corp/metadata`);
    assert.equal(metadata.status, 200);
    assert.match(metadata.headers.get('content-type') ?? '', /^application\/samlmetadata\+xml/);
    const xml = await metadata.text();
    assert.ok(xml.includes(`entityID="${instance.url}/saml"`));
    assert.ok(xml.includes(`Location="${acsUrl}"`));
  });
});
