import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BRUTE_FORCE_PID, bruteForceSettings, isLocked } from '../../src/auth/index.js';
import { fixedClock } from '../../src/clock.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { startHaproxy, type Haproxy } from '../helpers/haproxy.js';
import { startPostgres, type PostgresCluster, POSTGRES_PASSWORD } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// An attacker guessing one account's password through Debian's HAProxy (round robin, no sticky
// sessions) in front of three publishes. Each publish keeps its own home and SQLite repository;
// first without a farm store (each counts in its own repository), then sharing one PostgreSQL
// farm store. The publishes share one fixed clock, moved 100 ms per guess: a fast attacker. The
// quick-login check is off (quickLoginCheckMilliSeconds=0) so that what locks is the count alone;
// with it on, two guesses 100 ms apart would lock the account for 60 s after the second one and
// hide the count (an attacker who paces one guess a second per account never meets it anyway).
describe('guesses spread over three publishes behind HAProxy', { timeout: 120_000 }, () => {
  let cluster: PostgresCluster;
  let haproxy: Haproxy;
  const clock = fixedClock(Date.parse('2026-12-07T10:00:00Z'));
  const publishes: RunningInstance[] = [];
  let maxFailures: number;

  before(async () => {
    cluster = await startPostgres();
    await cluster.createDatabase('farm');
    const root = tempDir();
    for (const name of ['publish-1', 'publish-2', 'publish-3']) {
      const instance = await startInstance({
        home: join(root, name),
        port: 0,
        name,
        hasher: fastHasher,
        clock,
        env: { CAPSULE_ADMIN_PASSWORD: 'admin-password', SECRET_FARM_STORE: POSTGRES_PASSWORD },
      });
      publishes.push(instance);
      await instance.services.config.update(BRUTE_FORCE_PID, { quickLoginCheckMilliSeconds: 0 });
      for (const user of ['alice', 'bob']) await instance.services.users.createUser(user, { password: `${user}-right-password` });
    }
    maxFailures = bruteForceSettings(publishes[0]!.services.config.current(BRUTE_FORCE_PID)).maxFailures;
    assert.equal(maxFailures, 10, "Keycloak's model, Capsule's default");
    haproxy = await startHaproxy(root, publishes.map((publish) => publish.port));
  });
  after(async () => {
    await haproxy?.stop();
    for (const publish of publishes) await publish.stop();
    await cluster?.stop();
  });

  async function loginThroughHaproxy(user: string, password: string): Promise<{ status: number; body: string; instance: string }> {
    const response = await fetch(`${haproxy.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ j_username: user, j_password: password }),
    });
    return { status: response.status, body: await response.text(), instance: response.headers.get('x-capsule-instance') ?? '?' };
  }

  /** Each publish's view of the account, through its own protector (the shared store, or its repository). */
  const lockedOn = async (user: string) => Promise.all(publishes.map(async (publish) => isLocked(await publish.bruteForce.status(user), clock.now())));
  const failuresOn = async (user: string) => Promise.all(publishes.map(async (publish) => (await publish.bruteForce.status(user))?.failures ?? 0));

  /**
   * Wrong guesses through HAProxy until every publish has the account locked (at most `limit`):
   * how many were sent, after which one the first publish locked it, and how many each publish answered.
   */
  async function guessUntilLockedEverywhere(user: string, limit: number) {
    let sent = 0;
    let firstLockAfter = 0;
    const answeredBy = new Map<string, number>();
    const wrongAnswers = new Set<string>();
    while (sent < limit) {
      clock.advance(100);
      const answer = await loginThroughHaproxy(user, `guess-${sent}`);
      sent++;
      assert.equal(answer.status, 401, answer.body);
      wrongAnswers.add(answer.body);
      answeredBy.set(answer.instance, (answeredBy.get(answer.instance) ?? 0) + 1);
      const locked = await lockedOn(user);
      if (firstLockAfter === 0 && locked.some(Boolean)) firstLockAfter = sent;
      if (locked.every(Boolean)) break;
    }
    assert.deepEqual([...answeredBy.keys()].sort(), ['publish-1', 'publish-2', 'publish-3'], 'every publish received guesses');
    assert.equal(wrongAnswers.size, 1, 'every wrong guess gets the same answer');
    return { sent, firstLockAfter, answeredBy, wrongAnswer: [...wrongAnswers][0]! };
  }

  /** The right password, through HAProxy until each publish has answered it once: refused as a wrong one everywhere. */
  async function assertRightPasswordRefusedEverywhere(user: string, wrongAnswer: string): Promise<void> {
    const answeredBy = new Set<string>();
    for (let i = 0; i < 9 && answeredBy.size < publishes.length; i++) {
      const answer = await loginThroughHaproxy(user, `${user}-right-password`);
      assert.equal(answer.status, 401, `${answer.instance} let the right password in`);
      assert.equal(answer.body, wrongAnswer, `${answer.instance}: the same answer as a wrong password (no enumeration)`);
      answeredBy.add(answer.instance);
    }
    assert.equal(answeredBy.size, publishes.length);
  }

  it('without a farm store each publish counts alone: locking the account takes 3 × maxFailures guesses', async () => {
    const run = await guessUntilLockedEverywhere('bob', 5 * maxFailures);
    assert.ok(run.firstLockAfter > maxFailures, `no publish locks bob after ${maxFailures} guesses spread over three (the first after ${run.firstLockAfter})`);
    assert.equal(run.sent, 3 * maxFailures, 'guesses checked before every publish refuses');
    assert.deepEqual(await failuresOn('bob'), [maxFailures, maxFailures, maxFailures], 'each publish counted its own share, up to maxFailures');
    await assertRightPasswordRefusedEverywhere('bob', run.wrongAnswer);
  });

  it('with one PostgreSQL farm store the account locks on every publish after exactly maxFailures guesses', async () => {
    for (const publish of publishes) await publish.services.config.update('capsule.farm.store', { url: cluster.url('farm'), password: '$[env:SECRET_FARM_STORE]' });
    for (const publish of publishes) assert.equal(publish.services.config.current('capsule.farm.store').url, cluster.url('farm'));
    const run = await guessUntilLockedEverywhere('alice', 5 * maxFailures);
    assert.equal(run.firstLockAfter, maxFailures, 'locked on the last guess and not one before, on every publish at once');
    assert.equal(run.sent, maxFailures);
    for (const [instance, count] of run.answeredBy) assert.ok(count < maxFailures, `${instance} saw ${count} of them: no publish alone reached the count`);
    assert.deepEqual(await failuresOn('alice'), [maxFailures, maxFailures, maxFailures], 'one count, read by all three');
    const rows = await cluster.sql<{ failures: number }>('farm', "SELECT (value->>'failures')::int AS failures FROM capsule_farm_records WHERE space = 'login-failures' AND key = 'alice'");
    assert.deepEqual(rows, [{ failures: maxFailures }], 'kept once, in the farm store');
    await assertRightPasswordRefusedEverywhere('alice', run.wrongAnswer);
  });
});
