import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../../src/clock.js';
import { copyRepository, openPostgresRepository, openSqliteRepository } from '../../../src/repository/index.js';
import { startPostgres, type PostgresCluster } from '../../helpers/postgres.js';
import { seedUsers } from '../../helpers/seed-users.js';
import { tempDir } from '../../helpers/temp.js';

/**
 * What a copy to PostgreSQL costs in statements, counted by the server (pg_stat_statements), not
 * timed: putting nodes one by one took several round trips per node (its row, a delete and an
 * insert per indexed property), about 2 ms a node, hours for a large home.
 */
describe('copying a repository to PostgreSQL', () => {
  let cluster: Promise<PostgresCluster> | undefined;
  after(async () => (await cluster)?.stop());
  const statementsCounted = () => (cluster ??= startPostgres({ settings: ['shared_preload_libraries=pg_stat_statements'] }));

  it('writes many nodes per statement: the statements run do not grow with every node', async () => {
    const pg = await statementsCounted();
    const source = openSqliteRepository({ file: join(tempDir(), 'source.sqlite'), create: true, clock: systemClock });
    await seedUsers(source, { count: 2000, groups: 5, passwordHash: 'stored-hash' });
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    await pg.sql(database, 'CREATE EXTENSION pg_stat_statements');
    const target = await openPostgresRepository({ url, create: true, clock: systemClock });
    try {
      await pg.sql(database, 'SELECT pg_stat_statements_reset()');
      const { nodes } = await copyRepository(source, target);
      assert.ok(nodes > 4000, `${nodes} nodes copied`);
      const [{ calls }] = (await pg.sql<{ calls: string }>(
        database,
        'SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
      )) as [{ calls: string }];
      // About 3 statements a page of 1000 written, 1 a page read back, and a few more: far under one a node.
      assert.ok(Number(calls) > 0 && Number(calls) < nodes / 20, `${calls} statements for ${nodes} nodes`);
      assert.equal(await target.countByType('capsule:User'), 2000);
    } finally {
      await target.close();
      await source.close();
    }
  });

  it('adds a node with several indexed properties in one statement for its index rows, not two per property', async () => {
    const pg = await statementsCounted();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    await pg.sql(database, 'CREATE EXTENSION pg_stat_statements');
    const repo = await openPostgresRepository({ url, create: true, clock: systemClock });
    try {
      await pg.sql(database, 'SELECT pg_stat_statements_reset()');
      const node = await repo.addNode('/home/users/a/alice', { type: 'capsule:User', properties: { userId: 'alice', members: ['x', 'y', 'x'], member: 'bob', providerUser: 'corp:alice', title: 'not indexed' } });
      const [{ calls }] = (await pg.sql<{ calls: string }>(
        database,
        "SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%capsule_property_index%'",
      )) as [{ calls: string }];
      assert.equal(Number(calls), 1);
      for (const [name, value] of [['userId', 'alice'], ['members', 'x'], ['members', 'y'], ['member', 'bob'], ['providerUser', 'corp:alice']] as const) {
        assert.deepEqual((await repo.findByProperty(name, value)).map((found) => found.id), [node.id], `${name}=${value}`);
      }
    } finally {
      await repo.close();
    }
  });
});
