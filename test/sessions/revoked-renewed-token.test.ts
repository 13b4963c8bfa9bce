import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { openSqliteRepository } from '../../src/repository/index.js';
import { createRepositorySessionStore, createSessionRegistry, type SessionStore } from '../../src/sessions/index.js';
import { capturedLogger } from '../helpers/logs.js';
import { tempDir } from '../helpers/temp.js';

/**
 * A token renewed (its `exp` pushed back, the same `sid`) stays refused once its session is
 * revoked, for as long as the renewed token lives, even when the renewal's write (`extended`,
 * fire-and-forget) reaches the store after the end or never: an end holds its id for the token
 * lifetime past the end (plus a margin), not only until the record's end.
 */
const HOUR = 3_600_000;
const closing: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
});

function setUp(wrap: (store: SessionStore) => SessionStore) {
  const clock = fixedClock(1_700_000_000_000);
  const repo = openSqliteRepository({ file: join(tempDir(), 'repository.sqlite'), create: true, clock });
  closing.push(() => repo.close());
  const registry = createSessionRegistry({
    store: wrap(createRepositorySessionStore({ repo, clock })),
    clock,
    settings: () => ({ maxPerUser: 0, lastSeenIntervalMs: 300_000 }),
    failurePolicy: () => 'open',
    member: () => 'publish-1',
    audit: capturedLogger().logger,
    logger: capturedLogger().logger,
  });
  closing.push(() => registry.close());
  return { clock, registry };
}

describe('a renewed token outlives the revoked-set entry of its session', () => {
  it('race: the renewal is told to the store after the revoke ended the session', async () => {
    let releaseExtend: () => void = () => undefined;
    const extendHeld = new Promise<void>((resolve) => (releaseExtend = resolve));
    let extendDone: Promise<void> = Promise.resolve();
    const { clock, registry } = setUp((store) => ({
      ...store,
      // The renewal's write is slower than the revoke (a start barrier: it runs once the revoke is done).
      extend: (id, expiresAtMs) => (extendDone = extendHeld.then(() => store.extend(id, expiresAtMs))),
    }));
    await registry.synced();
    const firstExpiry = clock.now() + 12 * HOUR;
    const sid = await registry.start({ id: 'alice', generation: 0 }, { method: 'password', clientAddress: '192.0.2.1', userAgent: 'x' }, firstExpiry);

    // Past half its life a request renews the token: the renewed token lives until renewedExpiry.
    clock.advance(7 * HOUR);
    const renewedExpiry = clock.now() + 12 * HOUR;
    registry.extended!(sid, renewedExpiry);
    // Meanwhile the user revokes the session (from another device).
    assert.ok(await registry.revoke('alice', sid, 'alice'));
    releaseExtend();
    await extendDone;
    assert.equal(registry.isRevoked(sid), true);

    // After the first token's expiry, before the renewed token's: the renewed token must still be refused.
    clock.set(firstExpiry + 1000);
    assert.ok(clock.now() < renewedExpiry);
    assert.equal(registry.isRevoked(sid), true, 'the renewed token (exp later) is accepted again once the old expiry passed');
  });

  it('the renewal could not be written (store busy/away): a later revoke still covers the renewed token', async () => {
    let failing = true;
    const { clock, registry } = setUp((store) => ({
      ...store,
      extend: (id, expiresAtMs) => (failing ? Promise.reject(new Error('store away')) : store.extend(id, expiresAtMs)),
    }));
    await registry.synced();
    const firstExpiry = clock.now() + 12 * HOUR;
    const sid = await registry.start({ id: 'alice', generation: 0 }, { method: 'password', clientAddress: '192.0.2.1', userAgent: 'x' }, firstExpiry);
    clock.advance(7 * HOUR);
    const renewedExpiry = clock.now() + 12 * HOUR;
    registry.extended!(sid, renewedExpiry); // the token is renewed anyway (encapsulated-kind.ts), the write fails
    failing = false;
    assert.ok(await registry.revoke('alice', sid, 'alice'));
    clock.set(firstExpiry + 1000);
    assert.ok(clock.now() < renewedExpiry);
    assert.equal(registry.isRevoked(sid), true, 'the renewed token is accepted again after the old expiry');
  });
});
