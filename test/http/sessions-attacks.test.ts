import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { SESSIONS_PID } from '../../src/sessions/index.js';
import { tokenOf } from '../helpers/http.js';
import { capturedLogger } from '../helpers/logs.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Attacks over real HTTP on a real instance (its own session registry on the SQLite repository):
 * another user's sessions, CSRF, injection through the User-Agent, revocation on the kept path
 * and across a restart, logout, the per-user limit under parallel sign-ins.
 */
const XSS_AGENT = 'Mozilla/5.0 "><script>alert(1)</script><img src=x onerror=alert(2)> Evil/1.0 (X11; <b>bold</b>)';

describe('sessions over HTTP, attacked', () => {
  let instance: RunningInstance;
  let url: string;
  const home = join(tempDir(), 'home');
  const logs = capturedLogger('debug');
  const start = async () => {
    instance = await startInstance({ home, port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' }, logger: logs.logger });
    url = instance.url;
  };

  async function signIn(user: string, userAgent = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'): Promise<string> {
    const response = await fetch(`${url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgent },
      body: new URLSearchParams({ j_username: user, j_password: user === 'admin' ? 'admin-password' : `${user}-pw-correct-horse` }),
    });
    assert.equal(response.status, 200, `sign-in of ${user}`);
    return tokenOf(response)!;
  }
  const as = (token: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { cookie: `login-token=${token}`, ...(init.headers as Record<string, string>) } });
  const status = async (token: string) => (await fetch(`${url}/api/session`, as(token))).status;
  async function listOf(token: string): Promise<{ id: string; current: boolean; state: string; userAgent?: string; endReason?: string | null }[]> {
    const response = await fetch(`${url}/api/sessions`, as(token));
    assert.equal(response.status, 200);
    return ((await response.json()) as { sessions: { id: string; current: boolean; state: string }[] }).sessions;
  }
  const currentOf = async (token: string) => (await listOf(token)).find((session) => session.current)!.id;
  async function csrfOf(token: string): Promise<string> {
    const match = /name="csrf" value="([^"]+)"/.exec(await (await fetch(`${url}/system/sessions`, as(token))).text());
    assert.ok(match, 'the page has a CSRF field');
    return match[1]!;
  }
  const postPage = (token: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${url}/system/sessions`, { method: 'POST', redirect: 'manual', headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });

  before(async () => {
    await start();
    for (const user of ['alice', 'bob', 'carol', 'dave']) await instance.services.users.createUser(user, { password: `${user}-pw-correct-horse` });
  });
  after(() => instance.stop());

  it("another user's session and an unknown one get the very same answer, and nothing is ended", async () => {
    const alice = await signIn('alice');
    await signIn('alice'); // another device of alice: the page then has a form (and its CSRF field)
    const bob = await signIn('bob');
    const bobs = await currentOf(bob);
    const answer = async (id: string) => {
      const response = await fetch(`${url}/api/sessions/${id}`, as(alice, { method: 'DELETE' }));
      return `${response.status} ${await response.text()}`;
    };
    const foreign = await answer(bobs);
    const unknown = await answer('AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(foreign, unknown);
    for (const trick of ['..%2F..%2Fapi%2Fusers', `${bobs}%2F..`, encodeURIComponent(`${bobs}/../${bobs}`), 'x'.repeat(5000), encodeURIComponent('ÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅ'), `${bobs}%00`, ` ${bobs}`]) {
      const response = await fetch(`${url}/api/sessions/${trick}`, as(alice, { method: 'DELETE' }));
      assert.ok([404, 400].includes(response.status), `${trick.slice(0, 40)}: ${response.status}`);
    }
    // the page form and the console as a non-admin
    const csrf = await csrfOf(alice);
    const viaPage = await postPage(alice, { csrf, action: 'revoke', session: bobs });
    assert.equal(viaPage.status, 404);
    const viaConsole = await fetch(`${url}/system/console/users`, { method: 'POST', redirect: 'manual', headers: { cookie: `login-token=${alice}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf, action: 'revoke-session', user: 'bob', session: bobs }) });
    assert.equal(viaConsole.status, 403, `the console as a non-administrator: ${viaConsole.status}`);
    for (const [method, path, body] of [
      ['GET', '/api/users/bob/sessions', undefined],
      ['DELETE', `/api/users/bob/sessions/${bobs}`, undefined],
      ['DELETE', '/api/users/bob/sessions', undefined],
      ['POST', '/system/farm/sessions/revoke', JSON.stringify({ user: 'bob', session: bobs })],
      ['POST', '/system/farm/sessions/revoke-all', JSON.stringify({ user: 'bob' })],
      ['POST', '/system/farm/sessions/list', JSON.stringify({ user: 'bob' })],
    ] as const) {
      const response = await fetch(`${url}${path}`, as(alice, { method, headers: { origin: url, ...(body ? { 'content-type': 'application/json' } : {}) }, body }));
      assert.ok([401, 403, 404].includes(response.status), `${method} ${path} as alice: ${response.status}`);
      assert.doesNotMatch(await response.text(), new RegExp(bobs), `${method} ${path} shows bob's session`);
    }
    assert.equal(await status(bob), 200, "bob's session still works");
    assert.equal((await listOf(bob)).find((session) => session.id === bobs)!.state, 'active');
  });

  it("the page's forms refuse no CSRF token, another user's CSRF token, a cross-site Origin, and a GET changes nothing", async () => {
    const alice1 = await signIn('alice');
    const alice2 = await signIn('alice');
    const target = await currentOf(alice2);
    const bob = await signIn('bob');
    const bobsCsrf = await csrfOf(bob);
    assert.equal((await postPage(alice1, { action: 'revoke', session: target })).status, 403);
    assert.equal((await postPage(alice1, { csrf: bobsCsrf, action: 'revoke', session: target })).status, 403);
    assert.equal((await postPage(alice1, { csrf: await csrfOf(alice1), action: 'revoke', session: target }, { origin: 'https://evil.example' })).status, 403);
    assert.equal((await postPage(alice1, { csrf: await csrfOf(alice1), action: 'revoke-others' }, { 'sec-fetch-site': 'cross-site' })).status, 403);
    await fetch(`${url}/system/sessions?action=revoke&session=${target}&csrf=${await csrfOf(alice1)}`, as(alice1));
    await fetch(`${url}/system/sessions?action=revoke-others`, as(alice1));
    assert.equal(await status(alice2), 200, 'nothing was ended');
  });

  it("the console's revoke refuses no CSRF token, another user's CSRF token and a cross-site Origin: nothing ended", async () => {
    const admin = await signIn('admin');
    const victim = await signIn('bob');
    const sid = await currentOf(victim);
    const alice = await signIn('alice');
    await signIn('alice');
    const alicesCsrf = await csrfOf(alice);
    const consolePost = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${url}/system/console/users`, { method: 'POST', redirect: 'manual', headers: { cookie: `login-token=${admin}`, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });
    for (const [fields, headers] of [
      [{ action: 'revoke-session', user: 'bob', session: sid }, {}],
      [{ csrf: alicesCsrf, action: 'revoke-session', user: 'bob', session: sid }, {}],
      [{ action: 'revoke-sessions', user: 'bob' }, { origin: 'https://evil.example' }],
    ] as const) {
      const response = await consolePost(fields, headers);
      assert.ok(response.status === 403 || response.status === 400, `console ${JSON.stringify(fields)}: ${response.status}`);
    }
    assert.equal(await status(victim), 200, 'nothing was ended');
  });

  it('a User-Agent with markup is escaped on the page, in the console and the JSON; no token in any answer', async () => {
    const victim = await signIn('carol', XSS_AGENT);
    const admin = await signIn('admin');
    const page = await (await fetch(`${url}/system/sessions`, as(victim))).text();
    assert.doesNotMatch(page, /<script>alert|<img src=x|<b>bold/);
    const console = await (await fetch(`${url}/system/console/users?sessions=carol`, as(admin))).text();
    assert.match(console, /Sessions of carol/);
    assert.doesNotMatch(console, /<script>alert|<img src=x|<b>bold/);
    const json = await (await fetch(`${url}/api/users/carol/sessions`, as(admin))).text();
    assert.ok(!json.includes(victim) && !page.includes(victim) && !console.includes(victim), 'no token in an answer');
  });

  it('a huge User-Agent is bounded in the store', async () => {
    const token = await signIn('dave', `Mozilla/5.0 ${'A'.repeat(12_000)}`);
    const listed = (await (await fetch(`${url}/api/sessions`, as(token))).json()) as { sessions: { userAgent: string }[] };
    assert.ok(listed.sessions.every((session) => session.userAgent.length <= 512));
  });

  it('a revoked session is refused on the very next request, also on the kept path (after kept answers)', async () => {
    const device1 = await signIn('alice');
    const device2 = await signIn('alice');
    const sid1 = await currentOf(device1);
    for (let i = 0; i < 5; i++) assert.equal(await status(device1), 200); // kept answers now
    const response = await fetch(`${url}/api/sessions/${sid1}`, as(device2, { method: 'DELETE', headers: { origin: url } }));
    assert.equal(response.status, 200);
    assert.equal(await status(device1), 401);
    assert.equal(await status(device2), 200);
  });

  it('logout ends the session (listed ended, token refused); logout-everywhere lists all ended; a new sign-in works', async () => {
    const a = await signIn('bob');
    const b = await signIn('bob');
    const sidA = await currentOf(a);
    const out = await fetch(`${url}/system/sling/logout`, as(a, { method: 'POST', headers: { origin: url } }));
    assert.equal(out.status, 200);
    assert.equal(await status(a), 401);
    assert.equal((await listOf(b)).find((session) => session.id === sidA)?.state, 'ended');
    const admin = await signIn('admin');
    const everywhere = await fetch(`${url}/api/users/bob/logout-everywhere`, as(admin, { method: 'POST', headers: { origin: url } }));
    assert.equal(everywhere.status, 200);
    assert.equal(await status(b), 401);
    const c = await signIn('bob');
    assert.equal(await status(c), 200);
    const listed = await listOf(c);
    assert.ok(listed.filter((session) => !session.current).every((session) => session.state === 'ended'), JSON.stringify(listed.map((s) => s.state)));
  });

  it('the per-user limit under parallel sign-ins: at most the limit are active, and the newest works', async () => {
    await instance.services.config.update(SESSIONS_PID, { 'session.max.per.user': 2 });
    try {
      const tokens = await Promise.all(Array.from({ length: 12 }, () => signIn('dave')));
      const admin = await signIn('admin');
      const listed = ((await (await fetch(`${url}/api/users/dave/sessions`, as(admin))).json()) as { sessions: { state: string }[] }).sessions;
      assert.equal(listed.filter((session) => session.state === 'active').length, 2);
      const working = (await Promise.all(tokens.map(status))).filter((code) => code === 200).length;
      assert.equal(working, 2, 'exactly the active sessions have working tokens');
    } finally {
      await instance.services.config.update(SESSIONS_PID, { 'session.max.per.user': 0 });
    }
  });

  it('a revoked session stays refused after the instance restarts (the set read back from the store)', async () => {
    const device1 = await signIn('carol');
    const device2 = await signIn('carol');
    const sid1 = await currentOf(device1);
    assert.equal((await fetch(`${url}/api/sessions/${sid1}`, as(device2, { method: 'DELETE', headers: { origin: url } }))).status, 200);
    await instance.stop();
    await start();
    assert.equal(await status(device1), 401);
    assert.equal(await status(device2), 200);
  });

  it('no log or audit line holds a token or a password; the audit has session-created and session-ended', async () => {
    const token = await signIn('alice', XSS_AGENT);
    await fetch(`${url}/api/sessions`, as(token));
    await fetch(`${url}/system/sling/logout`, as(token, { method: 'POST', headers: { origin: url } }));
    const text = logs.lines.join('\n');
    assert.match(text, /"event":"session-created"/);
    assert.match(text, /"event":"session-ended"/);
    assert.ok(!text.includes(token), 'a log line holds a token');
    assert.ok(!/pw-correct-horse|admin-password/.test(text), 'a log line holds a password');
  });
});
