import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openPostgresRepository, watchCounters } from '../../src/repository/index.js';
import { runCli } from '../helpers/cli.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

describe('an instance on PostgreSQL that fails to start (postgres)', () => {
  const cluster = sharedPostgres();

  // The watcher's first read is under way as soon as it is made. stop() used to return at once, so
  // the pool was ended under that read, which failed with "Cannot use a pool after calling end on
  // the pool" and was logged as an outage of change polling.
  it('stops change polling before the pool is ended: no outage is reported', async () => {
    const repo = await openPostgresRepository({ url: await (await cluster()).createDatabase(), create: true, clock: systemClock });
    const reported: unknown[] = [];
    const watcher = watchCounters(repo, { handlers: { config: () => undefined }, clock: systemClock, recheckMs: 60_000, polling: { onError: (error) => reported.push(error) } });
    await watcher.stop();
    await repo.close();
    await watcher.look(); // a read still under way ends here (nothing is read after stop)
    assert.deepEqual(reported, []);
  });

  it('logs the reason in one line and nothing about the closed pool', async () => {
    const pg = await cluster();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const result = await runCli(
        ['start', '--home', join(tempDir(), 'author'), '--repository', pg.url((await pg.createDatabase()).split('/').pop()!), '--port', String(port)],
        { env: { ...pg.env, CAPSULE_ADMIN_PASSWORD: 'admin-password' } },
      );
      const log = result.stdout + result.stderr;
      assert.notEqual(result.code, 0);
      assert.match(log, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
      assert.doesNotMatch(log, /Cannot use a pool|change polling failed/);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
