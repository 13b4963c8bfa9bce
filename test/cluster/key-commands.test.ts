import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';
import { PASSPHRASE, restartAndCheck, startTwoAuthors, type TwoAuthors } from '../helpers/two-authors.js';

interface Fingerprint {
  storage: string;
  master: { id: string };
  hmac: { id: string };
}

async function fingerprint(cluster: TwoAuthors, index: 0 | 1): Promise<Fingerprint> {
  return jsonOf<Fingerprint>(await cluster.cli(['keys', 'fingerprint', '--json', '--home', cluster.homes[index]]));
}

async function etcKeyExists(cluster: TwoAuthors, pg: Awaited<ReturnType<ReturnType<typeof sharedPostgres>>>): Promise<boolean> {
  return (await pg.sql(cluster.database, "SELECT 1 FROM capsule_nodes WHERE path = '/etc/key'")).length === 1;
}

/** A bundle of keys that no author of the cluster has. */
async function otherKeysBundle(): Promise<{ bundle: string; master: string; hmac: string }> {
  const other = await initialisedHome();
  const bundle = join(tempDir(), 'other.bundle');
  assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', other], { env: { CAPSULE_KEYS_PASSPHRASE: PASSPHRASE } })).code, 0);
  const ids = jsonOf<Fingerprint>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', other]));
  return { bundle, master: ids.master.id, hmac: ids.hmac.id };
}

describe('key commands on two authors sharing one PostgreSQL repository', () => {
  const postgres = sharedPostgres();

  it('keys migrate on one author is refused and changes nothing; both authors restart and verify each other (the loop of issue 22)', async () => {
    const pg = await postgres();
    const cluster = await startTwoAuthors(pg, { keyStorage: 'repository' });
    await cluster.start();
    // As an operator would, with both authors running: this is what removed /etc/key under author-2.
    const running = await cluster.cli(['keys', 'migrate', '--home', cluster.homes[0]]);
    await restartAndCheck(cluster); // where an older Capsule failed: author-2 did not start
    assert.ok(await etcKeyExists(cluster, pg), '/etc/key is still there');
    assert.equal(running.code, 2, running.stdout);
    assert.match(running.stderr, /shared by every author .*other authors read their keys from \/etc\/key.*nothing was changed.*'capsule keys migrate --cluster'/);

    await cluster.stop();
    const before = await cluster.snapshot();
    for (const args of [['keys', 'migrate'], ['keys', 'migrate', '--to', 'file', '--json']]) {
      const refused = await cluster.cli([...args, '--home', cluster.homes[0]]);
      assert.equal(refused.code, 2, refused.stdout);
    }
    assert.deepEqual(await cluster.snapshot(), before, 'the refused command changed neither home nor the repository');
    await cluster.start();
    const [one, two] = await Promise.all([fingerprint(cluster, 0), fingerprint(cluster, 1)]);
    assert.deepEqual([one.storage, two.storage], ['repository', 'repository']);
    await cluster.stop();
  });

  it('keys migrate --cluster gives one author at a time a copy in keys/, leaves /etc/key for the other, and goes back with --to repository; --dry-run changes nothing', async () => {
    const pg = await postgres();
    const cluster = await startTwoAuthors(pg, { keyStorage: 'repository' });
    const before = await cluster.snapshot();
    const dry = await cluster.cli(['keys', 'migrate', '--cluster', '--dry-run', '--home', cluster.homes[0]]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run, nothing was changed; 'capsule keys migrate' would:\n {2}- write .*keys\/master and .*keys\/hmac .*\n {2}- switch .*keys\/storage from 'repository' to 'file'\n {2}- leave \/etc\/key as it is/);
    const dryJson = jsonOf<{ dryRun: boolean; changed: boolean; steps: string[] }>(await cluster.cli(['keys', 'migrate', '--cluster', '--dry-run', '--json', '--home', cluster.homes[0]]));
    assert.deepEqual([dryJson.dryRun, dryJson.changed, dryJson.steps.length], [true, false, 3]);
    assert.deepEqual(await cluster.snapshot(), before, '--dry-run changed neither home nor the repository');

    const migrated = await cluster.cli(['keys', 'migrate', '--cluster', '--home', cluster.homes[0]]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.match(migrated.stdout, /copied the keys from \/etc\/key to .* and verified them; this author now reads keys\/; \/etc\/key stays/);
    assert.ok(await etcKeyExists(cluster, pg));
    let logs = await restartAndCheck(cluster);
    assert.deepEqual([(await fingerprint(cluster, 0)).storage, (await fingerprint(cluster, 1)).storage], ['file', 'repository']);
    for (const log of logs) assert.doesNotMatch(log, /keys migrate/, 'no author is told to migrate');
    const again = await cluster.cli(['keys', 'migrate', '--home', cluster.homes[0]]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already reads its keys from keys\/; \/etc\/key keeps the same keys for the other authors .*nothing to do/);

    assert.equal((await cluster.cli(['keys', 'migrate', '--cluster', '--home', cluster.homes[1]])).code, 0);
    logs = await restartAndCheck(cluster);
    assert.deepEqual([(await fingerprint(cluster, 0)).storage, (await fingerprint(cluster, 1)).storage], ['file', 'file']);
    for (const log of logs) assert.doesNotMatch(log, /keys migrate/);

    const back = await cluster.cli(['keys', 'migrate', '--to', 'repository', '--home', cluster.homes[0]]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(existsSync(join(cluster.homes[0], 'keys', 'master')), false);
    logs = await restartAndCheck(cluster);
    assert.deepEqual([(await fingerprint(cluster, 0)).storage, (await fingerprint(cluster, 1)).storage], ['repository', 'file']);
    for (const log of logs) assert.doesNotMatch(log, /keys migrate/);
    await cluster.stop();
  });

  it('a cluster broken by an older migrate (author-1 on key files, /etc/key gone) is repaired by export and import, with no advice to migrate again', async () => {
    const pg = await postgres();
    const cluster = await startTwoAuthors(pg, { keyStorage: 'repository' });
    assert.equal((await cluster.cli(['keys', 'migrate', '--cluster', '--home', cluster.homes[0]])).code, 0);
    // What an older Capsule's migrate did after writing the files: remove the keys from the shared repository.
    await pg.sql(cluster.database, "DELETE FROM capsule_nodes WHERE path = '/etc/key'");

    const refused = await cluster.start().then(
      () => null,
      (error: Error) => error.message,
    );
    assert.match(refused ?? '', /author-2 did not start: .*lacks the master key.*'capsule keys import --in BUNDLE' \(a bundle exported on another author of this repository/s);
    assert.doesNotMatch(refused ?? '', /keys migrate/);
    await cluster.stop();

    const bundle = join(tempDir(), 'cluster.bundle');
    assert.equal((await cluster.cli(['keys', 'export', '--out', bundle, '--home', cluster.homes[0]])).code, 0);
    const imported = await cluster.cli(['keys', 'import', '--in', bundle, '--home', cluster.homes[1]]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /into \/etc\/key/);
    const logs = await restartAndCheck(cluster);
    for (const log of logs) assert.doesNotMatch(log, /keys migrate/, 'author-1 no longer advises a migrate that would break author-2 again');
    const again = await cluster.cli(['keys', 'migrate', '--home', cluster.homes[0]]);
    assert.match(again.stdout, /nothing to do/);
    await cluster.stop();
  });

  it('keys import of other keys into /etc/key: refused without --force (nothing changes), --dry-run changes nothing, --force switches both authors and keeps a backup', async () => {
    const pg = await postgres();
    const cluster = await startTwoAuthors(pg, { keyStorage: 'repository' });
    const old = await fingerprint(cluster, 0);
    const other = await otherKeysBundle();
    const before = await cluster.snapshot();

    const refused = await cluster.cli(['keys', 'import', '--in', other.bundle, '--home', cluster.homes[1]]);
    assert.equal(refused.code, 2, refused.stdout);
    assert.match(refused.stderr, /this home has other keys .*every author of this shared repository that keeps its keys in \/etc\/key uses them; nothing was changed; pass --force/);
    const dry = await cluster.cli(['keys', 'import', '--force', '--dry-run', '--in', other.bundle, '--home', cluster.homes[1]]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run, nothing was changed; 'capsule keys import' would:\n {2}- copy the current keys \(master .*\) to .*backup-.*\n {2}- keep the replaced master \w+ as a retired master key \(in \/etc\/key too, for every author that reads it\).*\n {2}- write master \w+ and hmac \w+ to \/etc\/key/);
    assert.deepEqual(await cluster.snapshot(), before, 'the refused import and the dry run changed neither home nor the repository');

    const forced = await cluster.cli(['keys', 'import', '--force', '--in', other.bundle, '--home', cluster.homes[1]]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /every author that keeps its keys in \/etc\/key reloads them/);
    const backups = readdirSync(join(cluster.homes[1], 'keys')).filter((name) => name.startsWith('backup-'));
    assert.equal(backups.length, 1);
    assert.equal(readFileSync(join(cluster.homes[1], 'keys', backups[0]!, 'master')).length, 32, 'the replaced master key is kept');
    // The replaced master stays in /etc/key as a retired one: the other author still decrypts the cluster's first value.
    await restartAndCheck(cluster);
    const [one, two] = await Promise.all([fingerprint(cluster, 0), fingerprint(cluster, 1)]);
    assert.deepEqual([one.master.id, one.hmac.id, two.master.id, two.hmac.id], [other.master, other.hmac, other.master, other.hmac]);
    assert.notEqual(one.master.id, old.master.id);
    await cluster.stop();
  });

  it('keys import into an author with key files refuses keys apart from /etc/key, even with --force, and changes nothing', async () => {
    const pg = await postgres();
    const cluster = await startTwoAuthors(pg, { keyStorage: 'repository' });
    assert.equal((await cluster.cli(['keys', 'migrate', '--cluster', '--home', cluster.homes[0]])).code, 0);
    const other = await otherKeysBundle();
    const before = await cluster.snapshot();
    const refused = await cluster.cli(['keys', 'import', '--force', '--in', other.bundle, '--home', cluster.homes[0]]);
    assert.equal(refused.code, 2, refused.stdout);
    assert.match(refused.stderr, /this home keeps its keys in files, on a repository shared by several authors whose keys are in \/etc\/key .*nothing was changed; import a bundle of the cluster's keys/);
    assert.deepEqual(await cluster.snapshot(), before);
    await restartAndCheck(cluster);
    await cluster.stop();
  });

  it('when the cluster keys change through /etc/key, an author on key files refuses to start (issuing nothing) until it imports them', async () => {
    const pg = await postgres();
    const cluster = await startTwoAuthors(pg, { keyStorage: 'repository' });
    assert.equal((await cluster.cli(['keys', 'migrate', '--cluster', '--home', cluster.homes[0]])).code, 0);
    const other = await otherKeysBundle();
    assert.equal((await cluster.cli(['keys', 'import', '--force', '--in', other.bundle, '--home', cluster.homes[1]])).code, 0);

    const refused = await cluster.start().then(
      () => null,
      (error: Error) => error.message,
    );
    assert.match(refused ?? '', /author-1 did not start: .*\/etc\/key holds the keys the authors of this shared repository read .*this home's key files hold others .*'capsule keys import --force --in keys\.bundle/s);
    assert.doesNotMatch(refused ?? '', /author-2 did not start/);
    assert.doesNotMatch(refused ?? '', /keys migrate/);
    await cluster.stop();

    const bundle = join(tempDir(), 'cluster.bundle');
    assert.equal((await cluster.cli(['keys', 'export', '--out', bundle, '--home', cluster.homes[1]])).code, 0);
    const imported = await cluster.cli(['keys', 'import', '--force', '--in', bundle, '--home', cluster.homes[0]]);
    assert.equal(imported.code, 0, imported.stderr);
    await restartAndCheck(cluster);
    const [one, two] = await Promise.all([fingerprint(cluster, 0), fingerprint(cluster, 1)]);
    assert.deepEqual([one.storage, one.master.id, two.storage, two.master.id], ['file', other.master, 'repository', other.master]);
    await cluster.stop();
  });

  for (const keyStorage of ['repository', 'file'] as const) {
    it(`keys rotate is refused on the shared repository (${keyStorage} key storage), changes nothing, and does not send the operator to migrate`, async () => {
      const pg = await postgres();
      const cluster = await startTwoAuthors(pg, { keyStorage });
      const before = await cluster.snapshot();
      for (const which of ['--hmac', '--master']) {
        const refused = await cluster.cli(['keys', 'rotate', which, '--home', cluster.homes[0]]);
        assert.equal(refused.code, 2, refused.stdout);
        assert.match(refused.stderr, new RegExp(`keys rotate ${which} is refused on a repository shared by several authors \\(PostgreSQL\\).*nothing was changed`));
        assert.doesNotMatch(refused.stderr, /migrate/);
      }
      assert.deepEqual(await cluster.snapshot(), before);
      const logs = await restartAndCheck(cluster);
      for (const log of logs) assert.doesNotMatch(log, /keys migrate/);
      if (keyStorage === 'file') {
        // A cluster on key files can put its keys where every author sees them.
        const moved = await cluster.cli(['keys', 'migrate', '--to', 'repository', '--home', cluster.homes[0]]);
        assert.equal(moved.code, 0, moved.stderr);
        for (const log of await restartAndCheck(cluster)) assert.doesNotMatch(log, /keys migrate/, 'the file-keyed author is not told to migrate');
      }
      await cluster.stop();
    });
  }
});
