import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jsonOf, runCli, runCliInProcess } from '../helpers/cli.js';
import { POSTGRES_PASSWORD, sharedPostgres } from '../helpers/postgres.js';
import { freePort } from '../helpers/ports.js';
import { startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };
const ADMIN = { CAPSULE_ADMIN_PASSWORD: 'admin-password' };
// No ~/.pgpass and no PGPASSWORD unless a test gives one.
const noPassword = () => ({ HOME: tempDir(), PGPASSWORD: '' });

interface Fingerprint {
  storage: string;
  master: { id: string };
  hmac: { id: string };
}

describe('homes on a PostgreSQL repository', () => {
  const cluster = sharedPostgres();

  it('remembers the URL without the password; every --home command then works on it', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase(); // with the password in it
    const home = join(tempDir(), 'author-1');
    const server = await startServerProcess({ home, args: ['--repository', url], env: { ...ADMIN, ...noPassword() } });
    const remembered = readFileSync(join(home, 'repository', 'location'), 'utf8');
    assert.match(remembered, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/capsule_\d+_\d+\n$/);
    assert.ok(!existsSync(join(home, 'repository', 'repository.sqlite')), 'no SQLite file beside it');

    const added = await runCliInProcess(['users', 'add', 'alice', '--password-stdin', '--home', home], { stdin: 'alice-pw-correct-horse\n', env: pg.env });
    assert.equal(added.code, 0, added.stderr);
    const listed = await runCliInProcess(['users', 'list', '--json', '--home', home], { env: pg.env });
    assert.ok(JSON.stringify(jsonOf(listed)).includes('alice'));
    const login = await fetch(`${server.url}/j_security_check`, {
      method: 'POST',
      body: new URLSearchParams({ j_username: 'alice', j_password: 'alice-pw-correct-horse' }),
      redirect: 'manual',
    });
    assert.ok(login.headers.get('set-cookie')?.includes('login-token='), 'the running instance sees the user the CLI added');

    // Without a password anywhere, a command says where it could not connect, in one line.
    const refused = await runCli(['users', 'list', '--home', home], { env: noPassword() }); // HOME: ~/.pgpass is read from the process's environment
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr.trim(), new RegExp(`^capsule: .*host 127\\.0\\.0\\.1, port ${pg.port}, database capsule_\\d+_\\d+.*password`));
    assert.equal(refused.stderr.trim().split('\n').length, 1);

    const info = await runCliInProcess(['repository', 'info', '--json', '--home', home], { env: pg.env });
    assert.equal(info.code, 0, info.stderr);
    const parsed = jsonOf<{ backend: string; location: string; nodeCount: number; schemaVersion: number; warnings: string[] }>(info);
    assert.equal(parsed.backend, 'postgres');
    // The test clusters run with synchronous_commit=off: info says what that risks.
    assert.ok(parsed.warnings.some((warning) => /synchronous_commit = off: a server crash may lose writes/.test(warning)), info.stdout);
    const text = await runCliInProcess(['repository', 'info', '--home', home], { env: pg.env });
    assert.match(text.stdout, /^warning +PostgreSQL runs with synchronous_commit = off/m);
    assert.equal(parsed.location, remembered.trim());
    assert.ok(parsed.nodeCount > 5);
    await server.stop();
    for (const text of [server.output(), added.stdout, added.stderr, listed.stdout, refused.stderr, info.stdout, remembered]) {
      assert.ok(!text.includes(POSTGRES_PASSWORD), 'the password never reaches a log, an error, info or a file');
    }
  });

  it('a new home joins a repository that keeps its keys in /etc/key', async () => {
    const pg = await cluster();
    const url = pg.url((await pg.createDatabase()).split('/').pop()!);
    const first = join(tempDir(), 'author-1');
    const second = join(tempDir(), 'author-2');
    const a = await startServerProcess({ home: first, args: ['--repository', url, '--key-storage', 'repository'], env: { ...ADMIN, ...pg.env } });
    const b = await startServerProcess({ home: second, args: ['--repository', url], env: { ...ADMIN, ...pg.env } });
    assert.match(b.output(), /joined the shared repository/);
    assert.doesNotMatch(a.output(), /joined/);
    const [fa, fb] = await Promise.all(
      [first, second].map(async (home) => jsonOf<Fingerprint>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', home], { env: pg.env }))),
    );
    assert.equal(fb!.storage, 'repository');
    assert.deepEqual([fb!.master.id, fb!.hmac.id], [fa!.master.id, fa!.hmac.id]);
    assert.deepEqual(readdirSync(join(second, 'keys')), ['storage'], 'no key files of its own');
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a new home on a repository whose instances keep file keys refuses to start until the keys are imported', async () => {
    const pg = await cluster();
    const url = pg.url((await pg.createDatabase()).split('/').pop()!);
    const first = join(tempDir(), 'author-1');
    const second = join(tempDir(), 'author-2');
    const a = await startServerProcess({ home: first, args: ['--repository', url], env: { ...ADMIN, ...pg.env } });
    await a.stop();

    const refused = await runCli(['start', '--home', second, '--repository', url, '--port', String(await freePort())], { env: { ...ADMIN, ...pg.env } });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /capsule keys import/);
    const keyFiles = existsSync(join(second, 'keys')) ? readdirSync(join(second, 'keys')) : [];
    assert.ok(!keyFiles.includes('master') && !keyFiles.includes('hmac'), 'it made no keys of its own');

    const bundle = join(tempDir(), 'keys.bundle');
    const exported = await runCliInProcess(['keys', 'export', '--out', bundle, '--home', first], { env: { ...pg.env, ...PASS } });
    assert.equal(exported.code, 0, exported.stderr);
    const imported = await runCliInProcess(['keys', 'import', '--in', bundle, '--home', second], { env: { ...pg.env, ...PASS } });
    assert.equal(imported.code, 0, imported.stderr);
    const b = await startServerProcess({ home: second, args: ['--repository', url], env: { ...ADMIN, ...pg.env } });
    const [fa, fb] = await Promise.all(
      [first, second].map(async (home) => jsonOf<Fingerprint>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', home], { env: pg.env }))),
    );
    assert.deepEqual([fb!.master.id, fb!.hmac.id], [fa!.master.id, fa!.hmac.id]);
    await b.stop();
  });

  it('refuses to put an existing SQLite home on PostgreSQL with --repository, and a second URL on a PostgreSQL home', async () => {
    const pg = await cluster();
    const sqliteHome = join(tempDir(), 'old');
    const server = await startServerProcess({ home: sqliteHome, env: ADMIN });
    await server.stop();
    const url = await pg.createDatabase();
    const moved = await runCli(['start', '--home', sqliteHome, '--repository', url, '--port', String(await freePort())], { env: ADMIN });
    assert.notEqual(moved.code, 0);
    assert.match(moved.stderr, /capsule repository copy/);
    assert.ok(!moved.stderr.includes(POSTGRES_PASSWORD));
  });
});
