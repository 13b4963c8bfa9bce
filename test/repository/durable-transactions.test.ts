import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openPostgresRepository } from '../../src/repository/index.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { systemClock } from '../../src/clock.js';

describe('durable transactions and synchronous_commit (postgres)', () => {
  const cluster = sharedPostgres();

  // The test cluster runs with synchronous_commit=off, as a server tuned for speed may: a crash
  // loses the last commits. A transaction that writes keys whose files are deleted next must not.
  it('a durable transaction commits with synchronous_commit on, others with the server\'s setting', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const repo = await openPostgresRepository({ url, create: true, clock: systemClock });
    // What synchronous_commit was inside each transaction that set a counter, as the server saw it.
    await pg.sql(database, 'CREATE TABLE seen (counter text, synchronous_commit text)');
    await pg.sql(
      database,
      `CREATE FUNCTION remember_durability() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO seen VALUES (NEW.name, current_setting('synchronous_commit')); RETURN NEW; END $$`,
    );
    await pg.sql(database, 'CREATE TRIGGER remember_durability AFTER INSERT ON capsule_counters FOR EACH ROW EXECUTE FUNCTION remember_durability()');

    await repo.transaction((tx) => tx.setCounter('durable', 1), { durable: true });
    await repo.transaction((tx) => tx.setCounter('ordinary', 1));
    const seen = await pg.sql<{ counter: string; synchronous_commit: string }>(database, 'SELECT counter, synchronous_commit FROM seen ORDER BY counter');
    assert.deepEqual(seen, [
      { counter: 'durable', synchronous_commit: 'on' },
      { counter: 'ordinary', synchronous_commit: 'off' },
    ]);
    await repo.close();
  });

  it('says in its info when the server runs with synchronous_commit off, and nothing when it is on', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const repo = await openPostgresRepository({ url, create: true, clock: systemClock });
    const [warning, ...more] = (await repo.info()).warnings ?? [];
    assert.match(warning ?? '', /synchronous_commit = off: a server crash may lose writes already reported done/);
    assert.deepEqual(more, []);
    await repo.close();

    await pg.sql('postgres', `ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = on`);
    const onRepo = await openPostgresRepository({ url, clock: systemClock });
    assert.deepEqual((await onRepo.info()).warnings, []);
    await onRepo.close();
  });
});
