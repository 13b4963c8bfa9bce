import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login } from '../helpers/http.js';
import { SAFARI_ON_IPHONE, startSessionsInstance, type SessionsInstance } from '../helpers/sessions-instance.js';

const PAGE = '/system/sessions';

describe('"Your sessions" at /system/sessions', () => {
  let farm: SessionsInstance;
  let url: string;
  let alice: string;
  const active = (id: string) => farm.sessions.records().find((record) => record.id === id)?.endedAtMs === null;
  const page = (token: string | null) => fetch(`${url}${PAGE}`, { redirect: 'manual', headers: token ? { cookie: `login-token=${token}` } : {} });
  const post = (token: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${url}${PAGE}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields),
    });
  async function csrfOf(token: string): Promise<string> {
    const match = /name="csrf" value="([^"]+)"/.exec(await (await page(token)).text());
    assert.ok(match, 'the page has a CSRF field');
    return match[1]!;
  }

  before(async () => {
    farm = await startSessionsInstance();
    url = farm.instance.url;
    alice = await login(url, 'alice', 'alice-pw-correct-horse');
  });
  after(() => farm.instance.stop());

  it('sends an anonymous visitor to the login page, which comes back here', async () => {
    const response = await page(null);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), `/system/sling/login?resource=${encodeURIComponent(PAGE)}`);
  });

  it('lists each device (browser, OS), address, times and method, with a Revoke button per session and "Sign out other sessions"', async () => {
    const phone = await farm.signedInElsewhere('alice', { userAgent: SAFARI_ON_IPHONE, clientAddress: '198.51.100.23', method: 'saml', provider: 'corp-idp' });
    await farm.signedInElsewhere('bob', { clientAddress: '203.0.113.99' });
    const response = await page(alice);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const text = await response.text();
    assert.match(text, /<h1>Your sessions<\/h1>/);
    assert.match(text, /<strong>Safari 18<\/strong> on iOS 18/);
    assert.match(text, /198\.51\.100\.23/);
    assert.match(text, /SAML <span class="pid">\(corp-idp\)<\/span>/);
    assert.match(text, new RegExp(`name="session" value="${phone}"><button type="submit" class="secondary">Revoke</button>`));
    assert.match(text, /Sign out other sessions/);
    assert.doesNotMatch(text, /203\.0\.113\.99/, "bob's session is not shown");
  });

  it('refuses a form without the CSRF token, or posted from another site: nothing is ended', async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const noToken = await post(alice, { action: 'revoke', session: laptop });
    assert.equal(noToken.status, 403);
    assert.match(await noToken.text(), /nothing was changed/);
    const crossSite = await post(alice, { action: 'revoke', session: laptop, csrf: await csrfOf(alice) }, { origin: 'https://evil.example' });
    assert.equal(crossSite.status, 403);
    const othersWithoutToken = await post(alice, { action: 'revoke-others' });
    assert.equal(othersWithoutToken.status, 403);
    assert.equal(active(laptop), true);
  });

  it("ends one session with the page's form, says so after the redirect; another user's session is 404 and stays", async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const bobs = await farm.signedInElsewhere('bob');
    const csrf = await csrfOf(alice);
    const foreign = await post(alice, { action: 'revoke', session: bobs, csrf });
    assert.equal(foreign.status, 404);
    assert.equal(active(bobs), true);
    const done = await post(alice, { action: 'revoke', session: laptop, csrf });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), `${PAGE}?done=revoked`);
    assert.equal(active(laptop), false);
    assert.match(await (await fetch(`${url}${PAGE}?done=revoked`, { headers: { cookie: `login-token=${alice}` } })).text(), /The session is ended/);
  });

  it('answers bad forms with 4xx, never 500, and ends nothing: an unknown action, a malformed or missing session id', async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const csrf = await csrfOf(alice);
    const bad: Record<string, string>[] = [
      { action: 'delete-everything', session: laptop, csrf },
      { action: 'revoke', session: '../../etc/passwd', csrf },
      { action: 'revoke', session: 'x'.repeat(5000), csrf },
      { action: 'revoke', csrf },
      { csrf },
    ];
    for (const fields of bad) {
      const answer = await post(alice, fields);
      assert.ok(answer.status >= 400 && answer.status < 500, `${JSON.stringify(fields).slice(0, 80)}: ${answer.status}`);
    }
    assert.equal(active(laptop), true);
  });

  it('"Sign out other sessions" ends the others', async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const phone = await farm.signedInElsewhere('alice', { userAgent: SAFARI_ON_IPHONE });
    const done = await post(alice, { action: 'revoke-others', csrf: await csrfOf(alice) });
    assert.equal(done.status, 303);
    assert.equal(active(laptop), false);
    assert.equal(active(phone), false);
  });

  it("is linked from the login page's signed-in state", async () => {
    const text = await (await fetch(`${url}/system/sling/login`, { headers: { cookie: `login-token=${alice}` } })).text();
    assert.match(text, /<a href="\/system\/sessions">Your sessions<\/a>/);
  });
});

/** The token handler records this browser's sign-in in the instance's registry and sets `request.session.sessionId`. */
describe('"Your sessions": this device', () => {
  let farm: SessionsInstance;
  before(async () => {
    farm = await startSessionsInstance();
  });
  after(() => farm.instance.stop());

  it('marks this device and offers no Revoke button for it', async () => {
    const token = await login(farm.instance.url, 'alice', 'alice-pw-correct-horse');
    await farm.signedInElsewhere('alice');
    const text = await (await fetch(`${farm.instance.url}${PAGE}`, { headers: { cookie: `login-token=${token}` } })).text();
    const current = /<tr data-session="([^"]+)" class="current">([\s\S]*?)<\/tr>/.exec(text);
    assert.ok(current, 'a row is marked current');
    assert.match(current[2]!, /this device/);
    assert.doesNotMatch(current[2]!, /Revoke/);
    assert.equal((text.match(/>Revoke</g) ?? []).length, 1, 'one button: the other device');
  });

  it('ending this device with a crafted form signs this browser out: cookie cleared, the login page says why', async () => {
    const token = await login(farm.instance.url, 'alice', 'alice-pw-correct-horse');
    const text = await (await fetch(`${farm.instance.url}${PAGE}`, { headers: { cookie: `login-token=${token}` } })).text();
    const current = /<tr data-session="([^"]+)" class="current">/.exec(text)![1]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(text)![1]!;
    const response = await fetch(`${farm.instance.url}${PAGE}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ action: 'revoke', session: current, csrf }),
    });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/system/sling/login?j_notice=session_ended');
    assert.match(response.headers.get('set-cookie') ?? '', /^login-token=;/);
    assert.equal(farm.sessions.isRevoked(current), true);
  });
});
