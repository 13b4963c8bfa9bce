import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login } from '../helpers/http.js';
import { capturedLogger } from '../helpers/logs.js';
import { SAFARI_ON_IPHONE, startSessionsInstance, type SessionsInstance } from '../helpers/sessions-instance.js';

const USERS = '/system/console/users';

describe("the console's Users page: a user's sessions, each with a Revoke button", () => {
  let farm: SessionsInstance;
  let url: string;
  let admin: string;
  let bob: string;
  const active = (id: string) => farm.sessions.records().find((record) => record.id === id)?.endedAtMs === null;
  const get = (path: string, token: string) => fetch(`${url}${path}`, { redirect: 'manual', headers: { cookie: `login-token=${token}` } });
  const post = (token: string, fields: Record<string, string>) =>
    fetch(`${url}${USERS}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
  async function csrfOf(token: string): Promise<string> {
    const match = /name="csrf" value="([^"]+)"/.exec(await (await get(USERS, token)).text());
    assert.ok(match, 'the page has a CSRF field');
    return match[1]!;
  }

  before(async () => {
    farm = await startSessionsInstance();
    url = farm.instance.url;
    admin = await login(url, 'admin', 'admin-password');
    bob = await login(url, 'bob', 'bob-pw-correct-horse');
  });
  after(() => farm.instance.stop());

  it("links each user's sessions, and lists them with device, address and a Revoke form carrying the CSRF token", async () => {
    const phone = await farm.signedInElsewhere('alice', { userAgent: SAFARI_ON_IPHONE, clientAddress: '198.51.100.40' });
    const list = await (await get(USERS, admin)).text();
    assert.match(list, /href="\/system\/console\/users\?sessions=alice#sessions">Sessions</);
    const response = await get(`${USERS}?sessions=alice`, admin);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /<h2>Sessions of alice<\/h2>/);
    assert.match(text, /<strong>Safari 18<\/strong> on iOS 18/);
    assert.match(text, /198\.51\.100\.40/);
    const form = new RegExp(`<form method="post" action="${USERS}" class="inline"><input type="hidden" name="csrf" value="[A-Za-z0-9_-]{43}"><input type="hidden" name="action" value="revoke-session"><input type="hidden" name="user" value="alice"><input type="hidden" name="session" value="${phone}">`);
    assert.match(text, form);
  });

  it('refuses a user who is not an administrator, and a form without the CSRF token: nothing ended', async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const page = await get(`${USERS}?sessions=alice`, bob);
    assert.equal(page.status, 403);
    assert.doesNotMatch(await page.text(), new RegExp(laptop));
    const asBob = await post(bob, { action: 'revoke-session', user: 'alice', session: laptop, csrf: await csrfOf(admin) });
    assert.equal(asBob.status, 403);
    const noToken = await post(admin, { action: 'revoke-session', user: 'alice', session: laptop });
    assert.equal(noToken.status, 403);
    const allNoToken = await post(admin, { action: 'revoke-sessions', user: 'alice' });
    assert.equal(allNoToken.status, 403);
    assert.equal(active(laptop), true);
  });

  it("an administrator revokes one session (another user's id: refused, nothing ended), then all; each change is audited", async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const phone = await farm.signedInElsewhere('alice', { userAgent: SAFARI_ON_IPHONE });
    const bobs = await farm.signedInElsewhere('bob');
    const csrf = await csrfOf(admin);
    const mismatched = await post(admin, { action: 'revoke-session', user: 'alice', session: bobs, csrf });
    assert.equal(mismatched.status, 400);
    assert.match(await mismatched.text(), /alice has no active session with that id; nothing was changed/);
    assert.equal(active(bobs), true);

    const done = await post(admin, { action: 'revoke-session', user: 'alice', session: laptop, csrf });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), `${USERS}?done=session-revoked&subject=alice&sessions=alice#sessions`);
    assert.equal(active(laptop), false);
    assert.equal(farm.sessions.records().find((record) => record.id === laptop)?.endedBy, 'admin');
    assert.equal(active(phone), true);
    assert.match(await (await get(`${USERS}?done=session-revoked&subject=alice&sessions=alice`, admin)).text(), /Ended a session of alice/);

    const all = await post(admin, { action: 'revoke-sessions', user: 'alice', csrf });
    assert.equal(all.status, 303);
    assert.equal(active(phone), false);
    assert.equal(active(bobs), true);
  });
});

describe("the console's session revocations in the audit trail", () => {
  it('records who revoked which session of whom, from where', async () => {
    const captured = capturedLogger('info');
    const farm = await startSessionsInstance({ logger: captured.logger });
    try {
      const admin = await login(farm.instance.url, 'admin', 'admin-password');
      const laptop = await farm.signedInElsewhere('alice');
      const page = await (await fetch(`${farm.instance.url}${USERS}`, { headers: { cookie: `login-token=${admin}` } })).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
      const response = await fetch(`${farm.instance.url}${USERS}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: `login-token=${admin}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ action: 'revoke-session', user: 'alice', session: laptop, csrf }),
      });
      assert.equal(response.status, 303);
      const line = captured.lines.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.event === 'console-change' && entry.action === 'revoke-session');
      assert.ok(line, 'audited');
      assert.equal(line.by, 'admin');
      assert.equal(line.user, 'alice');
      assert.equal(line.session, laptop);
      assert.equal(line.outcome, 'done');
      assert.equal(line.clientAddress, '127.0.0.1');
    } finally {
      await farm.instance.stop();
    }
  });
});
