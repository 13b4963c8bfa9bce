import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg_ from 'pg';
import { fixedClock, systemClock } from '../../src/clock.js';
import { migrateKeys, KEY_NODE } from '../../src/crypto/index.js';
import { openServices, startInstance, type RunningInstance } from '../../src/instance/index.js';
import { login, withToken } from '../helpers/http.js';
import { sharedPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { capturedLogger } from '../helpers/logs.js';

const EXPIRATION_MS = 43_200_000; // the default token lifetime

async function session(instance: RunningInstance, token: string): Promise<{ status: number; code?: string; renewed: boolean }> {
  const response = await fetch(`${instance.url}/api/session`, withToken(token));
  const body = (await response.json().catch(() => ({}))) as { code?: string; error?: { code?: string } };
  return { status: response.status, code: body.code ?? body.error?.code, renewed: response.headers.get('set-cookie') !== null };
}

/** An instance in this process on a new database of the shared cluster, with a clock the test moves. */
async function instanceOnPostgres(pg: PostgresCluster) {
  const database = (await pg.createDatabase()).split('/').pop()!;
  const clock = fixedClock(Date.now());
  const { logger, lines } = capturedLogger('info');
  const instance = await startInstance({
    home: join(tempDir(), 'author'),
    port: 0,
    hasher: fastHasher,
    logger,
    clock,
    repositoryUrl: pg.url(database),
    env: { CAPSULE_ADMIN_PASSWORD: 'admin-password', ...pg.env },
  });
  return { instance, database, clock, lines };
}

/** Ends the instance's connections, so that its next ones get the database's new settings. */
async function reconnect(pg: PostgresCluster, database: string): Promise<void> {
  await pg.sql(
    'postgres',
    `WITH targets AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid())
     SELECT pid FROM targets WHERE pg_terminate_backend(pid)`,
    [database],
  );
}

/**
 * Asks until `wanted` answers (a pooled connection the server just ended may fail a read, 503, or
 * a refresh), and returns that answer; never more than `tries` times. No answer may be anonymous.
 */
async function askUntil(instance: RunningInstance, token: string, wanted: (answer: Awaited<ReturnType<typeof session>>) => boolean, tries = 20) {
  for (let attempt = 1; ; attempt++) {
    const answer = await session(instance, token);
    assert.ok(answer.status === 200 || answer.status === 503, `a valid token is never anonymous (got ${answer.status})`);
    if (wanted(answer) || attempt >= tries) return answer;
  }
}

describe('a valid token while PostgreSQL cannot serve (postgres)', () => {
  const cluster = sharedPostgres();

  // A cancelled read (57014, as pg_cancel_backend or statement_timeout give) was no "unavailable"
  // error: the user cache took it for "no such user" and kept that (for 5 s by the clock; this
  // clock stands still), so the request, and the next ones, were anonymous: a silent logout.
  it('answers 503, never anonymous, when the user read is cancelled, and the next request works', async (t) => {
    const pg = await cluster();
    const { instance, database, lines } = await instanceOnPostgres(pg);
    t.after(() => instance.stop());
    await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    const token = await login(instance.url, 'alice', 'alice-pw-correct-horse');

    const holder = new pg_.Client({ connectionString: pg.urlWithPassword(database) });
    await holder.connect();
    t.after(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE capsule_nodes IN ACCESS EXCLUSIVE MODE');
    const answer = session(instance, token);
    // The user read waits for the lock: then a DBA (or statement_timeout) cancels it.
    for (let cancelled = 0, look = 0, deadline = Date.now() + 30_000; cancelled === 0; look++) {
      assert.ok(Date.now() < deadline, 'the user read waited for the lock');
      if (look > 0) await new Promise((resolve) => setImmediate(resolve));
      cancelled = (
        await pg.sql(
          'postgres',
          `WITH targets AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE '%capsule_property_index%')
           SELECT pid FROM targets WHERE pg_cancel_backend(pid)`,
          [database],
        )
      ).length;
    }
    assert.deepEqual(await answer, { status: 503, code: 'REPOSITORY_UNAVAILABLE', renewed: false });
    await holder.query('ROLLBACK');
    const after = await session(instance, token);
    assert.equal(after.status, 200, 'no "no such user" was kept from the failed read');
    assert.ok(lines.some((line) => line.includes('token could not be checked') && line.includes('canceling statement due to user request')));
  });

  // On a read-only database (a failover to a standby, default_transaction_read_only) the refresh
  // of a stateful token past half its life failed with 25006, which logged the user out.
  it('authenticates a stateful token whose refresh cannot be written, and refreshes it once the database is writable', async (t) => {
    const pg = await cluster();
    const { instance, database, clock, lines } = await instanceOnPostgres(pg);
    t.after(() => instance.stop());
    const token = await login(instance.url, 'admin', 'admin-password');
    clock.advance(EXPIRATION_MS * 0.75); // past half its life: the next request refreshes it

    await pg.sql('postgres', `ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    await reconnect(pg, database);
    assert.deepEqual(await askUntil(instance, token, (answer) => answer.status === 200), { status: 200, code: undefined, renewed: false });
    assert.ok(lines.some((line) => line.includes('stateful token not refreshed') && line.includes('read-only')));

    await pg.sql('postgres', `ALTER DATABASE ${database} SET default_transaction_read_only = off`);
    await reconnect(pg, database);
    assert.deepEqual(await askUntil(instance, token, (answer) => answer.renewed), { status: 200, code: undefined, renewed: true });
  });

  // The test clusters run with synchronous_commit=off, as a server tuned for speed may.
  it('warns once at start that the server runs with synchronous_commit off', async (t) => {
    const { instance, lines } = await instanceOnPostgres(await cluster());
    t.after(() => instance.stop());
    assert.equal(lines.filter((line) => line.includes('synchronous_commit = off')).length, 1);
    assert.ok(lines.some((line) => line.includes('"level":40') && line.includes('synchronous_commit = off')), 'as a warning');
  });

  // keys migrate --to repository deletes the key files once the keys are stored: the write must
  // be on disk first, whatever synchronous_commit the server runs with.
  it('writes the keys of keys migrate --to repository with synchronous_commit on', async () => {
    const pg = await cluster();
    const { instance, database } = await instanceOnPostgres(pg);
    const home = instance.services.home.root;
    await instance.stop();
    await pg.sql(database, 'CREATE TABLE seen (path text, synchronous_commit text)');
    await pg.sql(
      database,
      `CREATE FUNCTION remember_durability() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO seen VALUES (NEW.path, current_setting('synchronous_commit')); RETURN NEW; END $$`,
    );
    await pg.sql(database, 'CREATE TRIGGER remember_durability AFTER INSERT OR UPDATE ON capsule_nodes FOR EACH ROW EXECUTE FUNCTION remember_durability()');
    const services = await openServices({ home, env: pg.env, clock: systemClock });
    try {
      const result = await migrateKeys(services.home, services.repo, 'repository');
      assert.equal(result.changed, true);
    } finally {
      await services.close();
    }
    const seen = await pg.sql<{ synchronous_commit: string }>(database, 'SELECT DISTINCT synchronous_commit FROM seen WHERE path = $1', [KEY_NODE]);
    assert.deepEqual(seen, [{ synchronous_commit: 'on' }]);
  });
});
