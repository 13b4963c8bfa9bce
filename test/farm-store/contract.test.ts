import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixedClock, systemClock, type Clock } from '../../src/clock.js';
import { createPostgresFarmStore, createRepositoryFarmStore, type FarmRecordChange, type FarmStore } from '../../src/farm-store/index.js';
import { openPostgresRepository, openSqliteRepository, type Repository } from '../../src/repository/index.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';
import { WAIT_AT_BARRIER, writersAtBarrier } from '../helpers/writer-processes.js';
import { after } from 'node:test';

/** A fresh place for a store, and how to open a store there (again: the same place, another handle). */
interface BackendUnderTest {
  readonly name: string;
  /** A fresh location: a SQLite file, or a PostgreSQL URL. */
  location(): Promise<string>;
  open(location: string, clock: Clock): Promise<FarmStore>;
}

const cluster = sharedPostgres();
const closing: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
});

function onRepository(repo: Repository, clock: Clock): FarmStore {
  closing.push(() => repo.close());
  return createRepositoryFarmStore({ repo, clock });
}

const BACKENDS: BackendUnderTest[] = [
  {
    name: 'the repository on SQLite',
    location: async () => join(tempDir(), 'repository.sqlite'),
    open: async (location, clock) => onRepository(openSqliteRepository({ file: location, create: true, clock }), clock),
  },
  {
    name: 'the repository on PostgreSQL',
    location: async () => (await cluster()).createDatabase(),
    open: async (location, clock) => onRepository(await openPostgresRepository({ url: location, create: true, clock }), clock),
  },
  {
    name: 'a PostgreSQL farm store',
    location: async () => (await cluster()).createDatabase(),
    async open(location, clock) {
      const store = createPostgresFarmStore({ url: location, clock });
      closing.push(() => store.close());
      return store;
    },
  },
];

const increment: FarmRecordChange = (current, nowMs) => ({ value: { count: Number(current?.value.count ?? 0) + 1 }, expiresAtMs: nowMs + 60_000 });

// One process of two: opens the store at LOCATION (the backend's kind) and increments one record
// COUNT times after a start barrier, so that both processes' updates of the record overlap.
const INCREMENTER = `
import { createPostgresFarmStore, createRepositoryFarmStore } from './src/farm-store/index.ts';
import { openPostgresRepository, openSqliteRepository } from './src/repository/index.ts';
import { systemClock } from './src/clock.ts';
const [kind, location, count] = process.argv.slice(-3);
const repo = kind === 'sqlite' ? openSqliteRepository({ file: location, clock: systemClock }) : kind === 'repository-postgres' ? await openPostgresRepository({ url: location, clock: systemClock }) : null;
const store = repo ? createRepositoryFarmStore({ repo, clock: systemClock }) : createPostgresFarmStore({ url: location, clock: systemClock });
await store.get('warm-up', 'x'); // connected (and the table made) before the barrier
await (${WAIT_AT_BARRIER})();
await Promise.all(Array.from({ length: Number(count) }, () => store.update('counts', 'alice', (current, nowMs) => ({ value: { count: Number(current?.value.count ?? 0) + 1 }, expiresAtMs: nowMs + 60000 }))));
await store.close();
await repo?.close();
process.stdin.destroy();
console.log('done');
`;
const KIND: Record<string, string> = {
  'the repository on SQLite': 'sqlite',
  'the repository on PostgreSQL': 'repository-postgres',
  'a PostgreSQL farm store': 'postgres',
};

for (const backend of BACKENDS) {
  describe(`farm store contract: ${backend.name}`, () => {
    it('keeps, replaces and removes a record; a key holds any characters', async () => {
      const store = await backend.open(await backend.location(), systemClock);
      assert.equal(await store.get('counts', 'alice'), null);
      const first = await store.update('counts', 'alice', increment);
      assert.equal(first.before, null);
      assert.deepEqual(first.after?.value, { count: 1 });
      const second = await store.update('counts', 'alice', increment);
      assert.deepEqual(second.before?.value, { count: 1 });
      assert.deepEqual((await store.get('counts', 'alice'))?.value, { count: 2 });
      // Spaces and keys are apart: the same key in another space, a key with slashes and unicode.
      assert.equal(await store.get('other', 'alice'), null);
      await store.update('counts', '../alice/ü\u00e9 x', increment);
      assert.deepEqual((await store.get('counts', '../alice/ü\u00e9 x'))?.value, { count: 1 });
      assert.deepEqual((await store.get('counts', 'alice'))?.value, { count: 2 });
      // A change that returns the current record writes nothing; one that returns null removes it.
      const same = await store.update('counts', 'alice', (current) => current);
      assert.deepEqual(same.after?.value, { count: 2 });
      const removed = await store.update('counts', 'alice', () => null);
      assert.equal(removed.after, null);
      assert.equal(await store.get('counts', 'alice'), null);
      assert.equal(await store.delete('counts', '../alice/ü\u00e9 x'), true);
      assert.equal(await store.delete('counts', '../alice/ü\u00e9 x'), false);
    });

    it('a record is gone once its end has passed, for every read; removeExpired deletes it', async () => {
      const clock = fixedClock(1_000_000);
      const store = await backend.open(await backend.location(), clock);
      await store.update('claims', 'short', (_current, nowMs) => ({ value: {}, expiresAtMs: nowMs + 1000 }));
      await store.update('claims', 'long', (_current, nowMs) => ({ value: {}, expiresAtMs: nowMs + 5000 }));
      clock.advance(1000);
      assert.equal(await store.get('claims', 'short'), null);
      // An update sees no record either: a claim of an expired key succeeds again.
      const again = await store.update('claims', 'short', (current, nowMs) => current ?? { value: { again: true }, expiresAtMs: nowMs + 1000 });
      assert.equal(again.before, null);
      clock.advance(1000);
      assert.equal(await store.removeExpired(), 1);
      assert.notEqual(await store.get('claims', 'long'), null);
      clock.advance(5000);
      assert.equal(await store.removeExpired(), 1);
      assert.equal(await store.get('claims', 'long'), null);
    });

    it('keeps its records when it is closed and opened again (a restart)', async () => {
      const location = await backend.location();
      const store = await backend.open(location, systemClock);
      await store.update('counts', 'bob', increment);
      await store.update('counts', 'bob', increment);
      await store.close();
      const reopened = await backend.open(location, systemClock);
      assert.deepEqual((await reopened.get('counts', 'bob'))?.value, { count: 2 });
    });

    it('two processes incrementing one record at the same instant both count, every time', async () => {
      const location = await backend.location();
      // Made before the processes start: the SQLite file and the repository schema.
      const store = await backend.open(location, systemClock);
      await store.get('counts', 'alice');
      const count = 20;
      const exits = await writersAtBarrier(INCREMENTER, [[KIND[backend.name]!, location, String(count)], [KIND[backend.name]!, location, String(count)]]);
      assert.deepEqual(exits.map((exit) => exit.code), [0, 0], 'both processes finished');
      assert.deepEqual((await store.get('counts', 'alice'))?.value, { count: 2 * count });
    });
  });
}

describe('PostgreSQL farm store: its table', () => {
  it('is created once by members starting on an empty database at the same instant, and again by none', async () => {
    const url = await (await cluster()).createDatabase();
    const stores = Array.from({ length: 4 }, () => createPostgresFarmStore({ url, clock: systemClock }));
    closing.push(...stores.map((store) => () => store.close()));
    await Promise.all(stores.map((store) => store.update('counts', 'carol', increment)));
    assert.deepEqual((await stores[0]!.get('counts', 'carol'))?.value, { count: 4 });
  });

  it('fails with FARM_STORE_UNAVAILABLE naming the place and never the password when nothing listens there', async () => {
    const store = createPostgresFarmStore({ url: 'postgres://farm:not-this-one@127.0.0.1:1/farm', clock: systemClock, connectTimeoutMs: 500 });
    closing.push(() => store.close());
    await assert.rejects(store.get('counts', 'alice'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'FARM_STORE_UNAVAILABLE');
      assert.match(error.message, /host 127\.0\.0\.1, port 1, database farm/);
      assert.doesNotMatch(error.message, /not-this-one/);
      return true;
    });
  });
});

describe('PostgreSQL farm store: least privilege', () => {
  it('a user that may only read and write the table (made by its owner) needs no right to create', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const owner = createPostgresFarmStore({ url, clock: systemClock });
    closing.push(() => owner.close());
    await owner.ping(); // the owner's first use makes the table
    const database = new URL(url).pathname.slice(1);
    await pg.sql(database, "CREATE ROLE farm_member LOGIN PASSWORD 'member-pw-correct-horse'");
    await pg.sql(database, 'REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await pg.sql(database, 'GRANT SELECT, INSERT, UPDATE, DELETE ON capsule_farm_records TO farm_member');
    const member = createPostgresFarmStore({ url: `postgres://farm_member@${pg.host}:${pg.port}/${database}`, password: 'member-pw-correct-horse', clock: systemClock });
    closing.push(() => member.close());
    await member.update('counts', 'erin', increment);
    assert.deepEqual((await owner.get('counts', 'erin'))?.value, { count: 1 });
  });
});
