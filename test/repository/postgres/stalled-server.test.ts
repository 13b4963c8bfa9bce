import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapsuleError } from '../../../src/errors.js';
import { openPostgresRepository } from '../../../src/repository/index.js';
import { postgresOfItsOwn } from '../../helpers/postgres.js';
import { systemClock } from '../../../src/clock.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('a PostgreSQL server that stops answering (postgres)', () => {
  const cluster = postgresOfItsOwn();

  // Nothing bounded a statement: a backend (or the network to it) that stopped answering held the
  // transaction, and the request waiting for it, forever (this test then ran into its own timeout).
  it('fails the statement after the URL\'s query_timeout with REPOSITORY_UNAVAILABLE, and works again once the server answers', { timeout: 120_000 }, async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const repo = await openPostgresRepository({ url: `${url}?query_timeout=1`, create: true, applicationName: 'stalled-test', clock: systemClock });
    const entered = deferred();
    const gate = deferred();
    const inFlight = repo.transaction(async (tx) => {
      await tx.addNode('/in-flight');
      entered.resolve();
      await gate.promise;
      await tx.getNode('/'); // sent to a backend that does not answer
    });
    await entered.promise;
    const [backend] = await pg.sql<{ pid: number }>(
      'postgres',
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'stalled-test' AND state LIKE 'idle in transaction%'",
      [database],
    );
    assert.ok(backend, 'the transaction\'s backend');
    process.kill(backend.pid, 'SIGSTOP');
    try {
      gate.resolve();
      await assert.rejects(inFlight, (error) => isCapsuleError(error, 'REPOSITORY_UNAVAILABLE') && /did not answer a statement in time/.test(error.message));
    } finally {
      process.kill(backend.pid, 'SIGCONT');
    }
    // The stalled connection was given up, not pooled: the next calls run on working ones.
    const reads = await Promise.all(Array.from({ length: 12 }, () => repo.getNode('/')));
    assert.ok(reads.every((node) => node?.path === '/'));
    assert.equal(await repo.getNode('/in-flight'), null, 'nothing of the stalled transaction was kept');
    await repo.addNode('/after');
    assert.ok(await repo.getNode('/after'));
    await repo.close();
  });

  it('refuses a query_timeout that is not a number of seconds', async () => {
    const url = await (await cluster()).createDatabase();
    await assert.rejects(openPostgresRepository({ url: `${url}?query_timeout=soon`, create: true, clock: systemClock }), (error) => isCapsuleError(error, 'INVALID_ARGUMENT') && /query_timeout=soon/.test(error.message));
  });
});
