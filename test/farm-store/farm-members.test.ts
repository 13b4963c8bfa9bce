import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { startPostgres, type PostgresCluster, POSTGRES_PASSWORD } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// Two members of a farm (each its own home and SQLite repository) sharing one PostgreSQL farm
// store. The server waits for its commits: what a SIGKILL of it must not lose.
describe('two members sharing one PostgreSQL farm store', () => {
  let cluster: PostgresCluster;
  let storeUrl: string;
  const clock = fixedClock(Date.parse('2026-12-07T10:00:00Z'));
  const members: RunningInstance[] = [];
  const [a, b] = [() => members[0]!, () => members[1]!];

  before(async () => {
    cluster = await startPostgres({ settings: ['synchronous_commit=on'] });
    await cluster.createDatabase('farm');
    storeUrl = cluster.url('farm');
    for (const name of ['publish-1', 'publish-2']) {
      const instance = await startInstance({
        home: join(tempDir(), name),
        port: 0,
        name,
        hasher: fastHasher,
        clock,
        // The password as an operator gives it: a reference to the instance's environment.
        env: { CAPSULE_ADMIN_PASSWORD: 'admin-password', SECRET_FARM_STORE: POSTGRES_PASSWORD },
      });
      members.push(instance);
      await instance.services.config.update('capsule.farm.store', { url: storeUrl, password: '$[env:SECRET_FARM_STORE]' });
      for (const user of ['alice', 'dave']) await instance.services.users.createUser(user, { password: `${user}-pw-correct-horse` });
    }
  });
  after(async () => {
    for (const member of members) await member.stop();
    await cluster?.stop();
  });

  const login = async (member: RunningInstance, user: string, password: string) => {
    const response = await fetch(`${member.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ j_username: user, j_password: password }),
    });
    return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
  };

  it('count together: failures spread over both lock the account on both', async () => {
    for (const [member, times] of [[a, 5], [b, 4], [a, 1]] as const) {
      for (let i = 0; i < times; i++) {
        clock.advance(2000);
        assert.equal((await login(member(), 'alice', `guess-${i}`)).status, 401);
      }
    }
    assert.equal((await login(b(), 'alice', 'alice-pw-correct-horse')).status, 401, 'locked on the member that saw 4 failures');
    assert.equal((await login(a(), 'alice', 'alice-pw-correct-horse')).status, 401);
    const rows = await cluster.sql<{ n: string }>('farm', "SELECT count(*) AS n FROM capsule_farm_records WHERE space = 'login-failures' AND key = 'alice'");
    assert.equal(rows[0]?.n, '1', 'the count is in the farm store, once');
    assert.equal(await a().bruteForce.unlock('alice', 'admin'), true);
    assert.equal((await login(b(), 'alice', 'alice-pw-correct-horse')).status, 200, 'an unlock on one member clears it for all');
  });

  it('failures on both members at the same instant all count', async () => {
    for (const member of members) await member.services.config.update('capsule.auth.bruteforce', { maxFailures: 1000 });
    const each = 15;
    // The start barrier: both members are up; every request is sent before any answer is read.
    const answers = await Promise.all(members.flatMap((member) => Array.from({ length: each }, (_, i) => login(member, 'dave', `guess-${i}`))));
    assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [401]);
    assert.equal((await a().bruteForce.status('dave'))?.failures, 2 * each);
    for (const member of members) await member.services.config.delete('capsule.auth.bruteforce');
    await a().bruteForce.unlock('dave', 'admin');
  });

  it('store killed (SIGKILL): closed refuses sign-in with 503, open counts on the instance; both recover without a restart', async () => {
    await a().services.config.update('capsule.farm.store', { 'failure.policy': 'closed' });
    clock.advance(2000);
    assert.equal((await login(a(), 'alice', 'wrong')).status, 401);
    const before = (await a().bruteForce.status('alice'))?.failures;
    assert.equal(before, 1);

    await cluster.kill();
    const refused = await login(a(), 'alice', 'alice-pw-correct-horse');
    assert.equal(refused.status, 503, 'closed: never a 500, never a password checked');
    assert.equal(refused.body.error?.code, 'SIGN_IN_UNAVAILABLE');
    assert.match(refused.body.error?.message ?? '', /sign-in is unavailable/);
    assert.equal((await login(a(), 'alice', 'wrong')).status, 503, 'a wrong password gets the same answer');
    assert.equal((await login(b(), 'alice', 'wrong')).status, 401, 'open: counted on the instance');
    assert.equal((await login(b(), 'alice', 'alice-pw-correct-horse')).status, 200, 'open: the right password works');
    const adminToken = (await fetch(`${b().url}/j_security_check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ j_username: 'admin', j_password: 'admin-password' }) })).headers
      .getSetCookie()
      .join('')
      .match(/login-token=([^;]+)/)?.[1];
    assert.ok(adminToken, 'the administrator signs in on the open member');
    const unlock = await fetch(`${b().url}/api/users/alice/unlock`, { method: 'POST', headers: { 'login-token': adminToken } });
    assert.equal(unlock.status, 503, 'an unlock that would not reach the store is refused, never done in memory alone');

    const closedHealth = (await a().health.run('farm-store')).checks.find((check) => check.name === 'farm-store')!;
    assert.equal(closedHealth.status, 'critical');
    assert.equal(closedHealth.readiness, false);
    assert.match(closedHealth.message, /farm store is down .*failure\.policy=closed/);
    const openHealth = (await b().health.run('farm-store')).checks.find((check) => check.name === 'farm-store')!;
    assert.equal(openHealth.status, 'warn');
    assert.match(openHealth.message, /failure\.policy=open/);
    assert.doesNotMatch(JSON.stringify([closedHealth, openHealth]), new RegExp(POSTGRES_PASSWORD));

    await cluster.start();
    clock.advance(2000); // past the second in which a failed store is not asked again
    assert.equal((await login(a(), 'alice', 'wrong')).status, 401, 'the store answers again: counted');
    assert.equal((await b().bruteForce.status('alice'))?.failures, 2, 'on the farm store, which kept the count through the crash (and the refused unlock changed nothing)');
    assert.equal((await a().health.run('farm-store')).checks.find((check) => check.name === 'farm-store')!.status, 'ok');
    assert.equal((await login(a(), 'alice', 'alice-pw-correct-horse')).status, 200);
  });
});
