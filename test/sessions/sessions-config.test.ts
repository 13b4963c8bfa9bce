import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createConfigAdmin } from '../../src/config/index.js';
import { createCryptoSupport, generateKey } from '../../src/crypto/index.js';
import { isCapsuleError } from '../../src/errors.js';
import { FARM_STORE_PID, farmStoreComponent } from '../../src/farm-store/index.js';
import { COMPONENTS } from '../../src/instance/components.js';
import { openSessionStore, SESSIONS_PID, sessionsComponent, sessionsSettings } from '../../src/sessions/index.js';
import { tempRepository } from '../helpers/services.js';

async function configured() {
  const crypto = createCryptoSupport({
    load: async () => ({ storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [] }),
  });
  await crypto.refresh();
  const repo = tempRepository();
  const config = createConfigAdmin({ repo, protector: crypto });
  config.register(sessionsComponent);
  config.register(farmStoreComponent);
  await config.load();
  return { config, crypto, repo };
}

describe('sessions settings (capsule.auth.sessions)', () => {
  it('is one of the instance\'s components; at most 100 sessions per user and a 5-minute last-seen interval by default', async () => {
    assert.ok(COMPONENTS.includes(sessionsComponent));
    const { config } = await configured();
    assert.deepEqual(sessionsSettings(config.current(SESSIONS_PID)), { maxPerUser: 100, lastSeenIntervalMs: 300_000 });
    assert.deepEqual(sessionsSettings({}), { maxPerUser: 100, lastSeenIntervalMs: 300_000 }, 'defaults without the component registered');
    await config.update(SESSIONS_PID, { 'session.max.per.user': 5, 'lastseen.interval': 60 });
    assert.deepEqual(sessionsSettings(config.current(SESSIONS_PID)), { maxPerUser: 5, lastSeenIntervalMs: 60_000 });
  });

  it('refuses a negative limit and an interval of 0, changing nothing', async () => {
    const { config } = await configured();
    const refused: Record<string, number>[] = [{ 'session.max.per.user': -1 }, { 'lastseen.interval': 0 }];
    for (const values of refused) {
      await assert.rejects(config.update(SESSIONS_PID, values), (error) => isCapsuleError(error, 'INVALID_CONFIG'));
    }
    assert.equal(config.stored(SESSIONS_PID), null);
  });
});

describe('the session store an instance opens', () => {
  it('is the repository without a farm store URL, and the farm store\'s PostgreSQL database with one', async () => {
    const { config, crypto, repo } = await configured();
    const local = openSessionStore({ config, crypto, repo, clock: systemClock });
    assert.equal(local.backend, 'repository');
    await config.update(FARM_STORE_PID, { url: 'postgres://farm@db.example:5432/capsule', password: 'farm-store-pw' });
    const shared = openSessionStore({ config, crypto, repo, clock: systemClock });
    assert.equal(shared.backend, 'postgres');
    assert.match(shared.location, /db\.example/);
    assert.doesNotMatch(shared.location, /farm-store-pw/);
    await shared.close(); // never connected: nothing to reach
  });
});
