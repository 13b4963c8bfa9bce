import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteRepository } from '../../src/repository/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { EXPECTED_VALUES, readProtectedValues, writeProtectedValues } from '../helpers/protected-home.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

/**
 * Every file of the home (path, mode, SHA-256) but the SQLite files and the CLI's audit log
 * (which records every attempt), and every node and counter the repository holds.
 */
async function snapshot(home: string): Promise<unknown> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(home, path);
      if (rel === 'repository' || rel === 'audit.log') continue;
      const stat = statSync(path);
      const mode = (stat.mode & 0o777).toString(8);
      if (stat.isDirectory()) {
        files[`${rel}/`] = mode;
        walk(path);
      } else files[rel] = `${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(home);
  const file = join(home, 'repository', 'repository.sqlite');
  if (!existsSync(file)) return { files };
  const repo = openSqliteRepository({ file, clock: systemClock });
  try {
    return { files, nodes: await repo.getSubtree('/'), counters: await repo.readCounters() };
  } finally {
    await repo.close();
  }
}

async function bundleOf(home: string): Promise<string> {
  const bundle = join(tempDir(), 'keys.bundle');
  assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', home], { env: PASS })).code, 0);
  return bundle;
}

describe('--dry-run on keys migrate and keys import', () => {
  it('keys migrate --dry-run says each step, changes neither the home nor the repository, and the real run then does those steps', async () => {
    const home = await initialisedHome({ keyStorage: 'repository' });
    await writeProtectedValues(home);
    const before = await snapshot(home);
    const dry = await runCliInProcess(['keys', 'migrate', '--dry-run', '--home', home]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^dry run, nothing was changed; 'capsule keys migrate' would:\n {2}- write .*keys\/master and .*keys\/hmac \(mode 0600\) with the keys of \/etc\/key \(master \w{16}, hmac \w{16}\) and read them back\n {2}- switch .*keys\/storage from 'repository' to 'file'\n {2}- remove the keys from \/etc\/key\n$/,
    );
    const json = jsonOf<{ dryRun: boolean; changed: boolean; storage: string; steps: string[] }>(await runCliInProcess(['keys', 'migrate', '--dry-run', '--json', '--home', home]));
    assert.deepEqual([json.dryRun, json.changed, json.storage, json.steps.length], [true, false, 'file', 3]);
    assert.deepEqual(await snapshot(home), before, 'nothing changed');

    const real = jsonOf<{ dryRun: boolean; changed: boolean; steps: string[] }>(await runCliInProcess(['keys', 'migrate', '--json', '--home', home]));
    assert.deepEqual([real.dryRun, real.changed, real.steps], [false, true, json.steps]);
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);

    const back = await runCliInProcess(['keys', 'migrate', '--to', 'repository', '--dry-run', '--home', home]);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /- write the keys of keys\/ .* to \/etc\/key and read them back\n {2}- switch .*from 'file' to 'repository'\n {2}- remove .*keys\/master and .*keys\/hmac\n$/);
    const done = await runCliInProcess(['keys', 'migrate', '--dry-run', '--home', home]);
    assert.match(done.stdout, /already on the file system; nothing to do/);
  });

  it('a refused migrate and a refused --cluster change nothing, with --dry-run or without', async () => {
    const home = await initialisedHome({ keyStorage: 'repository' });
    const before = await snapshot(home);
    const cluster = await runCliInProcess(['keys', 'migrate', '--cluster', '--home', home]);
    assert.equal(cluster.code, 2);
    assert.match(cluster.stderr, /--cluster is for a repository shared by several authors \(PostgreSQL\); this home's repository is its own: leave out --cluster/);
    assert.equal((await runCliInProcess(['keys', 'migrate', '--to', 'cloud', '--dry-run', '--home', home])).code, 2);
    assert.deepEqual(await snapshot(home), before);
  });

  it('keys import --dry-run says what it would replace and back up, and writes nothing, also into a home never started', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const bundle = await bundleOf(await initialisedHome());
    const before = await snapshot(home);
    const refused = await runCliInProcess(['keys', 'import', '--dry-run', '--in', bundle, '--home', home], { env: PASS });
    assert.equal(refused.code, 2, 'the dry run refuses what the real run refuses');
    assert.match(refused.stderr, /this home has other keys .* and 3 protected values use them; nothing was changed; pass --force/);
    const dry = await runCliInProcess(['keys', 'import', '--force', '--dry-run', '--in', bundle, '--home', home], { env: PASS });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^dry run, nothing was changed; 'capsule keys import' would:\n {2}- copy the current keys \(master \w{16}, hmac \w{16}\) to .*keys\/backup-.*\n {2}- keep the replaced master \w{16} as a retired master key \(it still decrypts what it protected\)\n {2}- write .*keys\/hmac \(hmac \w{16}\) and .*keys\/master \(master \w{16}\)\n$/,
    );
    assert.deepEqual(await snapshot(home), before, 'nothing changed');
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);

    const fresh = join(tempDir(), 'fresh');
    const intoNew = await runCliInProcess(['keys', 'import', '--dry-run', '--in', bundle, '--home', fresh], { env: PASS });
    assert.equal(intoNew.code, 0, intoNew.stderr);
    assert.match(intoNew.stdout, /- write .*keys\/hmac .*\n {2}- write .*keys\/storage: 'file'\n$/);
    assert.equal(existsSync(fresh), false, 'not even the folder was made');

    const same = await runCliInProcess(['keys', 'import', '--dry-run', '--in', await bundleOf(home), '--home', home], { env: PASS });
    assert.match(same.stdout, /dry run: this home already has these keys .*nothing would change/);
  });
});
