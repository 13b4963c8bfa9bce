import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../src/instance/index.js';
import { oauthClientPid } from '../../src/oauth/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

// Deleting asks first, without JavaScript (the console's CSP allows no script): the first POST
// answers a page that repeats the request with confirm=yes; only that one deletes.

describe('console deletions ask for confirmation', () => {
  let instance: RunningInstance;
  let token: string;
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
    await instance.services.users.createUser('bob', { password: 'bob-password' });
    token = await login(instance.url, 'admin', 'admin-password');
  });
  after(() => instance.stop());

  async function csrf(): Promise<string> {
    const page = await (await fetch(`${instance.url}/system/console/users`, { headers: { cookie: `login-token=${token}` } })).text();
    return /name="csrf" value="([^"]+)"/.exec(page)![1]!;
  }

  function post(path: string, fields: Record<string, string>): Promise<Response> {
    return fetch(`${instance.url}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded', origin: instance.url },
      body: new URLSearchParams(fields),
    });
  }

  /** The hidden fields of the confirmation form, as the browser would send them. */
  function confirmationFields(page: string): Record<string, string> {
    const form = /<form method="post"[^>]*class="actions">([\s\S]*?)<\/form>/.exec(page.slice(page.indexOf('id="confirm-question"')))?.[1] ?? '';
    return Object.fromEntries([...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((match) => [match[1]!, match[2]!]));
  }

  it('a user: the Delete button asks, Cancel goes back, only the confirmed request deletes', async () => {
    const usersPage = await (await fetch(`${instance.url}/system/console/users`, { headers: { cookie: `login-token=${token}` } })).text();
    assert.match(usersPage, /aria-label="Delete bob"/);
    const asked = await post('/system/console/users', { csrf: await csrf(), action: 'remove', user: 'bob' });
    assert.equal(asked.status, 200);
    const page = await asked.text();
    assert.match(page, /Delete user bob\?/);
    assert.match(page, /<a href="\/system\/console\/users">Cancel<\/a>/);
    assert.notEqual(await instance.services.users.getUser('bob'), null, 'asking deletes nothing');
    assert.ok(!/<script/i.test(page));

    const fields = confirmationFields(page);
    assert.deepEqual(Object.keys(fields).sort(), ['action', 'confirm', 'csrf', 'user']);
    const done = await post('/system/console/users', fields);
    assert.equal(done.status, 303);
    assert.equal(await instance.services.users.getUser('bob'), null);
  });

  it('refuses to delete the administrator who is signed in, even confirmed', async () => {
    const refused = await post('/system/console/users', { csrf: await csrf(), action: 'remove', user: 'admin', confirm: 'yes' });
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /you cannot delete yourself/);
    assert.notEqual(await instance.services.users.getUser('admin'), null);
  });

  it('an OAuth client configuration: asked first, deleted when confirmed', async () => {
    const pid = oauthClientPid('partner');
    await instance.services.config.update(pid, { 'token.endpoint': 'http://127.0.0.1:9/token', 'client.id': 'x', 'client.secret': 'partner-secret' });
    const asked = await post('/system/console/configMgr', { csrf: await csrf(), action: 'delete', pid });
    assert.equal(asked.status, 200);
    const page = await asked.text();
    assert.match(page, /Delete the configuration capsule\.oauth\.client~partner\?/);
    assert.notEqual(instance.services.config.stored(pid), null);
    const done = await post('/system/console/configMgr', confirmationFields(page));
    assert.equal(done.status, 303);
    assert.equal(instance.services.config.stored(pid), null);
  });
});
