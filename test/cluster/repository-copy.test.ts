import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jsonOf, runCli, runCliInProcess } from '../helpers/cli.js';
import { POSTGRES_PASSWORD, sharedPostgres } from '../helpers/postgres.js';
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
