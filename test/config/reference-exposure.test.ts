import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOidcLogin, oidcPid } from '../../src/auth/oidc/index.js';
import { CONFIG_COUNTER, CONFIG_ROOT } from '../../src/config/index.js';
import { METRICS_PID } from '../../src/http/metrics-config.js';
import { silentLogger, type RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

// A reference outside a secret property would copy the server's environment onto whatever shows
// that property: an OpenID provider's title is on the public login page.

const LEAK = 'db-password-31f7c';

async function csrfOf(url: string, token: string): Promise<string> {
  const page = await (await fetch(url, { headers: { cookie: `login-token=${token}` } })).text();
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  assert.ok(match, 'the page has a CSRF field');
  return match[1]!;
}

describe('references where they are not resolved', () => {
  let instance: RunningInstance;
  before(async () => {
    process.env.PGPASSWORD = LEAK;
    delete process.env.SECRET_UNSET_OIDC;
    instance = await startTestInstance(join(tempDir(), 'home'));
  });
  after(async () => {
    await instance?.stop();
    delete process.env.PGPASSWORD;
  });

  /** A configuration as an older version stored it, past today's checks. */
  async function storeAsBefore(pid: string, properties: Record<string, string>): Promise<void> {
    await instance.services.repo.transaction(async (tx) => {
      await tx.addNode(`${CONFIG_ROOT}/${pid}`, { type: 'capsule:Configuration', properties });
      await tx.bumpCounter(CONFIG_COUNTER);
    });
    await instance.services.config.refresh();
  }

  it('refuses a title with $[env:PGPASSWORD] from the console, saying why, and stores nothing', async () => {
    const token = await login(instance.url, 'admin', 'admin-password');
    const url = `${instance.url}/system/console/configMgr`;
    const csrf = await csrfOf(`${url}?pid=capsule.auth.oidc`, token);
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded', origin: instance.url },
      body: new URLSearchParams({
        csrf,
        action: 'create',
        pid: 'capsule.auth.oidc',
        name: 'corp',
        'v.issuer': 'https://idp.example',
        'v.client.id': 'capsule',
        'v.client.secret': 'secret',
        'v.title': 'Staff $[env:PGPASSWORD]',
      }),
    });
    assert.equal(response.status, 400);
    const page = await response.text();
    assert.match(page, /does not accept a reference such as \$\[env:PGPASSWORD\]/);
    assert.ok(!page.includes(LEAK));
    assert.equal(instance.services.config.stored(oidcPid('corp')), null, 'nothing was stored');
  });

  it('refuses, from the console, a client secret referencing PGPASSWORD, which would go to a token endpoint the writer chose, and stores nothing', async () => {
    const token = await login(instance.url, 'admin', 'admin-password');
    const url = `${instance.url}/system/console/configMgr`;
    const csrf = await csrfOf(`${url}?pid=capsule.oauth.client`, token);
    const before = JSON.stringify(await instance.services.repo.getSubtree(CONFIG_ROOT));
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded', origin: instance.url },
      body: new URLSearchParams({
        csrf,
        action: 'create',
        pid: 'capsule.oauth.client',
        name: 'evil',
        'v.token.endpoint': 'http://127.0.0.1:9/token',
        'v.client.id': 'c',
        'v.client.secret': '$[env:PGPASSWORD]',
      }),
    });
    assert.equal(response.status, 400);
    const page = await response.text();
    assert.match(page, /data-property="client\.secret">[^]*references \$\[env:PGPASSWORD\], one of Capsule(&#39;|&#x27;|')s own or PostgreSQL(&#39;|&#x27;|')s variables/);
    assert.ok(!page.includes(LEAK));
    assert.equal(JSON.stringify(await instance.services.repo.getSubtree(CONFIG_ROOT)), before, 'nothing was stored');
  });

  it('shows a title stored before with a reference literally on the public login page', async () => {
    await storeAsBefore(oidcPid('legacy'), { issuer: 'https://idp.example', 'client.id': 'capsule', 'client.secret': instance.services.crypto.protect('s'), title: 'Staff $[env:PGPASSWORD]' });
    const response = await fetch(`${instance.url}/system/sling/login`);
    assert.equal(response.status, 200);
    const page = await response.text();
    assert.ok(!page.includes(LEAK), 'the environment stays out of the page');
    assert.match(page, /Sign in with Staff \$\[env:PGPASSWORD\]/);
  });

  it('lists a provider whose secret reference is not set in the server, and fails only its check, naming the reference', async () => {
    await storeAsBefore(oidcPid('unset'), { issuer: 'https://idp.example', 'client.id': 'capsule', 'client.secret': '$[env:SECRET_UNSET_OIDC]', title: 'Partners' });
    const response = await fetch(`${instance.url}/system/sling/login`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /Sign in with Partners/);
    const check = await createOidcLogin({ ...instance.services, logger: silentLogger() }).check('unset');
    assert.equal(check.status, 'critical');
    assert.equal(check.message, 'client.secret of OpenID provider unset references $[env:SECRET_UNSET_OIDC], which is not set in the environment');
  });

  it('lets a scraper in with a scrape token from the environment of the server, and none while the variable is not set', async () => {
    const scrape = (token: string) => fetch(`${instance.url}/system/metrics`, { headers: { authorization: `Bearer ${token}` } });
    process.env.SECRET_TEST_SCRAPE_TOKEN = 'scrape-from-env-42';
    await instance.services.config.update(METRICS_PID, { 'scrape.token': '$[env:SECRET_TEST_SCRAPE_TOKEN]' });
    assert.equal((await scrape('scrape-from-env-42')).status, 200);
    assert.equal((await scrape('$[env:SECRET_TEST_SCRAPE_TOKEN]')).status, 403, 'the reference as written is no token');
    delete process.env.SECRET_TEST_SCRAPE_TOKEN;
    const refused = await scrape('scrape-from-env-42');
    assert.equal(refused.status, 403, 'fails closed, and not as a server error');
    assert.ok(!(await refused.text()).includes('SECRET_TEST_SCRAPE_TOKEN'), 'the requester is not told about the configuration');
    const admin = await login(instance.url, 'admin', 'admin-password');
    assert.equal((await fetch(`${instance.url}/system/metrics`, { headers: { cookie: `login-token=${admin}` } })).status, 200, 'administrators still read metrics');
    await instance.services.config.delete(METRICS_PID);
  });
});
