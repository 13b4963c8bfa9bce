import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg_ from 'pg';
import { isCapsuleError } from '../../../src/errors.js';
import { openPostgresRepository } from '../../../src/repository/index.js';
import { sharedPostgres } from '../../helpers/postgres.js';
import { systemClock } from '../../../src/clock.js';

// These errors escaped as raw driver errors (no code of Capsule's): a token check took them for a
// verdict on the token and made the request anonymous. They say "not now", as a lost connection does.
describe('PostgreSQL there but unable to serve (postgres)', () => {
  const cluster = sharedPostgres();

  it('a lock not granted within lock_timeout (55P03) is REPOSITORY_UNAVAILABLE, for a read and in a transaction', async (t) => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    await (await openPostgresRepository({ url, create: true, clock: systemClock })).close();
    await pg.sql('postgres', `ALTER DATABASE ${database} SET lock_timeout = '100ms'`);
    const repo = await openPostgresRepository({ url, clock: systemClock });
    t.after(() => repo.close());
    const holder = new pg_.Client({ connectionString: url });
    await holder.connect();
    t.after(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE capsule_nodes IN ACCESS EXCLUSIVE MODE');
    const unavailable = (error: unknown) => isCapsuleError(error, 'REPOSITORY_UNAVAILABLE') && /lock timeout/.test(error.message);
    await assert.rejects(repo.getNode('/'), unavailable);
    await assert.rejects(repo.addNode('/blocked'), unavailable);
    await holder.query('ROLLBACK');
    assert.equal((await repo.getNode('/'))?.path, '/');
  });

  it('a read-only database (a standby, default_transaction_read_only) fails a write with REPOSITORY_UNAVAILABLE; reads work', async (t) => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    await (await openPostgresRepository({ url, create: true, clock: systemClock })).close();
    await pg.sql('postgres', `ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    const repo = await openPostgresRepository({ url, clock: systemClock });
    t.after(() => repo.close());
    await assert.rejects(repo.addNode('/refused'), (error) => isCapsuleError(error, 'REPOSITORY_UNAVAILABLE') && /the server is read-only/.test(error.message));
    assert.equal((await repo.getNode('/'))?.path, '/');
  });

  it('a statement cancelled by pg_cancel_backend (57014) is REPOSITORY_UNAVAILABLE', async (t) => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const repo = await openPostgresRepository({ url, create: true, clock: systemClock });
    t.after(() => repo.close());
    const holder = new pg_.Client({ connectionString: url });
    await holder.connect();
    t.after(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE capsule_nodes IN ACCESS EXCLUSIVE MODE');
    const read = repo.getNode('/waits').then(() => 'answered', (error: unknown) => error); // handled at once: it fails while the test looks
    for (let cancelled = 0, look = 0, deadline = Date.now() + 30_000; cancelled === 0; look++) {
      assert.ok(Date.now() < deadline, 'the read waited for the lock');
      if (look > 0) await new Promise((resolve) => setImmediate(resolve));
      cancelled = (
        await pg.sql('postgres', "WITH targets AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock') SELECT pid FROM targets WHERE pg_cancel_backend(pid)", [database])
      ).length;
    }
    const error = await read;
    assert.ok(isCapsuleError(error, 'REPOSITORY_UNAVAILABLE') && /canceling statement/.test(error.message), String(error));
    await holder.query('ROLLBACK');
    assert.equal(await repo.getNode('/waits'), null);
  });
});
