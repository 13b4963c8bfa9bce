import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../../src/instance/index.js';
import { tokenOf, withToken } from '../../helpers/http.js';
import { memorySessionRegistry, type MemorySessionRegistry } from '../../helpers/memory-session-registry.js';
import { callbackOf, configureProvider, startLoggedInstance } from '../../helpers/oidc-instances.js';
import { CookieJar, signInAtProvider, startLoginProvider, type IdTokenTamper, type LoginProvider } from '../../helpers/oidc-login-provider.js';
import { tempDir } from '../../helpers/temp.js';

interface SessionJson {
  userId: string;
  groups: string[];
}

describe('single sign-on with OpenID Connect, over HTTP against a real provider', () => {
  let instance: RunningInstance;
  let lines: string[];
  let provider: LoginProvider;
  let sessions: MemorySessionRegistry;
  before(async () => {
    sessions = memorySessionRegistry();
    ({ instance, lines } = await startLoggedInstance(join(tempDir(), 'home'), 'a', { sessions }));
    provider = await startLoginProvider({ redirectUris: [callbackOf(instance.url)] });
    await configureProvider(instance, provider);
  });
  after(async () => {
    await instance.stop();
    await provider.close();
  });

  async function session(token: string): Promise<SessionJson> {
    const response = await fetch(`${instance.url}/api/session`, withToken(token));
    assert.equal(response.status, 200);
    return (await response.json()) as SessionJson;
  }

  /** Sends the callback as the browser would; returns the response and the login token it set, if any. */
  async function callback(jar: CookieJar, url: string): Promise<{ response: Response; token: string | null; body: string }> {
    const response = await jar.fetch(url);
    return { response, token: tokenOf(response), body: await response.text() };
  }

  it('signs a person in with the code flow and PKCE, creates the user without a password, maps and re-syncs groups', async () => {
    provider.groups.set('alice', ['idp-editors', 'idp-unmapped']);
    const jar = new CookieJar();
    const callbackUrl = await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'alice', resource: '/api/session' });
    const asked = provider.authorizationRequests.at(-1)!;
    assert.equal(asked.get('code_challenge_method'), 'S256');
    assert.ok(asked.get('code_challenge') && asked.get('state') && asked.get('nonce'));
    assert.equal(asked.get('redirect_uri'), callbackOf(instance.url));

    const { response, token } = await callback(jar, callbackUrl);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/api/session');
    assert.ok(token, 'the login cookie is set');
    const stateCleared = response.headers.getSetCookie().find((cookie) => cookie.startsWith('capsule-oidc-state='));
    assert.match(stateCleared ?? '', /Max-Age=0/);
    assert.deepEqual(await session(token), { ...(await session(token)), userId: 'alice', groups: ['editors', 'staff'] });
    const [started, ...more] = await sessions.list('alice');
    assert.deepEqual([started?.method, started?.provider, started?.clientAddress, more.length], ['oidc', 'corp', '127.0.0.1', 0], 'the sign-in started a session');
    assert.equal((await instance.tokens.authenticateToken(token))?.session.sessionId, started?.id, 'which the token carries');

    // No password: a password login for alice is refused, whatever is typed.
    const passwordLogin = await fetch(`${instance.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: 'alice', j_password: '' + 'anything' }),
    });
    assert.equal(passwordLogin.status, 401);

    // The next sign-in re-syncs: editors is no longer granted at the provider.
    provider.groups.set('alice', ['idp-unmapped']);
    const again = await callback(jar, await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'alice' }));
    assert.equal(again.response.status, 303);
    assert.equal(again.response.headers.get('location'), '/system/sling/login');
    assert.deepEqual((await session(again.token!)).groups, ['staff']);
    assert.ok((await instance.services.users.getGroup('editors'))?.members.length === 0, 'removed from the group it no longer has');
  });

  it('refuses a forged state, a forged or missing state cookie, and sets no login cookie', async () => {
    const jar = new CookieJar();
    const callbackUrl = new URL(await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'bob' }));
    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', 'forged-state-value');
    const withForgedState = await callback(jar, forged.href);
    assert.equal(withForgedState.response.status, 401);
    assert.equal(withForgedState.token, null);
    assert.match(withForgedState.body, /could not be completed|could not be verified/);

    const cookie = jar.get(instance.url, 'capsule-oidc-state');
    assert.equal(cookie, undefined, 'the state cookie is single-use');
    const jar2 = new CookieJar();
    const second = await signInAtProvider(jar2, instance.url, { provider: 'corp', login: 'bob' });
    const stateCookie = jar2.get(instance.url, 'capsule-oidc-state')!;
    const [kid, payload] = stateCookie.split('.');
    const tampered = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    jar2.set(instance.url, 'capsule-oidc-state', `${kid}.${Buffer.from(JSON.stringify({ ...tampered, r: '/elsewhere' })).toString('base64url')}.${stateCookie.split('.')[2]}`);
    const withForgedCookie = await callback(jar2, second);
    assert.equal(withForgedCookie.response.status, 401);
    assert.equal(withForgedCookie.token, null);
    assert.match(withForgedCookie.body, /took too long or was started in another browser/);

    const withoutCookie = await fetch(second, { redirect: 'manual' });
    assert.equal(withoutCookie.status, 401);
    assert.equal(tokenOf(withoutCookie), null);
    assert.equal(await instance.services.users.getUser('bob'), null, 'no user was created');
  });

  it('refuses a replayed authorization code', async () => {
    const jar = new CookieJar();
    const callbackUrl = await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'carol' });
    const stateCookie = jar.get(instance.url, 'capsule-oidc-state')!;
    const first = await callback(jar, callbackUrl);
    assert.equal(first.response.status, 303);
    assert.ok(first.token);
    // The attacker has the whole request: URL and the state cookie.
    jar.set(instance.url, 'capsule-oidc-state', stateCookie);
    const replay = await callback(jar, callbackUrl);
    assert.equal(replay.response.status, 401);
    assert.equal(replay.token, null);
    assert.match(replay.body, /already used or has expired/);
    assert.ok(lines.some((line) => line.includes('invalid_grant')), 'the provider error is logged verbatim');
  });

  const tampers: Array<[IdTokenTamper, string, string]> = [
    ['other-key', 'an ID token signed by another key', 'JWT signature verification failed'],
    ['alg-none', 'an unsigned ID token (alg: none)', 'unexpected JWT \\"alg\\" header parameter'],
    ['expired', 'an expired ID token', 'unexpected JWT \\"exp\\" (expiration time) claim value'],
    ['wrong-nonce', 'an ID token with another nonce', 'unexpected ID Token \\"nonce\\" claim value'],
    ['wrong-audience', 'an ID token for another client', 'unexpected JWT \\"aud\\" (audience) claim value'],
  ];
  for (const [tamper, what, reason] of tampers) {
    it(`refuses ${what}`, async () => {
      const login = `mallory-${tamper}`;
      const jar = new CookieJar();
      const callbackUrl = await signInAtProvider(jar, instance.url, { provider: 'corp', login });
      provider.tamper = tamper;
      try {
        const result = await callback(jar, callbackUrl);
        assert.equal(result.response.status, 401);
        assert.equal(result.token, null);
        assert.match(result.body, /could not be verified, so you were not signed in/);
      } finally {
        provider.tamper = null;
      }
      assert.equal(await instance.services.users.getUser(login), null, 'no user was created');
      assert.ok(lines.some((line) => line.includes('OpenID sign-in refused') && line.includes(reason)), `the log says why: ${reason}`);
    });
  }

  it('goes back only to a path on this site: no open redirect', async () => {
    for (const resource of ['https://evil.example/', '//evil.example/', '/\\evil.example/', 'javascript:alert(1)']) {
      const jar = new CookieJar();
      const result = await callback(jar, await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'dave', resource }));
      assert.equal(result.response.status, 303);
      assert.equal(result.response.headers.get('location'), '/system/sling/login', `resource ${resource}`);
      const page = await fetch(`${instance.url}/system/sling/login?resource=${encodeURIComponent(resource)}`, { ...withToken(result.token!), redirect: 'manual' });
      assert.equal(page.status, 200, 'signed in, and no redirect elsewhere');
      assert.ok(!(await page.text()).includes('evil.example'));
    }
    // A Location header cannot carry these: they once got a 500 after the code was spent and the user provisioned.
    for (const resource of ['/content/a\x7fb', '/content/caf\u0100']) {
      const jar = new CookieJar();
      const result = await callback(jar, await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'dave', resource }));
      assert.equal(result.response.status, 303, JSON.stringify(resource));
      assert.equal(result.response.headers.get('location'), '/system/sling/login');
      assert.equal((await fetch(`${instance.url}/api/session`, withToken(result.token!))).status, 200);
    }
    const jar = new CookieJar();
    const local = await callback(jar, await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'dave', resource: '/content/a.json?x=1' }));
    assert.equal(local.response.headers.get('location'), '/content/a.json?x=1');
  });

  it('makes one user when two first sign-ins arrive at the same moment', async () => {
    provider.groups.set('erin', ['idp-editors']);
    const jars = Array.from({ length: 4 }, () => new CookieJar());
    const urls = await Promise.all(jars.map((jar) => signInAtProvider(jar, instance.url, { provider: 'corp', login: 'erin' })));
    const results = await Promise.all(jars.map((jar, index) => callback(jar, urls[index]!)));
    for (const result of results) {
      assert.equal(result.response.status, 303, result.body);
      assert.equal((await session(result.token!)).userId, 'erin');
    }
    const erins = (await instance.services.users.listUsers()).filter((user) => user.id === 'erin');
    assert.equal(erins.length, 1);
    assert.deepEqual((await instance.services.users.getGroup('editors'))?.members.filter((member) => member === 'erin'), ['erin']);
  });

  it('takes only mapped provider groups: an unmapped "administrators" grants nothing', async () => {
    provider.groups.set('lena', ['administrators', 'idp-editors']);
    const jar = new CookieJar();
    const { token } = await callback(jar, await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'lena' }));
    assert.deepEqual((await session(token!)).groups, ['editors', 'staff']);
  });

  it("never takes over a local user's account", async () => {
    const jar = new CookieJar();
    const result = await callback(jar, await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'admin' }));
    assert.equal(result.response.status, 401);
    assert.equal(result.token, null);
    assert.match(result.body, /cannot sign in here with the identity provider/);
    assert.deepEqual((await instance.services.users.getUser('admin'))?.groups, ['administrators']);
  });

  it('shows a provider error in plain words and logs it verbatim', async () => {
    const jar = new CookieJar();
    const start = await jar.fetch(`${instance.url}/system/sling/oidc/login/corp`);
    const authorization = new URL(start.headers.get('location')!);
    const interaction = new URL((await jar.fetch(authorization.href)).headers.get('location')!, authorization);
    // The person cancels at the provider: oidc-provider's development abort.
    let url = new URL((await jar.fetch(`${interaction.href}/abort`)).headers.get('location')!, interaction).href;
    while (!url.startsWith(instance.url)) url = new URL((await jar.fetch(url)).headers.get('location')!, url).href;
    assert.match(url, /error=access_denied/);
    const result = await callback(jar, url);
    assert.equal(result.response.status, 401);
    assert.match(result.body, /The sign-in was cancelled or refused at the identity provider\./);
    assert.ok(!result.body.includes('End-User aborted interaction'), "the provider's own text is not shown");
    assert.ok(lines.some((line) => line.includes('"error":"access_denied"') && line.includes('End-User aborted interaction')), 'logged verbatim');
  });

  it('serves a public login page with the password form and a link per provider', async () => {
    const page = await fetch(`${instance.url}/system/sling/login?resource=/content/a.json&j_reason=invalid_login`);
    assert.equal(page.status, 401);
    const body = await page.text();
    assert.match(body, /<a class="sso" href="\/system\/sling\/oidc\/login\/corp\?resource=%2Fcontent%2Fa\.json">Sign in with Corporate login<\/a>/);
    assert.match(body, /<form method="post" action="\/j_security_check">/);
    assert.match(body, /User name or password is not right\./);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal((await fetch(`${instance.url}/system/sling/oidc/login/nosuch`, { redirect: 'manual' })).status, 404);
  });

  it('builds the redirect URI from the configured external URL, behind a proxy', async () => {
    await instance.services.config.update('capsule.auth.oidc~corp', { 'external.url': 'https://www.example.test/' });
    try {
      const response = await fetch(`${instance.url}/system/sling/oidc/login/corp`, { redirect: 'manual' });
      assert.equal(response.status, 302);
      const authorization = new URL(response.headers.get('location')!);
      assert.equal(authorization.origin, provider.issuer);
      assert.equal(authorization.searchParams.get('redirect_uri'), 'https://www.example.test/system/sling/oidc/callback');
      const cookie = response.headers.getSetCookie().find((line) => line.startsWith('capsule-oidc-state='));
      assert.match(cookie ?? '', /HttpOnly/i);
      assert.match(cookie ?? '', /SameSite=Lax/i);
      assert.match(cookie ?? '', /Path=\/system\/sling\/oidc/);
    } finally {
      await instance.services.config.update('capsule.auth.oidc~corp', { 'external.url': null });
    }
  });

  it('says the provider is unavailable when its discovery document cannot be fetched', async () => {
    await instance.services.config.update('capsule.auth.oidc~gone', { issuer: 'http://127.0.0.1:9', 'client.id': 'x', 'client.secret': 'y', title: 'Gone' });
    try {
      const response = await fetch(`${instance.url}/system/sling/oidc/login/gone`, { redirect: 'manual' });
      assert.equal(response.status, 502);
      assert.match(await response.text(), /The identity provider is not available right now/);
      assert.ok(lines.some((line) => line.includes('OpenID sign-in could not start') && line.includes('discovery at http://127.0.0.1:9')));
      const check = await instance.health.run('capsule.auth.oidc~gone');
      assert.match(JSON.stringify(check), /"status":"critical"/);
    } finally {
      await instance.services.config.delete('capsule.auth.oidc~gone');
    }
  });

  it('never logs the client secret, a code or a token', async () => {
    const jar = new CookieJar();
    const callbackUrl = await signInAtProvider(jar, instance.url, { provider: 'corp', login: 'ken' });
    const { token } = await callback(jar, callbackUrl);
    const code = new URL(callbackUrl).searchParams.get('code')!;
    const all = lines.join('');
    assert.ok(all.length > 0);
    for (const secret of [provider.clientSecret, code, token!]) assert.ok(!all.includes(secret));
  });

  it('reports the provider in the health checks', async () => {
    const result = await instance.health.run('capsule.auth.oidc~corp');
    assert.equal(JSON.stringify(result).includes('"status":"ok"'), true, JSON.stringify(result));
  });
});
