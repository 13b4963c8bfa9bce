import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg_ from 'pg';
import { SqliteDatabase as Database } from '../../src/repository/sqlite/driver.js';
import { isCapsuleError } from '../../src/errors.js';
import { openPostgresRepository, openSqliteRepository, type Repository } from '../../src/repository/index.js';
import { SCHEMA_VERSION } from '../../src/repository/sqlite/migrations.js';
import { LOCK_NAMESPACE, POSTGRES_SCHEMA_VERSION } from '../../src/repository/postgres/schema.js';
import { POSTGRES_PASSWORD, sharedPostgres } from '../helpers/postgres.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';
import { createUserManager } from '../../src/users/index.js';
import { fastHasher } from '../helpers/services.js';

/**
 * Users as a Capsule of schema version 2 wrote them: an external user's provider, no
 * `providerUser` nor `providerSubject`. One subject holds a ':'. One user's subject and one content node hold a NUL, which PostgreSQL's json and
 * jsonb refuse to read: the migration must neither stop at it nor lose it.
 */
async function writeVersion2Users(repo: Repository): Promise<void> {
  await repo.transaction(async (tx) => {
    for (const [id, provider] of [['zoe', 'corp'], ['Bob', 'corp'], ['amy', 'corp-2'], ['carl', undefined], ['nul', 'corp-3']] as const) {
      const external: Record<string, string | string[]> = provider ? { externalProvider: provider, externalSubject: id === 'nul' ? 'sub\u0000nul' : id === 'Bob' ? 'corp-2:sub-amy' : `sub-${id}`, externalGroups: [] } : {};
      await tx.addNode(`/home/users/${id[0]!.toLowerCase()}/${id}`, { type: 'capsule:User', properties: { userId: id, disabled: false, generation: 1, ...external } });
    }
    await tx.addNode('/content/nul', { properties: { text: 'a\u0000b' } });
  });
}

async function assertProviderUsersIndexed(repo: Repository): Promise<void> {
  const ids = async (prefix: string) => (await repo.findByPropertyRange('providerUser', { prefix, limit: 10 })).map((node) => node.properties.userId);
  assert.deepEqual(await ids('corp:'), ['Bob', 'zoe']);
  assert.deepEqual(await ids('corp-2:'), ['amy']);
  assert.equal((await repo.getNode('/home/users/z/zoe'))?.properties.providerUser, 'corp:zoe');
  assert.equal((await repo.getNode('/home/users/c/carl'))?.properties.providerUser, undefined, 'a local user has none');
  assert.equal((await repo.getNode('/home/users/z/zoe'))?.properties.externalSubject, 'sub-zoe', 'the other properties kept');
  assert.deepEqual(await ids('corp-3:'), ['nul'], 'a user whose subject holds a NUL is indexed too');
  assert.equal((await repo.getNode('/home/users/n/nul'))?.properties.externalSubject, 'sub\u0000nul');
  assert.equal((await repo.getNode('/content/nul'))?.properties.text, 'a\u0000b');
  // providerSubject: the user of a provider's subject, by one lookup; the key as the users module writes it.
  assert.equal((await repo.getNode('/home/users/z/zoe'))?.properties.providerSubject, `corp:${Buffer.from('sub-zoe').toString('hex').toUpperCase()}`);
  assert.equal((await repo.getNode('/home/users/c/carl'))?.properties.providerSubject, undefined, 'a local user has none');
  const users = createUserManager({ repo, hasher: fastHasher });
  assert.deepEqual(await users.findExternalUsers('corp', 'sub-zoe'), ['zoe']);
  assert.deepEqual(await users.findExternalUsers('corp-2', 'sub-amy'), ['amy']);
  assert.deepEqual(await users.findExternalUsers('corp', 'corp-2:sub-amy'), ['Bob'], 'a subject holding a provider name and a colon');
  assert.deepEqual(await users.findExternalUsers('corp', 'sub-amy'), [], "another provider's subject");
  assert.deepEqual(await users.findExternalUsers('corp-3', 'sub\u0000nul'), ['nul'], 'a subject holding a NUL');
  assert.deepEqual(await users.findExternalUsers('corp-3', 'sub'), [], 'nor a part of it');
  assert.deepEqual(await users.findExternalUsers('corp', 'carl'), []);
}

describe('repository schema', () => {
  it('creates a WAL database with mode 0600 and reopens it with its data', async () => {
    const file = join(tempDir(), 'repository.sqlite');
    const repo = openSqliteRepository({ file, create: true, clock: systemClock });
    await repo.addNode('/kept', { properties: { v: 'yes' } });
    await repo.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const again = openSqliteRepository({ file, clock: systemClock });
    assert.equal((await again.getNode('/kept'))?.properties.v, 'yes');
    assert.equal((await again.info()).schemaVersion, SCHEMA_VERSION);
    await again.close();
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.close();
  });

  it('raises a repository of version 1 (groups listing their members) to the current version, which a Capsule of version 1 refuses', async () => {
    assert.equal(SCHEMA_VERSION, 3);
    assert.equal(POSTGRES_SCHEMA_VERSION, 3);
    const file = join(tempDir(), 'repository.sqlite');
    const repo = openSqliteRepository({ file, create: true, clock: systemClock });
    await repo.addNode('/kept', { properties: { v: 'yes' } });
    await repo.close();
    const raw = new Database(file);
    raw.pragma('user_version = 1');
    raw.close();
    const again = openSqliteRepository({ file, clock: systemClock });
    assert.equal((await again.getNode('/kept'))?.properties.v, 'yes');
    assert.equal((await again.info()).schemaVersion, SCHEMA_VERSION);
    await again.close();
  });

  it('raises a repository of version 2 to 3: the users of an identity provider found by the provider, in id order, and by their subject', async () => {
    const file = join(tempDir(), 'repository.sqlite');
    const repo = openSqliteRepository({ file, create: true, clock: systemClock });
    await writeVersion2Users(repo);
    await repo.close();
    const raw = new Database(file);
    raw.pragma('user_version = 2');
    raw.close();
    const again = openSqliteRepository({ file, clock: systemClock });
    await assertProviderUsersIndexed(again);
    assert.equal((await again.info()).schemaVersion, 3);
    await again.close();
  });

  it('refuses a repository written by a newer Capsule and leaves it untouched', async () => {
    const file = join(tempDir(), 'repository.sqlite');
    const repo = openSqliteRepository({ file, create: true, clock: systemClock });
    await repo.close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const before = readFileSync(file);
    assert.throws(
      () => openSqliteRepository({ file, clock: systemClock }),
      (e) => isCapsuleError(e, 'REPOSITORY_SCHEMA_NEWER') && /newer than this Capsule supports/.test(e.message),
    );
    assert.ok(readFileSync(file).equals(before), 'the file was not rewritten');
  });

  it('refuses a damaged file and a database that is not a Capsule repository', () => {
    const dir = tempDir();
    const garbage = join(dir, 'garbage.sqlite');
    writeFileSync(garbage, Buffer.alloc(8192, 7));
    assert.throws(() => openSqliteRepository({ file: garbage, clock: systemClock }), (e) => isCapsuleError(e, 'REPOSITORY_DAMAGED'));
    assert.deepEqual(readFileSync(garbage), Buffer.alloc(8192, 7));

    const foreign = join(dir, 'foreign.sqlite');
    const raw = new Database(foreign);
    raw.exec('CREATE TABLE other (x)');
    raw.close();
    assert.throws(
      () => openSqliteRepository({ file: foreign, clock: systemClock }),
      (e) => isCapsuleError(e, 'REPOSITORY_DAMAGED') && /not a Capsule repository/.test(e.message),
    );
  });

  it('does not create a repository unless asked to', () => {
    const file = join(tempDir(), 'absent.sqlite');
    assert.throws(() => openSqliteRepository({ file, clock: systemClock }), (e) => isCapsuleError(e, 'HOME_UNREADABLE'));
  });
});

describe('repository schema (postgres)', () => {
  const cluster = sharedPostgres();

  it('creates its schema in an empty database, once, and reopens it with its data', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    // A start barrier: the schema lock is held here until both are inside their transaction,
    // waiting for it, so that the two race for the empty database every run.
    const holder = new pg_.Client({ connectionString: url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1, 0)', [LOCK_NAMESPACE]);
    const opening = [openPostgresRepository({ url, create: true, clock: systemClock }), openPostgresRepository({ url, create: true, clock: systemClock })] as const;
    // Bounded by a deadline, not a number of looks: on a loaded machine the openings take long to connect.
    const deadline = Date.now() + 30_000;
    for (let waiting = 0, look = 0; waiting < 2; look++) {
      assert.ok(Date.now() < deadline, 'both openings wait for the schema lock within 30 s');
      if (look > 0) await new Promise((resolve) => setImmediate(resolve));
      const { rows } = await holder.query<{ waiting: string }>(
        // This database's only: the run's other files open repositories in the same cluster.
        "SELECT count(*) AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND objid = 0 AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        [LOCK_NAMESPACE],
      );
      waiting = Number(rows[0]?.waiting);
    }
    await holder.end(); // releases the lock: both go
    const [a, b] = await Promise.all(opening);
    assert.deepEqual([a.created, b.created].sort(), [false, true], 'two instances starting at once create it once');
    await a.addNode('/kept', { properties: { v: 'yes' } });
    await Promise.all([a.close(), b.close()]);
    const again = await openPostgresRepository({ url, clock: systemClock });
    assert.equal(again.created, false);
    assert.equal((await again.getNode('/kept'))?.properties.v, 'yes');
    assert.equal((await again.info()).schemaVersion, POSTGRES_SCHEMA_VERSION);
    await again.close();
  });

  it('raises a repository of version 2 to 3: the users of an identity provider found by the provider, in id order, and by their subject', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const repo = await openPostgresRepository({ url, create: true, clock: systemClock });
    await writeVersion2Users(repo);
    await repo.close();
    await pg.sql(new URL(url).pathname.slice(1), "UPDATE capsule_meta SET value = '2' WHERE key = 'schema_version'");
    const again = await openPostgresRepository({ url, clock: systemClock });
    await assertProviderUsersIndexed(again);
    assert.equal((await again.info()).schemaVersion, 3);
    await again.close();
  });

  it('raises version 2 to 3 without undoing a write an older instance commits meanwhile (the batch it rewrites waits for the row)', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    await (await openPostgresRepository({ url, create: true, clock: systemClock })).close();
    const database = new URL(url).pathname.slice(1);
    // 3,000 external users as a version-2 Capsule wrote them: three batches of the migration.
    await pg.sql(
      database,
      `INSERT INTO capsule_nodes (id, path, parent, name, type, props, created, modified)
       SELECT md5(i::text)::uuid::text, '/home/users/u/user' || i, '/home/users/u', 'user' || i, 'capsule:User',
              json_build_object('userId', json_build_object('t', 'string', 'v', 'user' || i), 'disabled', json_build_object('t', 'boolean', 'v', false),
                'generation', json_build_object('t', 'long', 'v', 1), 'externalProvider', json_build_object('t', 'string', 'v', 'corp'),
                'externalSubject', json_build_object('t', 'string', 'v', 'sub-' || i))::text, 0, 0
         FROM generate_series(1, 3000) AS i`,
    );
    await pg.sql(database, "UPDATE capsule_meta SET value = '2' WHERE key = 'schema_version'");
    const victim = (await pg.sql<{ id: string }>(database, "SELECT id FROM capsule_nodes WHERE type = 'capsule:User' ORDER BY id OFFSET 10 LIMIT 1"))[0]!.id;
    // An older instance, still connected, disables a user; its transaction holds the row.
    const older = new pg_.Client({ connectionString: url });
    await older.connect();
    await older.query('BEGIN');
    await older.query(`UPDATE capsule_nodes SET props = replace(props, 'false', 'true') WHERE id = $1`, [victim]);
    const opening = openPostgresRepository({ url, clock: systemClock });
    // Bounded look (no event crosses connections) until the migration waits for that row's lock.
    const deadline = Date.now() + 30_000;
    while ((await pg.sql(database, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).length === 0) {
      assert.ok(Date.now() < deadline, 'the migration comes to the row within 30 s');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await older.query('COMMIT');
    await older.end();
    const repo = await opening;
    try {
      const node = await repo.getNodeById(victim);
      assert.equal(node?.properties.disabled, true, 'the user disabled meanwhile is still disabled');
      assert.equal(node?.properties.providerUser, `corp:${node?.properties.userId as string}`, 'and indexed');
      assert.equal((await repo.info()).schemaVersion, POSTGRES_SCHEMA_VERSION);
    } finally {
      await repo.close();
    }
  });

  it("waits for another instance raising the schema longer than a statement may take (its query timeout, the server's statement_timeout), then opens", async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    await (await openPostgresRepository({ url, create: true, clock: systemClock })).close();
    const database = new URL(url).pathname.slice(1);
    await pg.sql(database, `ALTER DATABASE "${database}" SET statement_timeout = '300ms'`); // sessions from now on
    // Another instance in the middle of a long migration: it holds the schema lock.
    const migrating = new pg_.Client({ connectionString: url });
    await migrating.connect();
    await migrating.query('SELECT pg_advisory_lock($1, 0)', [LOCK_NAMESPACE]);
    const opening = openPostgresRepository({ url, clock: systemClock, queryTimeoutMs: 300 }).then(
      (repo) => repo,
      (error: unknown) => error,
    );
    const deadline = Date.now() + 30_000;
    const waiting = "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND objid = 0 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    while (Number((await migrating.query<{ n: string }>(waiting, [LOCK_NAMESPACE])).rows[0]?.n) === 0) {
      assert.ok(Date.now() < deadline, 'the opening waits for the schema lock within 30 s');
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The migration goes on for three times the opener's query timeout (the wait is what is tested, not a synchronisation).
    await new Promise((resolve) => setTimeout(resolve, 900));
    await migrating.end(); // the migration is done: its lock goes with its connection
    const opened = await opening;
    assert.ok(!(opened instanceof Error), `opened, not refused: ${opened instanceof Error ? opened.message : ''}`);
    await (opened as Repository).close();
  });

  it('refuses a repository written by a newer Capsule, a foreign database, and creates nothing unless asked', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    await (await openPostgresRepository({ url, create: true, clock: systemClock })).close();
    const name = new URL(url).pathname.slice(1);
    await pg.sql(name, "UPDATE capsule_meta SET value = $1 WHERE key = 'schema_version'", [String(POSTGRES_SCHEMA_VERSION + 1)]);
    await assert.rejects(openPostgresRepository({ url, clock: systemClock }), (e) => isCapsuleError(e, 'REPOSITORY_SCHEMA_NEWER') && /upgrade Capsule/.test(e.message));

    const foreign = await pg.createDatabase();
    await pg.sql(new URL(foreign).pathname.slice(1), 'CREATE TABLE other (x int)');
    await assert.rejects(openPostgresRepository({ url: foreign, create: true, clock: systemClock }), (e) => isCapsuleError(e, 'REPOSITORY_DAMAGED') && /not a Capsule repository/.test(e.message));

    const empty = await pg.createDatabase();
    await assert.rejects(openPostgresRepository({ url: empty, clock: systemClock }), (e) => isCapsuleError(e, 'HOME_UNREADABLE'));
    assert.deepEqual(await pg.sql(new URL(empty).pathname.slice(1), "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"), []);
  });

  it('names host, port and database in one line when it cannot connect, and never the password', async () => {
    const pg = await cluster();
    const closedPort = await freePort();
    const secret = 'hunter2-do-not-print';
    const unreachable = `postgres://capsule:${secret}@127.0.0.1:${closedPort}/nowhere`;
    await assert.rejects(openPostgresRepository({ url: unreachable, connectTimeoutMs: 2000, clock: systemClock }), (e) => {
      assert.ok(isCapsuleError(e, 'REPOSITORY_UNAVAILABLE'), String(e));
      assert.match(e.message, new RegExp(`host 127\\.0\\.0\\.1, port ${closedPort}, database nowhere`));
      assert.doesNotMatch(e.message, /\n/);
      assert.ok(!e.message.includes(secret));
      return true;
    });
    const wrongPassword = `postgres://postgres:${secret}@127.0.0.1:${pg.port}/postgres`;
    await assert.rejects(openPostgresRepository({ url: wrongPassword, env: {}, clock: systemClock }), (e) => {
      assert.ok(isCapsuleError(e, 'REPOSITORY_UNAVAILABLE'), String(e));
      assert.match(e.message, /password authentication failed/);
      assert.ok(!e.message.includes(secret) && !JSON.stringify(e).includes(secret));
      return true;
    });
    await assert.rejects(openPostgresRepository({ url: `postgres://postgres@127.0.0.1:${pg.port}/absent_db`, env: { PGPASSWORD: POSTGRES_PASSWORD }, clock: systemClock }), (e) =>
      isCapsuleError(e, 'REPOSITORY_UNAVAILABLE') && /database absent_db does not exist/.test(e.message));
  });

  it('finds the password as psql does: URL, then PGPASSWORD, then ~/.pgpass (0600 only)', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const bare = url.replace(`:${POSTGRES_PASSWORD}@`, '@');
    const home = tempDir();
    await assert.rejects(openPostgresRepository({ url: bare, create: true, env: { HOME: home }, clock: systemClock }), (e) =>
      isCapsuleError(e, 'REPOSITORY_UNAVAILABLE') && /password/.test(e.message));
    await (await openPostgresRepository({ url: bare, create: true, env: { HOME: home, PGPASSWORD: POSTGRES_PASSWORD }, clock: systemClock })).close();
    const pgpass = join(home, '.pgpass');
    writeFileSync(pgpass, `# comment\notherhost:*:*:*:wrong\n127.0.0.1:${pg.port}:*:postgres:${POSTGRES_PASSWORD}\n`, { mode: 0o644 });
    await assert.rejects(openPostgresRepository({ url: bare, env: { HOME: home }, clock: systemClock }), 'a .pgpass others may read is ignored');
    chmodSync(pgpass, 0o600);
    await (await openPostgresRepository({ url: bare, env: { HOME: home }, clock: systemClock })).close();
  });
});
