import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createPostgresSessionStore, createSessionRegistry, type LiveSessionRegistry } from '../../src/sessions/index.js';
import { capturedLogger } from '../helpers/logs.js';
import { postgresInstalled, sharedPostgres } from '../helpers/postgres.js';

/**
 * session.max.per.user=3 and 30 sign-ins of one user at once, spread over two members sharing the
 * PostgreSQL store (a start barrier: all begin together). At most 3 stay active, every member
 * refuses the others, and no sign-in ended its own session.
 */
const registries: LiveSessionRegistry[] = [];
after(async () => {
  for (const registry of registries) await registry.close().catch(() => undefined);
});
const cluster = sharedPostgres();

describe('the per-user limit under parallel sign-ins on two members', { skip: !postgresInstalled }, () => {
  it('at most the limit stay active, and the others are refused on both members', async () => {
    const url = await (await cluster()).createDatabase();
    const member = (name: string) => {
      const registry = createSessionRegistry({
        store: createPostgresSessionStore({ url, clock: systemClock }),
        clock: systemClock,
        settings: () => ({ maxPerUser: 3, lastSeenIntervalMs: 300_000 }),
        failurePolicy: () => 'closed',
        member: () => name,
        audit: capturedLogger().logger,
        logger: capturedLogger().logger,
      });
      registries.push(registry);
      return registry;
    };
    const [a, b] = [member('publish-1'), member('publish-2')];
    await Promise.all([a.synced(), b.synced()]);
    let go: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => (go = resolve));
    const starts = Array.from({ length: 30 }, (_, i) =>
      barrier.then(() => (i % 2 === 0 ? a : b).start({ id: 'alice', generation: 0 }, { method: 'password', clientAddress: '192.0.2.1', userAgent: 'x' }, Date.now() + 3_600_000)),
    );
    go();
    const ids = await Promise.all(starts);
    const active = (await a.list('alice', null)).filter((view) => view.state === 'active').map((view) => view.id);
    assert.equal(active.length, 3, `${active.length} active`);
    // The ends reach the other member by the push: wait for them with a bounded poll (no event to await here).
    for (let i = 0; i < 100 && ids.filter((id) => !active.includes(id)).some((id) => !a.isRevoked(id) || !b.isRevoked(id)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const id of ids) {
      const expected = !active.includes(id);
      assert.equal(a.isRevoked(id), expected, `publish-1 on ${id}`);
      assert.equal(b.isRevoked(id), expected, `publish-2 on ${id}`);
    }
  });
});
