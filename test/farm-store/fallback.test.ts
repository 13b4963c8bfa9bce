import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { createFallbackFarmStore, createMemoryFarmStore, createPostgresFarmStore, RETRY_AFTER_FAILURE_MS, type FailurePolicy } from '../../src/farm-store/index.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';

// A server that waits for its commits (the test clusters do not by default): what a SIGKILL must not lose.
let started: Promise<PostgresCluster> | undefined;
const cluster = () => (started ??= startPostgres({ settings: ['synchronous_commit=on'] }));
after(async () => (await started)?.stop());
const increment = (current: { value: Record<string, unknown> } | null, nowMs: number) => ({ value: { count: Number(current?.value.count ?? 0) + 1 }, expiresAtMs: nowMs + 600_000 });

describe('farm store fallback while the store is away', () => {
  it('open: counts in memory while PostgreSQL is killed, then uses the store again once it is back, without a restart', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const clock = fixedClock(Date.now());
    let policy: FailurePolicy = 'open';
    const changes: string[] = [];
    const store = createFallbackFarmStore({
      primary: createPostgresFarmStore({ url, clock, connectTimeoutMs: 1000 }),
      fallback: createMemoryFarmStore({ clock }),
      policy: () => policy,
      clock,
      onDown: (state) => changes.push(`down ${state.policy}`),
      onUp: () => changes.push('up'),
    });
    try {
      await store.update('counts', 'alice', increment);
      assert.equal(store.state().reachable, true);

      await pg.kill();
      const during = await store.update('counts', 'alice', increment);
      assert.deepEqual(during.after?.value, { count: 1 }, 'counted in memory, from nothing');
      assert.equal(store.state().reachable, false);
      assert.equal(store.state().policy, 'open');
      assert.match(store.state().reason ?? '', /farm store on PostgreSQL/);
      assert.deepEqual(changes, ['down open']);

      policy = 'closed';
      await assert.rejects(store.update('counts', 'alice', increment), { code: 'FARM_STORE_UNAVAILABLE' });
      clock.advance(RETRY_AFTER_FAILURE_MS);
      await assert.rejects(store.update('counts', 'alice', increment), { code: 'FARM_STORE_UNAVAILABLE' });

      await pg.start();
      clock.advance(RETRY_AFTER_FAILURE_MS);
      const after = await store.update('counts', 'alice', increment);
      assert.deepEqual(after.after?.value, { count: 2 }, "the store's own count, kept through the crash");
      assert.equal(store.state().reachable, true);
      assert.deepEqual(changes, ['down open', 'up']);
    } finally {
      await store.close();
    }
  });

  it('memory: a flood of new keys gives up retained records (lockouts) last', async () => {
    const clock = fixedClock(0);
    const memory = createMemoryFarmStore({ clock, maxRecords: 100, retain: (space, record) => space === 'counts' && record.value.locked === true });
    await memory.update('counts', 'alice', () => ({ value: { locked: true }, expiresAtMs: 600_000 }));
    for (let i = 0; i < 1000; i++) await memory.update('counts', `flood-${i}`, increment);
    assert.deepEqual((await memory.get('counts', 'alice'))?.value, { locked: true }, 'alice is still locked');
    assert.equal(await memory.get('counts', 'flood-0'), null, 'the oldest of the flood went');
    assert.notEqual(await memory.get('counts', 'flood-999'), null);
  });

  it('memory: holds at most its bound, dropping the least recently written record first', async () => {
    const clock = fixedClock(0);
    const memory = createMemoryFarmStore({ clock, maxRecords: 3 });
    await memory.update('counts', 'locked', increment);
    for (const name of ['a', 'b']) await memory.update('counts', name, increment);
    await memory.update('counts', 'locked', increment); // written again: now the most recent
    await memory.update('counts', 'c', increment);
    assert.equal(await memory.get('counts', 'a'), null);
    assert.deepEqual((await memory.get('counts', 'locked'))?.value, { count: 2 });
  });
});
