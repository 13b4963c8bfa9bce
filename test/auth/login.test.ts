import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { fastHasher } from '../helpers/services.js';
import { login, sessionStatus, tokenOf, withToken } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

function form(fields: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) };
}

function json(fields: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) };
}

describe('login, session and logout', () => {
  let instance: RunningInstance;
  let url: string;
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
    url = instance.url;
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    await instance.services.users.createUser('bob', { password: 'bob-pw-correct-horse' });
  });
  after(() => instance.stop());

  it('sets an HttpOnly, SameSite=Lax cookie on Path=/ lasting the token lifetime', async () => {
    const response = await fetch(`${url}/j_security_check`, form({ j_username: 'alice', j_password: 'alice-pw-correct-horse' }));
    assert.equal(response.status, 200);
    const cookie = response.headers.getSetCookie()[0]!;
    assert.match(cookie, /^login-token=[0-9a-f-]{36}_[A-Za-z0-9_-]{43};/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.match(cookie, /; Path=\//);
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)?.[1]);
    assert.ok(maxAge > 43_190 && maxAge <= 43_200, `Max-Age ${maxAge}`);
    assert.ok(!/; Secure/.test(cookie), 'plain HTTP gets no Secure flag in auto mode');
    const body = (await response.json()) as { userId: string; token: { type: string } };
    assert.equal(body.userId, 'alice');
    assert.equal(body.token.type, 'stateful');
  });

  it('accepts JSON, reads the token from the cookie or the login-token header, and answers /api/session', async () => {
    const response = await fetch(`${url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ j_username: 'alice', j_password: 'alice-pw-correct-horse' }),
    });
    const token = tokenOf(response)!;
    const viaCookie = await fetch(`${url}/api/session`, withToken(token));
    assert.equal(viaCookie.status, 200);
    const session = (await viaCookie.json()) as { userId: string; groups: string[]; token: { type: string; expiresAt: string } };
    assert.deepEqual(session.groups, []);
    assert.equal(session.token.type, 'stateful');
    assert.ok(Date.parse(session.token.expiresAt) > Date.now() + 11 * 3600_000);
    const viaHeader = await fetch(`${url}/api/session`, { headers: { 'login-token': token } });
    assert.equal(viaHeader.status, 200);
    const anonymous = await fetch(`${url}/api/session`);
    assert.equal(anonymous.status, 401);
  });

  it('gives the same 401 body for a wrong password and an unknown user', async () => {
    const wrong = await fetch(`${url}/j_security_check`, form({ j_username: 'bob', j_password: 'nope' }));
    const unknown = await fetch(`${url}/j_security_check`, form({ j_username: 'nobody-here', j_password: 'nope' }));
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(await wrong.json(), await unknown.json());
    assert.equal(wrong.headers.getSetCookie().length, 0);
    const missing = await fetch(`${url}/j_security_check`, form({ j_username: 'bob' }));
    assert.equal(missing.status, 400);
  });

  it('redirects to a same-site resource only', async () => {
    const ok = await fetch(`${url}/j_security_check`, { ...form({ j_username: 'alice', j_password: 'alice-pw-correct-horse', resource: '/content/site.json' }), redirect: 'manual' });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/content/site.json');
    for (const resource of ['//evil.example/', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const response = await fetch(`${url}/j_security_check`, { ...form({ j_username: 'alice', j_password: 'alice-pw-correct-horse', resource }), redirect: 'manual' });
      assert.equal(response.status, 200, resource);
    }
  });

  // A Location header cannot carry DEL or a character above U+00FF: such a resource once got a
  // 500 after the login (or logout) had already happened.
  const unsendable = ['/content/a\x7fb', '/content/caf\u0100', '/content/\u{1f600}'];

  it('logs in and answers with the session when the resource cannot be a Location', async () => {
    for (const resource of unsendable) {
      for (const init of [form({ j_username: 'alice', j_password: 'alice-pw-correct-horse', resource }), json({ j_username: 'alice', j_password: 'alice-pw-correct-horse', resource })]) {
        const response = await fetch(`${url}/j_security_check`, { ...init, redirect: 'manual' });
        assert.equal(response.status, 200, JSON.stringify(resource));
        assert.equal(((await response.json()) as { userId: string }).userId, 'alice');
        assert.equal(await sessionStatus(url, tokenOf(response)!), 200);
      }
      const wrong = await fetch(`${url}/j_security_check`, { ...form({ j_username: 'bob', j_password: 'nope', resource }), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, redirect: 'manual' });
      assert.equal(wrong.status, 401, 'a failed login from a form does not go back to it either');
    }
  });

  it('logs out and answers plainly when the resource cannot be a Location', async () => {
    for (const resource of unsendable) {
      const token = await login(url, 'alice', 'alice-pw-correct-horse');
      const response = await fetch(`${url}/system/sling/logout?resource=${encodeURIComponent(resource)}`, { method: 'POST', headers: { 'login-token': token }, redirect: 'manual' });
      assert.equal(response.status, 200, JSON.stringify(resource));
      assert.deepEqual(await response.json(), { loggedOut: true });
      assert.equal(await sessionStatus(url, token), 401);
    }
  });

  it('logout deletes the stateful token and clears the cookie', async () => {
    const token = await login(url, 'alice', 'alice-pw-correct-horse');
    assert.equal(await sessionStatus(url, token), 200);
    // A browser says where the form came from; see test/http/cross-origin.test.ts for the refusals.
    const response = await fetch(`${url}/system/sling/logout`, { method: 'POST', headers: { cookie: `login-token=${token}`, origin: url } });
    assert.equal(response.status, 200);
    assert.match(response.headers.getSetCookie()[0]!, /^login-token=; Max-Age=0/);
    assert.equal(await sessionStatus(url, token), 401, 'the token is gone, not just the cookie');
  });

  it('locks an account after failed logins, answering its right password as a wrong one; other users are not affected', async () => {
    await instance.services.users.createUser('carol', { password: 'carol-pw-correct-horse' });
    for (let i = 0; i < 10; i++) {
      assert.equal((await fetch(`${url}/j_security_check`, form({ j_username: 'carol', j_password: `guess-${i}` }))).status, 401);
    }
    const locked = await fetch(`${url}/j_security_check`, form({ j_username: 'carol', j_password: 'carol-pw-correct-horse' }));
    assert.equal(locked.status, 401);
    assert.equal(locked.headers.get('retry-after'), null, 'nothing says the account is locked');
    assert.equal(((await locked.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    assert.equal((await fetch(`${url}/j_security_check`, form({ j_username: 'alice', j_password: 'alice-pw-correct-horse' }))).status, 200, 'other users are not affected');
  });
});

describe('cookie settings from configuration', () => {
  it('uses the configured name, SameSite and Secure flag', async () => {
    const instance = await startTestInstance(join(tempDir(), 'home'));
    try {
      await instance.services.config.update('capsule.auth.token', { 'token.cookie.name': 'capsule-login', 'token.cookie.samesite': 'Strict', 'token.cookie.secure': 'always' });
      const response = await fetch(`${instance.url}/j_security_check`, form({ j_username: 'admin', j_password: 'admin-password' }));
      const cookie = response.headers.getSetCookie()[0]!;
      assert.match(cookie, /^capsule-login=/);
      assert.match(cookie, /; SameSite=Strict/);
      assert.match(cookie, /; Secure/);
      assert.equal((await fetch(`${instance.url}/api/session`, withToken(tokenOf(response, 'capsule-login')!, 'capsule-login'))).status, 200);
    } finally {
      await instance.stop();
    }
  });
});

describe('the login cookie by the instance clock', () => {
  const HOUR = 3_600_000;
  // A day ahead of the system clock, and moved on by the tests.
  let offset = 24 * HOUR;
  let instance: RunningInstance;
  before(async () => {
    instance = await startInstance({
      home: join(tempDir(), 'home'),
      port: 0,
      hasher: fastHasher,
      env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
      clock: { now: () => Date.now() + offset },
    });
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
  });
  after(() => instance.stop());
  const maxAgeOf = (response: Response) => Number(/Max-Age=(\d+)/.exec(response.headers.getSetCookie()[0] ?? '')?.[1]);

  it('lasts the token lifetime when the instance clock is not the system clock', async () => {
    // A cookie lifetime taken from Date.now() would be 36 h instead of 12 h.
    const response = await fetch(`${instance.url}/j_security_check`, form({ j_username: 'alice', j_password: 'alice-pw-correct-horse' }));
    assert.equal(response.status, 200);
    const maxAge = maxAgeOf(response);
    assert.ok(maxAge > 43_190 && maxAge <= 43_200, `Max-Age ${maxAge}`);
  });

  it('is sent again, lasting the new expiry, when a stateful token is refreshed past half-life', async () => {
    const token = tokenOf(await fetch(`${instance.url}/j_security_check`, form({ j_username: 'alice', j_password: 'alice-pw-correct-horse' })));
    const session = () => fetch(`${instance.url}/api/session`, { headers: { cookie: `login-token=${token}` } });
    offset += 5 * HOUR;
    const early = await session();
    assert.equal(early.status, 200);
    assert.deepEqual(early.headers.getSetCookie(), [], 'before half-life: no cookie');
    offset += 2 * HOUR; // 7 h after the login: the token is extended to 12 h from now
    const refreshed = await session();
    assert.equal(refreshed.status, 200);
    const cookie = refreshed.headers.getSetCookie()[0] ?? '';
    assert.ok(cookie.startsWith(`login-token=${token};`), `the same token again: ${cookie.slice(0, 60)}`);
    const maxAge = maxAgeOf(refreshed);
    assert.ok(maxAge > 43_190 && maxAge <= 43_200, `Max-Age ${maxAge}`);
    assert.deepEqual((await session()).headers.getSetCookie(), [], 'the next request sends none');
  });
});
