import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { INDEXED_PROPERTIES, openPostgresRepository, openSqliteRepository, type Repository } from '../../src/repository/index.js';
import { USER_TYPE, USERS_COUNTER, USERS_ROOT } from '../../src/users/index.js';
import { jsonOf, runCli, runCliInProcess } from '../helpers/cli.js';
import { POSTGRES_PASSWORD, sharedPostgres } from '../helpers/postgres.js';
import { seededGroupId, seededUserId, seedUsers } from '../helpers/seed-users.js';
import { startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

const ADMIN = { CAPSULE_ADMIN_PASSWORD: 'admin-password' };
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function login(url: string, user: string, password: string): Promise<string> {
  const response = await fetch(`${url}/j_security_check`, {
    method: 'POST',
    body: new URLSearchParams({ j_username: user, j_password: password }),
    redirect: 'manual',
  });
  const cookie = /login-token=[^;]+/.exec(response.headers.get('set-cookie') ?? '')?.[0];
  assert.ok(cookie, `login of ${user} failed: ${response.status}`);
  return cookie;
}

async function sessionUser(url: string, cookie: string): Promise<string | null> {
  const response = await fetch(`${url}/api/session`, { headers: { cookie } });
  return response.status === 200 ? ((await response.json()) as { userId: string }).userId : null;
}

/** A stopped SQLite home with a user, a group, a configuration and a stateful token. */
async function sqliteHome(): Promise<{ home: string; cookie: string }> {
  const home = join(tempDir(), 'old');
  const server = await startServerProcess({ home, env: ADMIN });
  assert.equal((await runCliInProcess(['users', 'add', 'alice', '--password-stdin', '--home', home], { stdin: 'alice-pw-correct-horse\n' })).code, 0);
  assert.equal((await runCliInProcess(['config', 'set', 'capsule.auth.token', 'token.expiration=3600000', '--home', home])).code, 0);
  const cookie = await login(server.url, 'alice', 'alice-pw-correct-horse');
  await server.stop();
  return { home, cookie };
}

const SEEDED_USERS = 3000;
const EXTERNAL_USERS = 300;

/**
 * The stopped home's repository filled past several of the copy's pages: users with their
 * memberships, external users with their indexed `providerUser`, content with binary, date and
 * string[] properties and a NUL in a string.
 */
async function fillHome(home: string): Promise<void> {
  const repo = openSqliteRepository({ file: join(home, 'repository', 'repository.sqlite'), clock: systemClock });
  try {
    await seedUsers(repo, { count: SEEDED_USERS, groups: 7, passwordHash: '$argon2id$stored-only' });
    await repo.transaction(async (tx) => {
      for (let index = 0; index < EXTERNAL_USERS; index++) {
        const userId = `ext-${index}`;
        await tx.addNode(`${USERS_ROOT}/e/${userId}`, {
          type: USER_TYPE,
          properties: { userId, externalProvider: 'corp-oidc', providerUser: `corp-oidc:${userId}`, disabled: false, generation: 0, groups: ['staff', `team-${index % 4}`] },
        });
      }
      await tx.bumpCounter(USERS_COUNTER);
    });
    for (let index = 0; index < 40; index++) {
      await repo.addNode(`/content/site/page-${index}`, {
        type: 'capsule:Content',
        properties: { title: `Page ${index}`, body: `before\u0000after ${index}`, published: new Date(Date.UTC(2026, 0, 1 + index, 12, 0, 0, index)), attachment: Buffer.from([0, 255, index, 10, 13]), tags: ['a', `t${index}`] },
      });
    }
  } finally {
    await repo.close();
  }
}

/** Every node of the index's `name`, in its order (a node once per value), by id. */
async function indexed(repo: Repository, name: string): Promise<string[]> {
  return (await repo.findByPropertyRange(name, { limit: 1_000_000 })).map((node) => node.id);
}

describe('moving a home between SQLite and PostgreSQL', () => {
  const cluster = sharedPostgres();

  it('copies a stopped SQLite home into PostgreSQL, verified, switches the home and leaves the source untouched', async () => {
    const pg = await cluster();
    const { home, cookie } = await sqliteHome();
    const file = join(home, 'repository', 'repository.sqlite');
    const before = sha(file);
    const url = await pg.createDatabase();
    const copied = await runCliInProcess(['repository', 'copy', '--home', home, '--to', url, '--json']);
    assert.equal(copied.code, 0, copied.stderr);
    const result = jsonOf<{ nodes: number; to: string; switched: boolean }>(copied);
    assert.ok(result.nodes > 5 && result.switched);
    assert.ok(!copied.stdout.includes(POSTGRES_PASSWORD) && !copied.stderr.includes(POSTGRES_PASSWORD));
    assert.equal(sha(file), before, 'the SQLite file was only read');
    assert.equal(readFileSync(join(home, 'repository', 'location'), 'utf8').trim(), result.to);

    const info = jsonOf<{ backend: string; nodeCount: number }>(await runCliInProcess(['repository', 'info', '--json', '--home', home], { env: pg.env }));
    assert.deepEqual(info, { ...info, backend: 'postgres', nodeCount: result.nodes });
    const server = await startServerProcess({ home, env: { ...ADMIN, ...pg.env } });
    assert.equal(await sessionUser(server.url, cookie), 'alice', 'a stateful token issued before the move still works (ids kept)');
    await login(server.url, 'alice', 'alice-pw-correct-horse');
    const config = await runCliInProcess(['config', 'get', 'capsule.auth.token', '--json', '--home', home], { env: pg.env });
    assert.match(config.stdout, /3600000/);
    await server.stop();
  });

  it('refuses to copy a home an instance is running on (it would write after the copy read), and switches nothing', async () => {
    const pg = await cluster();
    const { home } = await sqliteHome();
    const server = await startServerProcess({ home, env: ADMIN });
    try {
      const url = await pg.createDatabase();
      const refused = await runCliInProcess(['repository', 'copy', '--home', home, '--to', url]);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, new RegExp(`is in use by a running instance \\(PID ${server.child.pid}\\)`));
      assert.equal(existsSync(join(home, 'repository', 'location')), false, 'the home still uses its SQLite file');
    } finally {
      await server.stop();
    }
  });

  it('refuses a non-empty target, and runs again after an interrupted copy', async () => {
    const pg = await cluster();
    const { home } = await sqliteHome();
    const url = await pg.createDatabase();
    const crashed = await runCli(['repository', 'copy', '--home', home, '--to', url], { env: { CAPSULE_FAILPOINT: 'repository-copy:half-copied' } });
    assert.equal(crashed.code, null, 'killed half-way');
    assert.ok(!existsSync(join(home, 'repository', 'location')), 'the home was not switched');
    const again = await runCliInProcess(['repository', 'copy', '--home', home, '--to', url]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /copied \d+ nodes/);

    const { home: other } = await sqliteHome();
    const refused = await runCliInProcess(['repository', 'copy', '--home', other, '--to', url]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /is not empty/);
    assert.ok(!existsSync(join(other, 'repository', 'location')), 'the home was not switched');
  });

  it('copies a home of thousands of users node by node: memberships, external users, binaries, dates and a NUL arrive identical, the property index answers the same', async () => {
    const pg = await cluster();
    const { home } = await sqliteHome();
    await fillHome(home);
    const url = await pg.createDatabase();
    const copied = await runCliInProcess(['repository', 'copy', '--home', home, '--to', url, '--json']);
    assert.equal(copied.code, 0, copied.stderr);
    assert.ok(jsonOf<{ nodes: number }>(copied).nodes > 2 * SEEDED_USERS + EXTERNAL_USERS);

    const source = openSqliteRepository({ file: join(home, 'repository', 'repository.sqlite'), clock: systemClock });
    const target = await openPostgresRepository({ url, clock: systemClock });
    try {
      const [from, to] = [await source.getSubtree('/'), await target.getSubtree('/')];
      assert.equal(to.length, from.length);
      for (const [index, node] of from.entries()) assert.deepEqual(to[index], node, `node ${node.path}`);
      assert.equal((await target.getNode('/content/site/page-7'))?.properties.body, 'before\u0000after 7');
      assert.deepEqual(await target.readCounters(), await source.readCounters());
      for (const name of INDEXED_PROPERTIES) assert.deepEqual(await indexed(target, name), await indexed(source, name), `index of ${name}`);
      for (const [name, value] of [['member', seededUserId(1234)], ['groupId', seededGroupId(3)], ['providerUser', 'corp-oidc:ext-42'], ['userId', 'ext-7']] as const) {
        const found = (await target.findByProperty(name, value)).map((node) => node.id);
        assert.equal(found.length, 1, `${name}=${value}`);
        assert.deepEqual(found, (await source.findByProperty(name, value)).map((node) => node.id));
      }
      assert.equal((await target.findByPropertyRange('providerUser', { prefix: 'corp-oidc:', limit: 1000 })).length, EXTERNAL_USERS);
    } finally {
      await source.close();
      await target.close();
    }
  });

  it('a copy of thousands of users killed after half its nodes leaves the database as it was (one transaction), and runs again', async () => {
    const pg = await cluster();
    const { home } = await sqliteHome();
    await fillHome(home);
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const crashed = await runCli(['repository', 'copy', '--home', home, '--to', url], { env: { CAPSULE_FAILPOINT: 'repository-copy:half-copied' } });
    assert.equal(crashed.code, null, 'killed half-way');
    assert.ok(!existsSync(join(home, 'repository', 'location')), 'the home was not switched');
    const [left] = await pg.sql<{ nodes: string; indexed: string; counters: string }>(
      database,
      'SELECT (SELECT count(*) FROM capsule_nodes) AS nodes, (SELECT count(*) FROM capsule_property_index) AS indexed, (SELECT count(*) FROM capsule_counters) AS counters',
    );
    assert.deepEqual(left, { nodes: '1', indexed: '0', counters: '0' }, 'only the root the schema made');
    const again = await runCliInProcess(['repository', 'copy', '--home', home, '--to', url, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(jsonOf<{ nodes: number }>(again).nodes > 2 * SEEDED_USERS + EXTERNAL_USERS);
  });

  it('copies a PostgreSQL home back into a new SQLite file', async () => {
    const pg = await cluster();
    const { home, cookie } = await sqliteHome();
    const url = await pg.createDatabase();
    assert.equal((await runCliInProcess(['repository', 'copy', '--home', home, '--to', url])).code, 0);
    const back = join(tempDir(), 'back.sqlite');
    const copied = await runCliInProcess(['repository', 'copy', '--home', home, '--to', back], { env: pg.env });
    assert.equal(copied.code, 0, copied.stderr);
    const info = jsonOf<{ backend: string; location: string }>(await runCliInProcess(['repository', 'info', '--json', '--home', home]));
    assert.deepEqual([info.backend, info.location], ['sqlite', back]);
    const server = await startServerProcess({ home, env: ADMIN });
    assert.equal(await sessionUser(server.url, cookie), 'alice');
    await server.stop();
  });
});
