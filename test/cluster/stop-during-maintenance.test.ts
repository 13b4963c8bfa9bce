import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg_ from 'pg';
import { fixedClock } from '../../src/clock.js';
import { startInstance } from '../../src/instance/index.js';
import { login } from '../helpers/http.js';
import { sharedPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { capturedLogger } from '../helpers/logs.js';

const EXPIRATION_MS = 43_200_000; // the default token lifetime

async function waitFor(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (let look = 0; !(await condition()); look++) {
    assert.ok(Date.now() < deadline, `${what} within 30 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function listening(pg: PostgresCluster, database: string): Promise<boolean> {
  const rows = await pg.sql('postgres', "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'", [database]);
  return rows.length > 0;
}

describe('stopping an instance while its maintenance runs (postgres)', () => {
  const cluster = sharedPostgres();

  // stop() closed the repository while the expired-token cleanup (started with `void`) was still
  // running: its next statement found the pool ended ("Cannot use a pool after calling end on the
  // pool") and the cleanup failed. Now stop() waits for background work before closing.
  it('lets the expired-token cleanup under way finish before the repository closes', async () => {
    const pg = await cluster();
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
      maintenanceIntervalMs: 100,
      env: { CAPSULE_ADMIN_PASSWORD: 'admin-password', ...pg.env },
    });
    let stopping: Promise<void> | undefined;
    const holder = new pg_.Client({ connectionString: pg.urlWithPassword(database) });
    await holder.connect();
    try {
      await login(instance.url, 'admin', 'admin-password');
      await waitFor('the change channel is up', () => listening(pg, database));
      // Reads go on under this lock and writes wait: only a cleanup that found the token expired
      // (it read the clock after the advance below) reaches its removal and waits. A lock that held
      // reads too could catch a cleanup that read the clock before the advance and removes nothing.
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE capsule_nodes IN EXCLUSIVE MODE');
      clock.advance(EXPIRATION_MS + 1); // the token is expired: the next cleanup removes it
      await waitFor('the cleanup waits for the lock to remove the token', async () => {
        const rows = await pg.sql('postgres', "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND pid <> $2", [database, holderPid]);
        return rows.length > 0;
      });
      stopping = instance.stop();
      await waitFor('the instance stops taking requests', () => fetch(instance.url).then(() => false, () => true));
      // Before the fix the repository closed now (its LISTEN connection first). No event says
      // that it does not: a bounded number of looks, then the cleanup may go on.
      for (let look = 0; look < 50 && (await listening(pg, database)); look++) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await (stopping ?? instance.stop());
    }
    assert.ok(!lines.some((line) => line.includes('expired token cleanup failed')), lines.filter((line) => line.includes('cleanup')).join('\n'));
    assert.ok(lines.some((line) => line.includes('removed expired tokens')));
    assert.ok(lines.findIndex((line) => line.includes('removed expired tokens')) < lines.findIndex((line) => line.includes('instance stopped')));
  });
});
