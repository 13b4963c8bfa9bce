import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fixedClock, systemClock } from '../../src/clock.js';
import { sessionsCheck } from '../../src/health/index.js';
import { createPostgresSessionStore, createSessionRegistry, type SessionRegistry } from '../../src/sessions/index.js';
import { capturedLogger } from '../helpers/logs.js';
import { postgresOfItsOwn } from '../helpers/postgres.js';
import { awaitAlive } from '../helpers/await-alive.js';

const closing: SessionRegistry[] = [];
after(async () => {
  for (const registry of closing) await registry.close().catch(() => undefined);
});
// Stopped after the registries above are closed (hooks run in the order they were added).
const cluster = postgresOfItsOwn();

/** The feed's changes as a test awaits them: `next(state)` resolves at the next change to that state. */
function feedChanges(): { onFeedChange: (connected: boolean) => void; next(connected: boolean): Promise<void> } {
  const waiting: { connected: boolean; resolve: () => void }[] = [];
  return {
    onFeedChange(connected) {
      for (const waiter of [...waiting]) {
        if (waiter.connected !== connected) continue;
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    next: (connected) => awaitAlive(new Promise<void>((resolve) => waiting.push({ connected, resolve }))),
  };
}

describe('health: sessions (the revocation feed)', () => {
  it('OK while heard; WARN once PostgreSQL is gone, still refusing what it knew; CRITICAL when lost long; OK again once back', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const feed = feedChanges();
    const up = feed.next(true);
    const log = capturedLogger();
    const registry = createSessionRegistry({
      store: createPostgresSessionStore({ url, clock: systemClock, connectTimeoutMs: 1000, reconnect: { initialMs: 50, maxMs: 200 } }),
      clock: systemClock,
      settings: () => ({ maxPerUser: 0, lastSeenIntervalMs: 300_000 }),
      failurePolicy: () => 'open',
      member: () => 'publish-1',
      audit: log.logger,
      logger: log.logger,
      onFeedChange: feed.onFeedChange,
    });
    closing.push(registry);
    await up;
    const checkClock = fixedClock(0);
    const check = sessionsCheck(registry, { clock: checkClock, criticalAfterMs: 60_000 });
    const sid = await registry.start({ id: 'alice', generation: 0 }, { method: 'password', clientAddress: '192.0.2.1', userAgent: '' }, Date.now() + 3_600_000);
    await registry.revoke('alice', sid, 'alice');

    const ok = await check.run();
    assert.equal(ok.status, 'ok');
    assert.match(ok.message, /revocations are heard from PostgreSQL at .*; 1 revoked sessions refused/);

    const down = feed.next(false);
    await pg.stop();
    await down;
    assert.equal(registry.isRevoked(sid), true, 'what it knew is still refused');
    const state = registry.feedState();
    assert.equal(state.connected, false);
    checkClock.set(state.lostSinceMs!);
    const warn = await check.run();
    assert.equal(warn.status, 'warn');
    assert.match(warn.message, new RegExp(`revocations made elsewhere since ${new Date(state.lostSinceMs!).toISOString()} are not heard .*; 1 revoked sessions still refused`));
    assert.doesNotMatch(warn.message, /pg-test-secret/);
    checkClock.advance(60_000);
    assert.equal((await check.run()).status, 'critical');

    const back = feed.next(true);
    await pg.start();
    await back;
    assert.equal((await check.run()).status, 'ok');
    assert.equal(registry.isRevoked(sid), true);
  });

  it('CRITICAL at once while every session is refused because the ended ones were never read (failure.policy=closed)', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const registry = {
      feedState: () => ({ connected: false, held: 0, lostSinceMs: clock.now(), reason: 'connection refused; the sessions ended before this start were never read', refusingAll: true, backend: 'postgres' as const, location: 'host db, port 5432, database farm' }),
    };
    const result = await sessionsCheck(registry, { clock }).run();
    assert.equal(result.status, 'critical');
    assert.match(result.message, /every token naming a session is refused \(failure\.policy=closed\)/);
  });
});
