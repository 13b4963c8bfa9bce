import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { TOKEN_TYPE } from '../../src/auth/index.js';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCli, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { login, sessionStatus } from '../helpers/http.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };
const ADMIN = { CAPSULE_ADMIN_PASSWORD: 'admin-password' };
const OAUTH_SECRET = 'the analytics client secret';
const OAUTH_PID = 'capsule.oauth.client~analytics';

/** Every file under `dir` (but the audit log, which records the commands run on it) with its SHA-256. */
function snapshotOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const visit = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) visit(path);
      else if (name !== 'audit.log') files[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  if (existsSync(dir)) visit(dir);
  return files;
}

async function cli(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = await runCliInProcess(args, { ...options, env: { ...PASS, ...options.env } });
  assert.equal(result.code, 0, `capsule ${args.join(' ')}: ${result.stderr}`);
  return result;
}

/** A running instance with a user, a content node and an OAuth client whose secret is protected. */
async function runningHome(): Promise<{ home: string; server: ServerProcess }> {
  const home = join(tempDir(), 'home');
  const server = await startServerProcess({ home, env: ADMIN });
  await cli(['users', 'add', 'alice', '--password-stdin', '--home', home], { stdin: 'alice-password' });
  await cli(['content', 'put', '/content/site', '--json', '{"title":"Site"}', '--home', home]);
  await cli(
    ['oauth', 'add', 'analytics', '--token-endpoint', 'http://127.0.0.1:9/token', '--client-id', 'capsule', '--client-secret-stdin', '--home', home],
    { stdin: OAUTH_SECRET },
  );
  return { home, server };
}

/** A stopped home with the same things in it. */
async function stoppedHome(): Promise<string> {
  const { home, server } = await runningHome();
  assert.equal(await server.stop(), 0);
  return home;
}

let shared: Promise<{ home: string; backup: string }> | undefined;
/** One stopped home and its backup, for the tests that only read them. */
function sharedHome(): Promise<{ home: string; backup: string }> {
  shared ??= stoppedHome().then(async (home) => ({ home, backup: await backupOf(home) }));
  return shared;
}

async function backupOf(home: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const out = join(tempDir(), 'home.backup');
  await cli(['backup', '--home', home, '--out', out], { env });
  return out;
}

async function storedTokens(home: string): Promise<number> {
  const services = await openServices({ home, clock: systemClock });
  try {
    return await services.repo.countByType(TOKEN_TYPE);
  } finally {
    await services.close();
  }
}

async function oauthSecretOf(home: string): Promise<string> {
  const services = await openServices({ home, clock: systemClock });
  try {
    return services.crypto.unprotect(services.config.stored(OAUTH_PID)!['client.secret'] as string);
  } finally {
    await services.close();
  }
}

describe('capsule backup and restore', () => {
  it('backs up a running instance while it is written to; the restored home starts with its users, content and secrets', async () => {
    const { home, server } = await runningHome();
    // A repository of several MiB, so the snapshot takes several steps while the writes go on.
    const bulk = Object.fromEntries(Array.from({ length: 1500 }, (_, index) => [`page${index}`, { body: 'x'.repeat(4000) }]));
    const bulkFile = join(tempDir(), 'bulk.json');
    writeFileSync(bulkFile, JSON.stringify(bulk));
    await cli(['content', 'import', bulkFile, '--at', '/content/bulk', '--home', home]);

    const aliceToken = await login(server.url, 'alice', 'alice-password');
    // Writes through HTTP (every login stores a token) from before the backup starts until it ends.
    let logins = 0;
    let writing = true;
    let firstLogin!: () => void;
    const started = new Promise<void>((resolve) => (firstLogin = resolve));
    const writer = (async () => {
      while (writing) {
        await login(server.url, 'admin', 'admin-password');
        logins += 1;
        firstLogin();
      }
    })();
    await started;
    const out = join(tempDir(), 'running.backup');
    const loginsBefore = logins;
    const backup = await runCliInProcess(['backup', '--home', home, '--out', out, '--json'], { env: PASS });
    const loginsDuring = logins - loginsBefore;
    writing = false;
    await writer;
    assert.equal(backup.code, 0, backup.stderr);
    assert.ok(loginsDuring > 0, 'the instance was written to while the backup ran');
    const report = jsonOf<{ file: string; counts: { users: number; content: number }; files: string[] }>(backup);
    assert.equal(report.counts.users, 2);
    assert.ok(report.counts.content >= 1502, `content nodes: ${report.counts.content}`);
    assert.deepEqual(report.files, ['keys/storage', 'repository/repository.sqlite']);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const text = readFileSync(out);
    const master = readFileSync(join(home, 'keys', 'master'));
    assert.ok(!text.includes(master) && !text.includes(master.toString('base64')) && !text.includes(master.toString('hex')), 'no key in clear');
    assert.equal(await server.stop(), 0);
    const tokensAfter = await storedTokens(home);

    const target = join(tempDir(), 'restored');
    const restore = await cli(['restore', '--in', out, '--home', target]);
    assert.match(restore.stdout, /keys doctor: 0 problems, 0 warnings; 1 of 1 protected values decrypt\nstart it with: capsule start --home .*restored$/m);
    for (const name of ['initial-admin-password', 'instance.lock']) assert.ok(!existsSync(join(target, name)), `${name} is not restored`);
    assert.equal(statSync(join(target, 'keys', 'master')).mode & 0o777, 0o600);
    assert.deepEqual(readFileSync(join(target, 'keys', 'master')), master);
    // A consistent snapshot: the tokens stored by the time the backup began, and not more than at the end.
    const restoredTokens = await storedTokens(target);
    assert.ok(restoredTokens <= tokensAfter && restoredTokens >= 1, `tokens ${restoredTokens} of ${tokensAfter}`);

    const restored = await startServerProcess({ home: target });
    assert.equal(await sessionStatus(restored.url, aliceToken), 200, 'a login made before the backup is valid on the restored home');
    assert.ok(await login(restored.url, 'alice', 'alice-password'), 'alice signs in on the restored home');
    const site = await fetch(`${restored.url}/content/site.json`);
    assert.equal(site.status, 200);
    assert.equal(((await site.json()) as { title: string }).title, 'Site');
    assert.equal(await oauthSecretOf(target), OAUTH_SECRET);
    const doctor = await runCliInProcess(['keys', 'doctor', '--home', target]);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.equal(await restored.stop(), 0);
  });

  it('restore refuses a non-empty home and a wrong passphrase, changing nothing', async () => {
    const { backup: out } = await sharedHome();
    const other = (await sharedHome()).home;
    const before = snapshotOf(other);
    const refused = await runCliInProcess(['restore', '--in', out, '--home', other], { env: PASS });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /is not empty \(\d+ entries, e\.g\. [^)]+\); restore into a new or empty folder; nothing was changed/);
    assert.deepEqual(snapshotOf(other), before);

    const parent = tempDir();
    const target = join(parent, 'restored');
    const wrong = await runCliInProcess(['restore', '--in', out, '--home', target], { env: { CAPSULE_KEYS_PASSPHRASE: 'not the passphrase' } });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /the passphrase is wrong or the bundle is damaged; nothing was written/);
    assert.deepEqual(readdirSync(parent), [], 'no home, no hidden folder');
    const noHome = await runCliInProcess(['restore', '--in', out], { env: { ...PASS, CAPSULE_HOME: target } });
    assert.equal(noHome.code, 2);
    assert.match(noHome.stderr, /name the home to create with --home DIR/);
    const none = await runCliInProcess(['restore', '--in', out, '--home', target], { env: { CAPSULE_KEYS_PASSPHRASE: '' } });
    assert.match(none.stderr, /CAPSULE_KEYS_PASSPHRASE/);
    assert.deepEqual(readdirSync(parent), []);

    const empty = join(parent, 'empty');
    mkdirSync(empty);
    await cli(['restore', '--in', out, '--home', empty]); // an empty folder is a new home
    assert.equal(await oauthSecretOf(empty), OAUTH_SECRET);
  });

  it('refuses a damaged or altered backup, writing nothing', async () => {
    const { backup: out } = await sharedHome();
    const bytes = readFileSync(out);
    const folder = tempDir();
    const variants: Record<string, Buffer> = {
      truncated: bytes.subarray(0, bytes.length - 100),
      'flipped byte': Buffer.concat([bytes.subarray(0, bytes.length - 50), Buffer.from([bytes[bytes.length - 50]! ^ 1]), bytes.subarray(bytes.length - 49)]),
      // the counts changed in the manifest: its HMAC, keyed from the master key in the bundle, no longer matches
      'altered manifest': Buffer.from(bytes.toString('latin1').replace('"users":2', '"users":3'), 'latin1'),
      'not a backup': Buffer.from('hello\n'),
    };
    const messages: Record<string, RegExp> = {
      truncated: /cut off/,
      'flipped byte': /does not match its checksum/,
      'altered manifest': /was altered, or assembled from two backups/,
      'not a backup': /not a Capsule backup/,
    };
    for (const [name, content] of Object.entries(variants)) {
      const file = join(folder, `${name}.backup`);
      writeFileSync(file, content);
      const target = join(folder, 'target');
      for (const dryRun of [[], ['--dry-run']]) {
        const result = await runCliInProcess(['restore', '--in', file, '--home', target, ...dryRun], { env: PASS });
        assert.equal(result.code, 2, `${name}: ${result.stderr}`);
        assert.match(result.stderr, messages[name]!, name);
        assert.match(result.stderr, /nothing was written/);
      }
      assert.ok(!existsSync(join(folder, 'target')), name);
      assert.deepEqual(readdirSync(folder).filter((entry) => entry.startsWith('.')), [], `${name}: no hidden folder left`);
    }
  });

  it('--dry-run checks the file and the passphrase, says what would be restored, and writes nothing', async () => {
    const { backup: out } = await sharedHome();
    const parent = tempDir();
    const target = join(parent, 'restored');
    const dry = await cli(['restore', '--in', out, '--home', target, '--dry-run']);
    assert.match(dry.stdout, /^dry run: the backup .* is sound and the passphrase opens it; restoring it would create .*restored with:/);
    assert.match(dry.stdout, /\d+ nodes \(2 users, 2 groups, 1 content nodes, 1 configurations\), 1 protected values/);
    assert.match(dry.stdout, /keys \(file storage\): master [0-9a-f]{16}, hmac [0-9a-f]{16}/);
    assert.match(dry.stdout, /files: keys\/storage \(\d+ bytes\), repository\/repository\.sqlite \(\d+ bytes\)/);
    assert.match(dry.stdout, /nothing was written$/m);
    const json = jsonOf<{ dryRun: boolean; keys: { master: string } }>(await cli(['restore', '--in', out, '--home', target, '--dry-run', '--json']));
    assert.equal(json.dryRun, true);
    assert.match(json.keys.master, /^[0-9a-f]{16}$/);
    assert.deepEqual(readdirSync(parent), []);
    const wrong = await runCliInProcess(['restore', '--in', out, '--home', target, '--dry-run'], { env: { CAPSULE_KEYS_PASSPHRASE: 'not the passphrase' } });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /the passphrase is wrong/);
    assert.deepEqual(readdirSync(parent), []);
  });

  for (const point of ['backup:snapshot-taken', 'backup:archive-written']) {
    it(`a backup killed at ${point} leaves no output file and the source home intact`, async () => {
      const { home } = await sharedHome();
      const before = snapshotOf(home);
      const out = join(tempDir(), 'killed.backup');
      const killed = await runCli(['backup', '--home', home, '--out', out], { env: { ...PASS, CAPSULE_FAILPOINT: point } });
      assert.equal(killed.code, null, 'killed');
      assert.ok(!existsSync(out), 'no output file');
      assert.deepEqual(snapshotOf(home), before);
      // and the next backup works, and restores
      await cli(['backup', '--home', home, '--out', out]);
      const target = join(tempDir(), 'restored');
      await cli(['restore', '--in', out, '--home', target]);
      assert.equal(await oauthSecretOf(target), OAUTH_SECRET);
    });
  }

  it('a restore killed before the home is in place leaves no home', async () => {
    const { backup: out } = await sharedHome();
    const parent = tempDir();
    const killed = await runCli(['restore', '--in', out, '--home', join(parent, 'restored')], { env: { ...PASS, CAPSULE_FAILPOINT: 'restore:home-staged' } });
    assert.equal(killed.code, null, 'killed');
    assert.ok(!existsSync(join(parent, 'restored')), 'no half home');
  });

  it('never overwrites a file, and refuses a home on PostgreSQL with the way to back it up', async () => {
    const { home } = await sharedHome();
    const out = join(tempDir(), 'existing.backup');
    writeFileSync(out, 'keep me');
    const exists = await runCliInProcess(['backup', '--home', home, '--out', out], { env: PASS });
    assert.equal(exists.code, 2);
    assert.match(exists.stderr, /exists; choose another name \(a backup never overwrites a file\)/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');

    const postgresHome = join(tempDir(), 'pg-home');
    mkdirSync(join(postgresHome, 'repository'), { recursive: true });
    mkdirSync(join(postgresHome, 'keys'));
    writeFileSync(join(postgresHome, 'keys', 'storage'), 'repository');
    writeFileSync(join(postgresHome, 'repository', 'location'), 'postgres://capsule@127.0.0.1:5432/capsule\n');
    const pgOut = join(tempDir(), 'pg.backup');
    const refused = await runCliInProcess(['backup', '--home', postgresHome, '--out', pgOut], { env: PASS });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /repository is on PostgreSQL \(postgres:\/\/capsule@127\.0\.0\.1:5432\/capsule\); back the database up with pg_dump .* and the keys with 'capsule keys export'/);
    assert.ok(!existsSync(pgOut));
  });

  it('restores a home that keeps its keys in the repository, and its configuration files', async () => {
    const home = join(tempDir(), 'home');
    const server = await startServerProcess({ home, env: ADMIN, args: ['--key-storage', 'repository'] });
    assert.equal(await server.stop(), 0);
    mkdirSync(join(home, 'config'), { recursive: true });
    const protectedValue = (await cli(['keys', 'protect', '--home', home], { stdin: 'mail password' })).stdout.trim();
    writeFileSync(join(home, 'config', 'org.example.mail.json'), JSON.stringify({ password: protectedValue }), { mode: 0o640 });
    const out = await backupOf(home);
    const target = join(tempDir(), 'restored');
    const restore = await cli(['restore', '--in', out, '--home', target]);
    assert.match(restore.stdout, /keys \(repository storage\)/);
    assert.match(restore.stdout, /1 of 1 protected values decrypt/);
    assert.equal(readFileSync(join(target, 'keys', 'storage'), 'utf8').trim(), 'repository');
    assert.ok(!existsSync(join(target, 'keys', 'master')), 'keys stay in /etc/key');
    assert.equal(statSync(join(target, 'config', 'org.example.mail.json')).mode & 0o777, 0o640);
    const plain = await cli(['keys', 'unprotect', '--home', target], { stdin: protectedValue });
    assert.equal(plain.stdout, 'mail password\n');
  });

  it('restores a home whose values keys doctor cannot decrypt, and says so with exit 1', async () => {
    const home = await initialisedHome();
    const foreign = (await cli(['keys', 'protect', '--home', (await sharedHome()).home], { stdin: 'from elsewhere' })).stdout.trim();
    mkdirSync(join(home, 'config'), { recursive: true });
    writeFileSync(join(home, 'config', 'org.example.foreign.json'), JSON.stringify({ password: foreign }));
    const out = await backupOf(home);
    const target = join(tempDir(), 'restored');
    const restore = await runCliInProcess(['restore', '--in', out, '--home', target], { env: PASS });
    assert.equal(restore.code, 1, restore.stderr);
    assert.match(restore.stdout, /keys doctor: 1 problem, \d+ warnings?; 0 of 1 protected values decrypt/);
    assert.match(restore.stdout, /ERROR config-file .*org\.example\.foreign\.json password: key [0-9a-f]{16}/);
    assert.match(restore.stderr, /the home was restored, but keys doctor found 1 problem/);
    assert.ok(existsSync(join(target, 'repository', 'repository.sqlite')));
  });

  it('refuses a backup while a master key rotation is unfinished, and takes one once it is finished', async () => {
    const home = await initialisedHome();
    await cli(['oauth', 'add', 'analytics', '--token-endpoint', 'http://127.0.0.1:9/token', '--client-id', 'capsule', '--client-secret-stdin', '--home', home], {
      stdin: OAUTH_SECRET,
    });
    const killed = await runCli(['keys', 'rotate', '--master', '--home', home], { env: { CAPSULE_FAILPOINT: 'rotate-master:staged' } });
    assert.equal(killed.code, null, 'the rotation was killed after staging its key');
    const out = join(tempDir(), 'rotating.backup');
    const refused = await runCliInProcess(['backup', '--home', home, '--out', out], { env: PASS });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /a master key rotation is in progress \(keys\/staged\/master\); finish it with 'capsule keys rotate --master', then back up; nothing was written/);
    assert.ok(!existsSync(out));
    await cli(['keys', 'rotate', '--master', '--home', home]);
    await cli(['backup', '--home', home, '--out', out]);
    const target = join(tempDir(), 'restored');
    await cli(['restore', '--in', out, '--home', target]);
    assert.equal(await oauthSecretOf(target), OAUTH_SECRET);
  });

  it('explains both commands in --help', async () => {
    const backup = await cli(['backup', '--help']);
    assert.match(backup.stdout, /--out <file>/);
    assert.match(backup.stdout, /CAPSULE_KEYS_PASSPHRASE/);
    assert.match(backup.stdout, /pg_dump/);
    assert.match(backup.stdout, /Only the keys are encrypted: the repository and the configuration files are in clear/);
    const restore = await cli(['restore', '--help']);
    assert.match(restore.stdout, /--in <file>/);
    assert.match(restore.stdout, /--dry-run/);
    assert.match(restore.stdout, /a new or empty folder/);
  });
});
