import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapsuleError } from '../../../src/errors.js';
import { openPostgresRepository } from '../../../src/repository/index.js';
import { sharedPostgres } from '../../helpers/postgres.js';
import { systemClock } from '../../../src/clock.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('a PostgreSQL connection that the server drops (postgres)', () => {
  const cluster = sharedPostgres();

  // A connection checked out of the pool had no 'error' listener: the server's "terminating
  // connection" (57P01) reached it as an unhandled 'error' event, which ends the process (and this
  // test file). Now the transaction fails with 503's code and the next one runs on a new connection.
  it('fails the transaction that held it with REPOSITORY_UNAVAILABLE, and the next ones work', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const repo = await openPostgresRepository({ url, create: true, clock: systemClock });
    // '' is announced whenever the LISTEN connection is (re)made: bumps meanwhile may be unknown.
    let listening = deferred();
    const afterLoss = deferred();
    repo.onCounterBumped((name) => {
      if (name === '') listening.resolve();
      if (name === 'after-loss') afterLoss.resolve();
    });
    await listening.promise;
    await repo.addNode('/before');

    const entered = deferred();
    const gate = deferred();
    const inFlight = repo.transaction(async (tx) => {
      await tx.addNode('/in-flight');
      entered.resolve();
      await gate.promise; // checked out, between two statements, when the server drops it
      await tx.getNode('/');
    });
    await entered.promise;
    listening = deferred();
    const terminated = await pg.sql<{ pid: number }>(
      'postgres',
      // MATERIALIZED: the planner may otherwise call pg_terminate_backend before it filters.
      `WITH targets AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid())
       SELECT pid FROM targets WHERE pg_terminate_backend(pid)`,
      [database],
    );
    assert.ok(terminated.length >= 2, 'the transaction\'s connection and the LISTEN connection were dropped');
    gate.resolve();
    await assert.rejects(inFlight, (error) => isCapsuleError(error, 'REPOSITORY_UNAVAILABLE') && /PostgreSQL/.test(error.message));

    // The lost connection went out of the pool: every connection the pool gives now works.
    const reads = await Promise.all(Array.from({ length: 12 }, () => repo.getNode('/before')));
    assert.ok(reads.every((node) => node?.path === '/before'));
    assert.equal(await repo.getNode('/in-flight'), null, 'nothing of the dropped transaction was kept');
    await repo.addNode('/after');
    assert.ok(await repo.getNode('/after'));
    // The change channel comes back by itself and announces a bump made after the loss.
    await listening.promise;
    await repo.bumpCounter('after-loss');
    await afterLoss.promise;
    await repo.close();
  });

  it('reports a transaction whose COMMIT PostgreSQL answered with ROLLBACK as failed, not committed', async () => {
    const repo = await openPostgresRepository({ url: await (await cluster()).createDatabase(), create: true, clock: systemClock });
    await assert.rejects(
      repo.transaction(async (tx) => {
        await tx.setCounter('kept', 1);
        // An SQL error that `work` swallows: PostgreSQL has aborted the transaction all the same.
        await tx.setCounter('invalid', 1.5).catch(() => undefined);
      }),
      (error) => isCapsuleError(error, 'INTERNAL') && /rolled back at COMMIT/.test(error.message),
    );
    assert.equal(await repo.readCounter('kept'), 0);
    await repo.close();
  });
});
