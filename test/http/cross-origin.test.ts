import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login, sessionStatus } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

const FOREIGN: Array<{ name: string; headers: Record<string, string> }> = [
  { name: 'a foreign Origin', headers: { origin: 'http://evil.example' } },
  { name: 'Origin: null', headers: { origin: 'null' } },
  { name: 'Sec-Fetch-Site: cross-site', headers: { 'sec-fetch-site': 'cross-site' } },
  { name: 'Sec-Fetch-Site: same-site (another port)', headers: { 'sec-fetch-site': 'same-site' } },
];

describe('state-changing requests from another site', () => {
  let instance: RunningInstance;
  let url: string;
  let admin: string;

  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
    url = instance.url;
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    admin = await login(url, 'admin', 'admin-password');
  });
  after(() => instance.stop());

  const post = (path: string, token: string | null, headers: Record<string, string> = {}, body = '') =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(token ? { cookie: `login-token=${token}` } : {}), ...headers },
      body,
      redirect: 'manual',
    });

  it('refuses logout-everywhere with the admin cookie when the browser says another site sent it; changes nothing', async () => {
    for (const { name, headers } of FOREIGN) {
      const response = await post('/api/users/alice/logout-everywhere', admin, headers);
      assert.equal(response.status, 403, name);
      assert.match(await response.text(), /another site was refused/, name);
    }
    assert.equal((await instance.services.users.getUser('alice'))?.generation, 0, 'the generation was not raised');
    const same = await post('/api/users/alice/logout-everywhere', admin, { origin: url });
    assert.equal(same.status, 200);
    assert.equal((await instance.services.users.getUser('alice'))?.generation, 1);
  });

  it('refuses a login form posted from another site (login CSRF)', async () => {
    const response = await post('/j_security_check', null, { origin: 'http://evil.example' }, 'j_username=alice&j_password=alice-pw-correct-horse');
    assert.equal(response.status, 403);
    assert.equal(response.headers.getSetCookie().length, 0, 'no cookie was set');
  });

  it('logout by cookie needs this site: a foreign origin, or no word at all without the CSRF token, is refused', async () => {
    const token = await login(url, 'alice', 'alice-pw-correct-horse');
    for (const { name, headers } of FOREIGN) assert.equal((await post('/system/sling/logout', token, headers)).status, 403, name);
    const silent = await post('/system/sling/logout', token);
    assert.equal(silent.status, 403, 'a cookie and no origin information: needs the CSRF token');
    assert.match(await silent.text(), /CSRF token/);
    assert.equal((await post('/system/sling/logout', token, {}, 'csrf=' + 'A'.repeat(43))).status, 403, 'a made-up CSRF token');
    assert.equal(await sessionStatus(url, token), 200, 'still logged in');
    assert.equal((await post('/system/sling/logout', token, { origin: url })).status, 200, 'the same origin logs out');
    assert.equal(await sessionStatus(url, token), 401);
  });

  it("logs out with the console form's CSRF token, and by header token without one", async () => {
    const token = await login(url, 'admin', 'admin-password');
    const page = await (await fetch(`${url}/system/console/configMgr`, { headers: { cookie: `login-token=${token}` } })).text();
    const form = /<form class="who"[\s\S]*?<\/form>/.exec(page)?.[0] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(form)?.[1];
    assert.ok(csrf, 'the console logout form carries a CSRF token');
    const response = await post('/system/sling/logout', token, {}, `csrf=${csrf}&resource=/system/console/configMgr`);
    assert.equal(response.status, 303);
    assert.equal(await sessionStatus(url, token), 401);

    const scripted = await login(url, 'alice', 'alice-pw-correct-horse');
    const byHeader = await fetch(`${url}/system/sling/logout`, { method: 'POST', headers: { 'login-token': scripted } });
    assert.equal(byHeader.status, 200, 'no cookie, nothing a browser adds by itself');
    assert.equal(await sessionStatus(url, scripted), 401);
  });
});
