import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { capturedLogger } from '../helpers/logs.js';
import { fastHasher } from '../helpers/services.js';
import type { PasswordHasher } from '../../src/users/index.js';
import { tempDir } from '../helpers/temp.js';

const START = Date.parse('2026-12-07T10:00:00Z');

/** The hashes each verify was given, in order: which account's stored hash a login looked at. */
const verifiedHashes: string[] = [];
const watchingHasher: PasswordHasher = {
  hash: (password) => fastHasher.hash(password),
  verify: (hash, password) => {
    verifiedHashes.push(hash);
    return fastHasher.verify(hash, password);
  },
};

async function started(home = join(tempDir(), 'home'), clock = fixedClock(START)) {
  const { logger, lines } = capturedLogger('info');
  const instance = await startInstance({ home, port: 0, hasher: watchingHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' }, clock, logger, name: 'publish-1' });
  if (!(await instance.services.users.getUser('alice'))) await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
  return { instance, clock, home, lines };
}

/** One login over HTTP: status and body text (the whole answer a client sees). */
async function attempt(instance: RunningInstance, user: string, password: string, as: 'form' | 'json' = 'json') {
  const body = as === 'json' ? JSON.stringify({ j_username: user, j_password: password }) : new URLSearchParams({ j_username: user, j_password: password });
  const headers: Record<string, string> = { 'content-type': as === 'json' ? 'application/json' : 'application/x-www-form-urlencoded' };
  const response = await fetch(`${instance.url}/j_security_check`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text.replace(/"requestId":"[^"]*"/, '"requestId":"…"') };
}

/** Failures far enough apart that Keycloak's quick-login check does not apply (it is tested apart). */
async function failSlowly(instance: RunningInstance, clock: ReturnType<typeof fixedClock>, user: string, times: number, as: 'form' | 'json' = 'json') {
  for (let i = 0; i < times; i++) {
    clock.advance(2000);
    assert.equal((await attempt(instance, user, `guess-${i}`, as)).status, 401);
  }
}

const auditLines = (lines: string[], event: string) => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === event);

describe('brute force detection (Keycloak model) on the form and JSON logins', () => {
  it('locks after maxFailures (10): the right password is answered as a wrong one until waitIncrementSeconds passed, then works and resets', async () => {
    const { instance, clock, lines } = await started();
    try {
      await failSlowly(instance, clock, 'alice', 5, 'form');
      await failSlowly(instance, clock, 'alice', 4, 'json');
      clock.advance(2000);
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 200, 'nine failures do not lock; a success forgets them');
      await failSlowly(instance, clock, 'alice', 10);

      const wrong = await attempt(instance, 'nobody', 'guess');
      const locked = await attempt(instance, 'alice', 'alice-pw-correct-horse');
      assert.deepEqual(locked, wrong, 'a locked account gets the answer of a wrong password: status and body');
      assert.equal(locked.status, 401);
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse', 'form')).status, 401, 'the form login is locked too');

      clock.advance(59_000);
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 401, 'still within the 60 s wait');
      clock.advance(2000);
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 200, 'the wait passed');
      await failSlowly(instance, clock, 'alice', 9);
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 200, 'the success reset the count: nine new failures do not lock');

      const [lockout] = auditLines(lines, 'account-locked');
      assert.equal(lockout?.lockout, 'temporary');
      assert.equal(lockout?.userId, 'alice');
      assert.equal(lockout?.clientAddress, '127.0.0.1');
      assert.equal(lockout?.member, 'publish-1');
      assert.equal(lockout?.failures, 10);
      const failures = auditLines(lines, 'login').filter((line) => line.outcome === 'failure' && line.userId === 'alice');
      assert.ok(failures.every((line) => line.member === 'publish-1' && line.clientAddress === '127.0.0.1'));
      assert.equal(auditLines(lines, 'login').filter((line) => line.outcome === 'locked').length, 3);
    } finally {
      await instance.stop();
    }
  });

  it('a locked account is never checked: its right password takes a wrong one\'s path (no success, no reset)', async () => {
    const { instance, clock } = await started();
    try {
      await failSlowly(instance, clock, 'alice', 10);
      const aliceHash = (await instance.services.repo.findByProperty('userId', 'alice', 'capsule:User'))[0]?.properties.passwordHash;
      assert.equal(typeof aliceHash, 'string');
      assert.ok(verifiedHashes.includes(aliceHash as string), 'her failures were checked against her hash');
      verifiedHashes.length = 0;
      for (let i = 0; i < 3; i++) assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 401);
      assert.equal(verifiedHashes.length, 3, 'each refusal took the time of a check…');
      assert.ok(!verifiedHashes.includes(aliceHash as string), '…against no hash of hers: the password was never checked');
      const status = await instance.bruteForce.status('alice');
      assert.equal(status?.failures, 10, 'refusals while locked are not counted, and the right password reset nothing');
    } finally {
      await instance.stop();
    }
  });

  it('an unknown name is counted and locked like an account: nothing tells them apart', async () => {
    const { instance, clock } = await started();
    try {
      await failSlowly(instance, clock, 'ghost', 10);
      assert.ok((await instance.bruteForce.status('ghost'))!.lockedUntilMs > clock.now());
    } finally {
      await instance.stop();
    }
  });

  it('two failures closer than quickLoginCheckMilliSeconds lock for minimumQuickLoginWaitSeconds', async () => {
    const { instance, clock } = await started();
    try {
      clock.advance(2000);
      assert.equal((await attempt(instance, 'alice', 'wrong-1')).status, 401);
      clock.advance(500);
      assert.equal((await attempt(instance, 'alice', 'wrong-2')).status, 401);
      clock.advance(59_000);
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 401, 'locked for 60 s after two failures 500 ms apart');
      clock.advance(1000);
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 200);
    } finally {
      await instance.stop();
    }
  });

  it('permanentLockout: locked until an unlock, whatever the time; unlock clears it and is audited', async () => {
    const { instance, clock, lines } = await started();
    try {
      await instance.services.config.update('capsule.auth.bruteforce', { permanentLockout: true, maxTemporaryLockouts: 1, maxFailures: 3 });
      await failSlowly(instance, clock, 'alice', 3);
      clock.advance(61_000);
      await failSlowly(instance, clock, 'alice', 1); // the second lockout: more than maxTemporaryLockouts
      clock.advance(86_400_000);
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 401, 'a day later, still locked');
      assert.equal((await instance.bruteForce.status('alice'))?.permanent, true);
      assert.deepEqual(auditLines(lines, 'account-locked').map((line) => line.lockout), ['temporary', 'permanent']);
      assert.equal(await instance.bruteForce.unlock('alice', 'admin'), true);
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 200);
      const [unlock] = auditLines(lines, 'account-unlocked');
      assert.equal(unlock?.userId, 'alice');
      assert.equal(unlock?.by, 'admin');
      assert.equal(unlock?.member, 'publish-1');
    } finally {
      await instance.stop();
    }
  });

  it('a restart keeps the count: the repository holds it', async () => {
    const first = await started();
    await failSlowly(first.instance, first.clock, 'alice', 9);
    await first.instance.stop();
    const second = await started(first.home, first.clock);
    try {
      await failSlowly(second.instance, second.clock, 'alice', 1);
      assert.equal((await attempt(second.instance, 'alice', 'alice-pw-correct-horse')).status, 401, 'the tenth failure, after the restart, locks');
    } finally {
      await second.instance.stop();
    }
  });

  it('a flood of distinct names does not unlock anyone', async () => {
    const { instance, clock } = await started();
    try {
      await failSlowly(instance, clock, 'alice', 10);
      // From many addresses, so that the per-address limit lets the flood through to the count.
      for (let i = 0; i < 3000; i++) {
        const checked = await instance.tokens.checkPassword(`flood-${i}`, 'guess', `10.1.${i >> 8}.${i & 255}`);
        assert.equal(checked.ok, false);
      }
      assert.equal((await attempt(instance, 'alice', 'alice-pw-correct-horse')).status, 401, 'alice is still locked');
      assert.equal((await instance.bruteForce.status('flood-2999'))?.failures, 1, 'and every name of the flood was counted');
    } finally {
      await instance.stop();
    }
  });
});
