import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { fixedClock } from '../../src/clock.js';
import { generateKey, KEYS_COUNTER } from '../../src/crypto/index.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { LOCK_NAMESPACE } from '../../src/repository/postgres/schema.js';
import { login, withToken } from '../helpers/http.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// Two instances on one database. Polling is turned off (once an hour) and the clocks stand
// still (cached users never expire), so what one instance changes reaches the other only
// through the repository's notifications.
const NO_POLLING = 3_600_000;

async function eventually(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`${what} was not seen by the other instance`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function sessionOf(url: string, token: string): Promise<{ status: number; groups: string[] }> {
  const response = await fetch(`${url}/api/session`, withToken(token));
  const body = response.status === 200 ? ((await response.json()) as { groups: string[] }) : { groups: [] };
  return { status: response.status, groups: body.groups };
}

describe('two instances on one PostgreSQL repository', () => {
  const cluster = sharedPostgres();
  let a: RunningInstance;
  let b: RunningInstance;
  let url: string;

  before(async () => {
    const postgres = await cluster();
    url = await postgres.createDatabase();
    const start = (home: string) =>
      startInstance({
        home,
        port: 0,
        hasher: fastHasher,
        env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
        repositoryUrl: url,
        keyStorage: 'repository',
        changePollMs: NO_POLLING,
        clock: fixedClock(Date.now()),
      });
    a = await start(join(tempDir(), 'author-1'));
    b = await start(join(tempDir(), 'author-2'));
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('sees users, groups and a disabled account changed through the other', async () => {
    await a.services.users.createUser('bob', { password: 'bob-pw-correct-horse' });
    const token = await login(b.url, 'bob', 'bob-pw-correct-horse');
    assert.deepEqual(await sessionOf(b.url, token), { status: 200, groups: [] }); // now cached on b
    await a.services.users.createGroup('editors');
    await a.services.users.addMember('editors', 'bob');
    await eventually('a new group membership', async () => (await sessionOf(b.url, token)).groups.includes('editors'));
    await a.services.users.setDisabled('bob', true);
    await eventually('a disabled user', async () => (await sessionOf(b.url, token)).status === 401);
  });

  it('sees configuration, keys and token generations changed through the other', async () => {
    await a.services.config.update('capsule.auth.token', { 'token.encapsulated': true, 'token.expiration': 7_200_000 });
    await eventually('a configuration change', () => b.services.config.current('capsule.auth.token')['token.expiration'] === 7_200_000);

    await a.services.users.createUser('carol', { password: 'carol-pw-correct-horse' });
    const token = await login(b.url, 'carol', 'carol-pw-correct-horse');
    assert.match(token, /^ey/, 'an encapsulated token');
    assert.equal((await sessionOf(b.url, token)).status, 200);
    await a.tokens.logoutEverywhere('carol');
    await eventually('a raised token generation', async () => (await sessionOf(b.url, token)).status === 401);

    const before = b.services.crypto.keyIds().hmac;
    await a.services.repo.transaction(async (tx) => {
      await tx.setProperties('/etc/key', { master: generateKey(), hmac: generateKey() });
      await tx.bumpCounter(KEYS_COUNTER);
    });
    await eventually('new keys in /etc/key', () => b.services.crypto.keyIds().hmac !== before);
    // a hears of its own change the same way (the notification goes to every listener)
    await eventually('new keys on the instance that wrote them', () => a.services.crypto.keyIds().hmac === b.services.crypto.keyIds().hmac);
  });

  it('runs the expired-token cleanup on one instance at a time', async () => {
    const postgres = await cluster();
    // Another instance holds the job's lock: neither of these may run the job meanwhile.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_NAMESPACE, 'expired-token-cleanup']);
    assert.equal(await a.services.repo.runExclusive('expired-token-cleanup', async () => assert.fail('ran beside the holder')), false);
    assert.equal(await b.services.repo.runExclusive('expired-token-cleanup', async () => assert.fail('ran beside the holder')), false);
    await holder.end(); // the session ends: its lock goes with it
    assert.equal(await b.services.repo.runExclusive('expired-token-cleanup', async () => undefined), true);
    assert.ok(postgres.pid());
  });
});
