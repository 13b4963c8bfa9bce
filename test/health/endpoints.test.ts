import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

interface Body {
  instance: string;
  status: string;
  checks: Array<Record<string, unknown>>;
}

async function get(url: string, token?: string): Promise<{ status: number; body: Body }> {
  const response = await fetch(url, { headers: token ? { 'login-token': token } : {} });
  return { status: response.status, body: (await response.json()) as Body };
}

describe('GET /system/health/live, /ready and /system/health', () => {
  let instance: RunningInstance;
  let admin: string;
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
    admin = await login(instance.url, 'admin', 'admin-password');
  });
  after(() => instance.stop());

  it('ready answers from the readiness checks alone; anonymous visitors see the status and check names only', async () => {
    const anonymous = await get(`${instance.url}/system/health/ready`);
    assert.equal(anonymous.status, 200);
    assert.deepEqual(anonymous.body.checks, [{ name: 'repository' }, { name: 'keys' }]);
    const detailed = await get(`${instance.url}/system/health/ready`, admin);
    assert.deepEqual(detailed.body.checks.map((check) => [check.name, check.readiness, check.status]), [['repository', true, 'ok'], ['keys', true, 'ok']]);
    assert.match(String(detailed.body.checks[1]!.message), /^master [0-9a-f]+, hmac [0-9a-f]+/);
    const live = await get(`${instance.url}/system/health/live`);
    assert.deepEqual([live.status, live.body.status], [200, 'ok']);
  });

  it('an integration that fails is critical in /system/health only; a readiness check that fails makes ready 503, live stays 200', async () => {
    instance.health.register({ name: 'capsule.oauth.client~down', title: 'OAuth client down', run: async () => ({ status: 'critical', message: 'connection refused' }) });
    await instance.health.run();
    assert.equal((await get(`${instance.url}/system/health`)).status, 503);
    assert.equal((await get(`${instance.url}/system/health/ready`)).status, 200);

    instance.health.register({
      name: 'repository',
      title: 'Repository',
      readiness: true,
      run: async () => {
        throw new Error('database is locked');
      },
    });
    await instance.health.run('repository');
    const ready = await get(`${instance.url}/system/health/ready`, admin);
    assert.equal(ready.status, 503);
    assert.equal(ready.body.checks.find((check) => check.name === 'repository')?.status, 'critical');
    assert.equal((await get(`${instance.url}/system/health/live`)).status, 200, 'the process runs: no restart for that');
  });
});
