import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { openPostgresRepository, openSqliteRepository, type Repository } from '../../src/repository/index.js';
import { createRepositorySessionStore, ENDED_SESSIONS_ROOT, SESSIONS_ROOT } from '../../src/sessions/index.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';
import { recordingListener, revokedEvent, sessionRecord, sessionStoreContract } from './session-store-contract.js';

const opened: Repository[] = [];
after(async () => {
  for (const repo of opened) await repo.close().catch(() => undefined);
});

sessionStoreContract({
  name: 'the repository on SQLite',
  async open(clock) {
    const repo = openSqliteRepository({ file: join(tempDir(), 'repository.sqlite'), create: true, clock });
    opened.push(repo);
    // One home is one process: two members of it are two stores on the one repository.
    return [createRepositorySessionStore({ repo, clock }), createRepositorySessionStore({ repo, clock })];
  },
});

const cluster = sharedPostgres();
sessionStoreContract({
  name: 'the repository on PostgreSQL (an author cluster)',
  async open(clock) {
    const url = await (await cluster()).createDatabase();
    const first = await openPostgresRepository({ url, create: true, clock });
    const second = await openPostgresRepository({ url, clock });
    opened.push(first, second);
    // Two processes on one repository: the second hears the first's ends through PostgreSQL's announcements.
    return [createRepositorySessionStore({ repo: first, clock }), createRepositorySessionStore({ repo: second, clock, recheckMs: 3_600_000 })];
  },
});

describe('repository session store: its nodes', () => {
  it('keeps a user\'s sessions in one folder of their own, and an ended one\'s marker apart', async () => {
    const repo = openSqliteRepository({ file: join(tempDir(), 'repository.sqlite'), create: true, clock: systemClock });
    opened.push(repo);
    const store = createRepositorySessionStore({ repo, clock: systemClock });
    const weird = sessionRecord('../al/ice ü', Date.now());
    await store.create(weird, 0);
    await store.create(sessionRecord('bob', Date.now()), 0);
    const folders = await repo.getChildren(SESSIONS_ROOT);
    assert.equal(folders.length, 2, 'one folder per user');
    const [mine] = await Promise.all(folders.map((folder) => repo.getChildren(folder.path))).then((lists) => lists.filter((list) => list.some((node) => node.name === weird.id)));
    assert.deepEqual(mine?.map((node) => node.name), [weird.id]);
    assert.deepEqual(await repo.getChildren(ENDED_SESSIONS_ROOT), []);
    await store.end([weird.id], 'revoked', 'admin', Date.now());
    assert.deepEqual((await repo.getChildren(ENDED_SESSIONS_ROOT)).map((node) => node.name), [weird.id]);
  });

  it('another process on the same SQLite file (a CLI command) ending a session is heard by polling', async () => {
    const file = join(tempDir(), 'repository.sqlite');
    const repo = openSqliteRepository({ file, create: true, clock: systemClock });
    const other = openSqliteRepository({ file, clock: systemClock });
    opened.push(repo, other);
    const member = createRepositorySessionStore({ repo, clock: systemClock, recheckMs: 50 });
    const cli = createRepositorySessionStore({ repo: other, clock: systemClock });
    const record = sessionRecord('judy', Date.now());
    await member.create(record, 0);
    const listener = recordingListener();
    const stop = member.subscribe(listener);
    try {
      await listener.next((event) => event.kind === 'resync');
      await cli.end([record.id], 'revoked', 'admin', Date.now());
      await listener.next(revokedEvent(record.id));
    } finally {
      stop();
    }
  });
});
