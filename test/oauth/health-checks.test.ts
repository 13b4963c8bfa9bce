import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHealthRegistry, type HealthResult } from '../../src/health/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { createOAuthClients, oauthClientPid, watchOAuthClientChecks } from '../../src/oauth/index.js';
import { keyedServices } from '../helpers/keyed-services.js';
import { startTestInstance } from '../helpers/homes.js';
import { startOAuthProvider, type TestProvider } from '../helpers/oauth-provider.js';
import { healthAsAdmin } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

const SECRET = 'health-secret-4c2d';

interface HealthBody {
  status: string;
  checks: HealthResult[];
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function checkOf(instance: RunningInstance, name: string, when: (result: HealthResult) => boolean = (r) => r.checkedAt !== '') {
  return waitFor(`check ${name}`, () => {
    const result = instance.health.summary().checks.find((check) => check.name === oauthClientPid(name));
    return result && when(result) ? result : undefined;
  });
}

async function health(instance: RunningInstance): Promise<{ status: number; body: HealthBody }> {
  const response = await healthAsAdmin(instance.url); // anonymous visitors see check names only
  return { status: response.status, body: (await response.json()) as HealthBody };
}

describe('OAuth client health checks in a running instance', () => {
  let provider: TestProvider;
  before(async () => {
    provider = await startOAuthProvider([{ clientId: 'svc', clientSecret: SECRET }]);
  });
  after(() => provider.close());

  it('runs at start, on every change, and is removed with its configuration', async () => {
    const home = join(tempDir(), 'home');
    const first = await startTestInstance(home);
    await first.services.config.update(oauthClientPid('svc'), { 'token.endpoint': provider.tokenEndpoint, 'client.id': 'svc', 'client.secret': SECRET });
    await first.stop();

    const instance = await startTestInstance(home);
    try {
      const atStart = await checkOf(instance, 'svc');
      assert.equal(atStart.status, 'ok', atStart.message);
      assert.equal(atStart.title, 'OAuth client svc');
      const ok = await health(instance);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.checks.find((check) => check.name === oauthClientPid('svc'))?.status, 'ok');

      await instance.services.config.update(oauthClientPid('svc'), { 'client.secret': 'a-wrong-secret' });
      const failing = await checkOf(instance, 'svc', (result) => result.status === 'critical');
      assert.match(failing.message, /answered HTTP 401: \{"error":"invalid_client","error_description":"client authentication failed"\}/);
      const down = await health(instance);
      assert.equal(down.status, 503);
      assert.ok(!JSON.stringify(down.body).includes('a-wrong-secret'));

      await instance.services.config.update(oauthClientPid('svc'), { 'client.secret': SECRET });
      await checkOf(instance, 'svc', (result) => result.status === 'ok');

      await instance.services.config.update(oauthClientPid('second'), { 'token.endpoint': provider.tokenEndpoint, 'client.id': 'svc', 'client.secret': SECRET });
      assert.equal((await checkOf(instance, 'second')).status, 'ok');

      await instance.services.config.delete(oauthClientPid('second'));
      assert.equal(instance.health.summary().checks.some((check) => check.name === oauthClientPid('second')), false);
      assert.equal((await health(instance)).status, 200);
    } finally {
      await instance.stop();
    }
  });

  it('runs periodically at the configured interval', async () => {
    const instance = await startTestInstance(join(tempDir(), 'home'));
    try {
      await instance.services.config.update(oauthClientPid('svc'), { 'token.endpoint': provider.tokenEndpoint, 'client.id': 'svc', 'client.secret': SECRET });
      const firstRun = await checkOf(instance, 'svc');
      await instance.services.config.update('capsule.health', { 'interval.seconds': 1 });
      await checkOf(instance, 'svc', (result) => result.checkedAt !== firstRun.checkedAt);
      const grants = provider.grants;
      // The run the change started has finished; further grants come from the timer. The
      // bound is generous for a loaded machine yet half the 60 s default interval, so a change of
      // interval that did not take effect still fails.
      await waitFor('two more periodic grants', () => (provider.grants - grants >= 2 ? true : undefined), 30_000);
    } finally {
      await instance.stop();
    }
  });

  it('never makes a request wait for a check: /system/health answers while the token endpoint hangs', async () => {
    // Takes the token request and never answers: the check stays in flight until its own timeout.
    let tokenRequests = 0;
    const silent = createServer(() => void tokenRequests++);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const instance = await startTestInstance(join(tempDir(), 'home'));
    try {
      const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/token`;
      await instance.services.config.update(oauthClientPid('hangs'), { 'token.endpoint': endpoint, 'client.id': 'svc', 'client.secret': SECRET });
      await waitFor('the check to reach the token endpoint', () => (tokenRequests > 0 ? true : undefined));
      // A route that waited for the check would answer only after the check gave up (3 attempts
      // of 4 s), and then with the check critical and 503: the answer itself tells which happened.
      const { status, body } = await health(instance);
      assert.equal(status, 200);
      const pending = body.checks.find((check) => check.name === oauthClientPid('hangs'));
      assert.deepEqual([pending?.status, pending?.message], ['warn', 'not checked yet']);
    } finally {
      await instance.stop();
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('watchOAuthClientChecks', () => {
  it('registers a check per stored configuration and follows additions and removals', async () => {
    const services = await keyedServices();
    try {
      const pid = (name: string) => oauthClientPid(name);
      const values = { 'token.endpoint': 'http://127.0.0.1:9/token', 'client.id': 'svc', 'client.secret': SECRET };
      await services.config.update(pid('before'), values);
      await services.config.update('capsule.auth.token', { 'token.refresh': false });
      const health = createHealthRegistry({ clock: systemClock });
      const stop = watchOAuthClientChecks({ health, config: services.config, clients: createOAuthClients({ ...services, request: { attempts: 1 } }) });
      const names = () => health.summary().checks.map((check) => check.name).sort();
      assert.deepEqual(names(), [pid('before')]);
      await services.config.update(pid('after'), values);
      assert.deepEqual(names(), [pid('after'), pid('before')]);
      await services.config.delete(pid('before'));
      assert.deepEqual(names(), [pid('after')]);
      stop();
      assert.deepEqual(names(), []);
      await services.config.update(pid('late'), values);
      assert.deepEqual(names(), [], 'stopped watching');
    } finally {
      await services.close();
    }
  });
});
