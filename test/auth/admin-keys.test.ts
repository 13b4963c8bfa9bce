import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_KEYS_ROOT, createAdminKeyStore } from '../../src/auth/index.js';
import { fixedClock } from '../../src/clock.js';
import { hashOfAdminKey, newAdminKey } from '../../src/crypto/index.js';
import { tempRepository } from '../helpers/services.js';

// The admin API key store on a real SQLite repository, with a fixed clock: what is stored, how a
// key is checked, revoked and expires, and how often its last use is written.

const T0 = Date.UTC(2026, 0, 1);

function store() {
  const repo = tempRepository();
  const clock = fixedClock(T0);
  return { repo, clock, keys: createAdminKeyStore({ repo, clock }) };
}

describe('admin API keys', () => {
  it('a created key is 256 random bits behind its id, stored as its SHA-256 only, and checks', async () => {
    const { repo, keys } = store();
    const { key, info } = await keys.create('alice');
    assert.match(key, /^cap_ak_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key.split('_').slice(3).join('_'), 'base64url').length, 32);
    const node = await repo.getNode(`${ADMIN_KEYS_ROOT}/${info.id}`);
    assert.equal(node?.properties.keyHash, hashOfAdminKey(key));
    assert.ok(!JSON.stringify(node).includes(key.slice(24)), 'the secret is not stored');
    const check = await keys.check(key);
    assert.equal(check.ok, true);
    assert.equal(check.ok && check.key.name, 'alice');
  });

  it('refuses a wrong secret for a known id, an unknown id, and a malformed value', async () => {
    const { keys } = store();
    const { key } = await keys.create('alice');
    const wrongSecret = `${key.slice(0, 24)}${newAdminKey().slice(24)}`;
    assert.deepEqual(await keys.check(wrongSecret), { ok: false, id: key.slice(7, 23), reason: 'wrong secret' });
    const unknown = newAdminKey();
    assert.equal((await keys.check(unknown)).ok, false);
    assert.equal((await keys.check('cap_ak_nope')).ok, false);
  });

  it('a revoked key is refused at once; revoking by name or id; a second revoke finds nothing', async () => {
    const { keys } = store();
    const a = await keys.create('alice');
    const b = await keys.create('bob');
    assert.equal((await keys.revoke('alice'))?.id, a.info.id);
    assert.equal((await keys.revoke(b.info.id))?.name, 'bob');
    assert.equal(await keys.revoke('alice'), null);
    assert.deepEqual(await keys.check(a.key), { ok: false, id: a.info.id, reason: 'no such key (revoked or never made)' });
    assert.equal((await keys.check(b.key)).ok, false);
    assert.deepEqual(await keys.list(), []);
  });

  it('a key expires after its days, exactly', async () => {
    const { clock, keys } = store();
    const { key, info } = await keys.create('alice', { expiresInDays: 1 });
    assert.equal(info.expiresAt?.getTime(), T0 + 86_400_000);
    clock.set(T0 + 86_400_000 - 1);
    assert.equal((await keys.check(key)).ok, true);
    clock.set(T0 + 86_400_000);
    assert.deepEqual(await keys.check(key), { ok: false, id: info.id, reason: 'expired' });
  });

  it('a name is taken once; a bad name or expiry is refused and nothing is stored', async () => {
    const { keys } = store();
    await keys.create('alice');
    await assert.rejects(keys.create('alice'), /named 'alice'.*exists/);
    await assert.rejects(keys.create('no spaces'), /admin key name/);
    await assert.rejects(keys.create('bob', { expiresInDays: 0 }), /whole number of days/);
    assert.deepEqual((await keys.list()).map((key) => key.name), ['alice']);
  });

  it('records the last use at most once a minute, not on every check', async () => {
    const { clock, keys } = store();
    const { key } = await keys.create('alice');
    const lastUsed = async () => (await keys.list())[0]?.lastUsedAt?.getTime() ?? null;
    assert.equal(await lastUsed(), null);
    await keys.check(key);
    assert.equal(await lastUsed(), T0);
    clock.set(T0 + 59_999);
    await keys.check(key);
    assert.equal(await lastUsed(), T0, 'not written again within the minute');
    clock.set(T0 + 60_000);
    await keys.check(key);
    assert.equal(await lastUsed(), T0 + 60_000);
  });

  it('installing the same key twice (a shared repository, a repeated farm command) is one key', async () => {
    const { keys } = store();
    const key = newAdminKey();
    const record = { id: key.slice(7, 23), name: 'ops', keyHash: hashOfAdminKey(key), expiresAt: null };
    await keys.install(record);
    await keys.install(record);
    assert.equal((await keys.list()).length, 1);
    assert.equal((await keys.check(key)).ok, true);
    await assert.rejects(keys.install({ ...record, keyHash: hashOfAdminKey(newAdminKey()) }), /exists/);
  });
});
