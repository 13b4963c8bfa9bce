import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCliInProcess } from '../helpers/cli.js';
import { login } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { farmUp, initLocalFarm, type FarmProcess, type LocalFarm } from '../helpers/local-farm.js';

// A farm whose every instance has an OAuth client whose token endpoint is dead (nothing listens
// there). The integration is critical in `GET /system/health`, but HAProxy routes on
// `GET /system/health/ready`, so nobody is kept from logging in by a third party being down.

const PUBLISHERS = 2;
const ALICE = { id: 'alice', password: 'alice-pw-correct-horse' };
const CHECK_INTERVAL_MS = 300;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface HealthBody {
  status: string;
  checks: Array<{ name: string; status?: string; message?: string }>;
}

describe('a dead OAuth token endpoint in a farm behind HAProxy', { timeout: 90_000 }, () => {
  let farm: LocalFarm;
  let up: FarmProcess;

  before(async () => {
    farm = await initLocalFarm(PUBLISHERS, { args: ['--check-interval', String(CHECK_INTERVAL_MS), '--check-fall', '1', '--check-rise', '1', '--login-limit', '0'] }); // logs in for as long as the check takes: no login limit at HAProxy
    const dead = `http://127.0.0.1:${await freePort()}/token`; // free a moment ago: connections are refused
    for (let i = 1; i <= PUBLISHERS; i++) {
      const add = await runCliInProcess(
        ['oauth', 'add', 'partner', '--token-endpoint', dead, '--client-id', 'svc', '--client-secret-stdin', '--home', join(farm.dir, `publish-${i}`)],
        { stdin: 'partner-secret' },
      );
      assert.equal(add.code, 0, add.stderr);
    }
    up = await farmUp(farm.dir);
    const add = await farm.operator(['farm', 'users', 'add', ALICE.id, '--password-stdin', '--wait', '20'], ALICE.password);
    assert.equal(add.code, 0, add.stderr);
  });

  after(async () => {
    if (up?.child.exitCode !== null) return;
    up.child.kill('SIGTERM');
    await up.exited;
  });

  it('reports the integration critical in /system/health while /system/health/ready stays 200 and logins through HAProxy keep working', async () => {
    for (const publish of farm.members().filter((member) => member.role === 'publish')) {
      const { url } = publish;
      const token = await login(url, 'admin', farm.adminPassword);
      const full = await waitFor(`${publish.name} to find the token endpoint dead`, async () => {
        const response = await fetch(`${url}/system/health`, { headers: { 'login-token': token } });
        const body = (await response.json()) as HealthBody;
        const partner = body.checks.find((check) => check.name === 'capsule.oauth.client~partner');
        return partner?.status === 'critical' ? { status: response.status, partner } : undefined;
      });
      assert.equal(full.status, 503, 'the whole health reports the integration');
      assert.match(full.partner.message ?? '', /127\.0\.0\.1/);

      const anonymous = await fetch(`${url}/system/health`);
      const anonymousBody = (await anonymous.json()) as HealthBody;
      assert.equal(anonymous.status, 503);
      assert.ok(anonymousBody.checks.every((check) => Object.keys(check).join() === 'name'), 'anonymous visitors get check names only');

      const ready = await fetch(`${url}/system/health/ready`, { headers: { 'login-token': token } });
      const readyBody = (await ready.json()) as HealthBody;
      assert.equal(ready.status, 200, JSON.stringify(readyBody));
      assert.deepEqual(readyBody.checks.map((check) => check.name).sort(), ['keys', 'repository']);
      assert.equal((await fetch(`${url}/system/health/live`)).status, 200);
    }

    // HAProxy checks every 300 ms and takes a server out after one failure: logins keep going for
    // ten check intervals after both instances reported the integration critical.
    const instances = new Set<string>();
    const deadline = Date.now() + 10 * CHECK_INTERVAL_MS;
    let logins = 0;
    while (Date.now() < deadline || logins < 10) {
      const response = await fetch(`${farm.lb}/j_security_check`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ j_username: ALICE.id, j_password: ALICE.password }),
      });
      await response.arrayBuffer();
      assert.equal(response.status, 200, `login ${logins + 1} through HAProxy`);
      instances.add(response.headers.get('x-capsule-instance') ?? '');
      logins++;
    }
    assert.deepEqual([...instances].sort(), ['publish-1', 'publish-2'], 'both instances stay in the load balancer');
  });
});
