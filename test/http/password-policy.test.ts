import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PASSWORD_POLICY_PID } from '../../src/auth/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { createUserManager } from '../../src/users/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

describe('password policy over HTTP: the console Users page and the admin API', () => {
  let instance: RunningInstance;
  let admin: string;
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
    admin = await login(instance.url, 'admin', 'admin-password');
  });
  after(() => instance.stop());

  async function consoleAction(fields: Record<string, string>): Promise<{ status: number; page: string }> {
    const form = await (await fetch(`${instance.url}/system/console/users`, { headers: { cookie: `login-token=${admin}` } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(form)?.[1];
    assert.ok(csrf, 'the page has a CSRF token');
    const response = await fetch(`${instance.url}/system/console/users`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${admin}`, 'content-type': 'application/x-www-form-urlencoded', origin: instance.url },
      body: new URLSearchParams({ csrf, ...fields }),
    });
    return { status: response.status, page: await response.text() };
  }

  async function adminApi(path: string, body: object): Promise<{ status: number; json: { error?: { code: string; message: string } } }> {
    const response = await fetch(`${instance.url}${path}`, { method: 'POST', headers: { 'login-token': admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as { error?: { code: string; message: string } } };
  }

  it('the console refuses a short or common password with the rule in the form, changing nothing', async () => {
    const short = await consoleAction({ action: 'create', user: 'carol', password: 'eleven-char' });
    assert.equal(short.status, 400);
    assert.match(short.page, /the password is shorter than 12 characters/);
    assert.ok(!short.page.includes('eleven-char'), 'the password is not shown back');
    assert.equal(await instance.services.users.getUser('carol'), null);

    assert.equal((await consoleAction({ action: 'create', user: 'carol', password: 'tulip-orbit7' })).status, 303);
    const common = await consoleAction({ action: 'password', user: 'carol', password: 'password1234' });
    assert.equal(common.status, 400);
    assert.match(common.page, /the password is one of the most common passwords/);
    assert.ok(await login(instance.url, 'carol', 'tulip-orbit7'), 'the old password still works');
  });

  it('the admin API (farm users) answers 400 PASSWORD_POLICY with the rule, changing nothing', async () => {
    const short = await adminApi('/system/farm/users', { id: 'dora', password: 'eleven-char' });
    assert.equal(short.status, 400);
    assert.equal(short.json.error?.code, 'PASSWORD_POLICY');
    assert.equal(short.json.error?.message, 'the password is shorter than 12 characters');
    assert.equal(await instance.services.users.getUser('dora'), null);

    assert.equal((await adminApi('/system/farm/users', { id: 'dora', password: 'tulip-orbit7' })).status, 200);
    const common = await adminApi('/system/farm/users/passwd', { id: 'dora', password: 'PASSWORD1234' });
    assert.equal(common.status, 400);
    assert.equal(common.json.error?.code, 'PASSWORD_POLICY');
    assert.match(common.json.error?.message ?? '', /one of the most common passwords/);
    assert.ok(await login(instance.url, 'dora', 'tulip-orbit7'), 'the old password still works');
  });

  it('a change of minLength applies to the next password set, without a restart', async () => {
    await instance.services.config.update(PASSWORD_POLICY_PID, { minLength: 16 });
    try {
      const refused = await adminApi('/system/farm/users', { id: 'erin', password: 'tulip-orbit8' });
      assert.equal(refused.status, 400);
      assert.equal(refused.json.error?.message, 'the password is shorter than 16 characters');
      const console16 = await consoleAction({ action: 'create', user: 'erin', password: 'tulip-orbit8' });
      assert.match(console16.page, /shorter than 16 characters/);
      assert.equal((await adminApi('/system/farm/users', { id: 'erin', password: 'tulip-orbit-8888' })).status, 200);
    } finally {
      await instance.services.config.update(PASSWORD_POLICY_PID, { minLength: null });
    }
  });

  it('a shorter password set before the policy still logs in', async () => {
    // As a Capsule without the policy wrote it, in the same repository.
    const older = createUserManager({ repo: instance.services.repo, hasher: fastHasher, passwordPolicy: () => ({ minLength: 1, maxLength: 1024 }) });
    await older.createUser('frank', { password: 'zq7k-frk' });
    assert.ok(await login(instance.url, 'frank', 'zq7k-frk'));
  });
});
