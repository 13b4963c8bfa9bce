import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

interface Fingerprint {
  storage: string;
  master: { id: string };
  hmac: { id: string };
}

describe('keys import on a PostgreSQL home', () => {
  const cluster = sharedPostgres();

  it('works on the repository the home remembers: refuses other keys without --force, replaces /etc/key with it, writes no key files', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const home = join(tempDir(), 'author');
    const server = await startServerProcess({ home, args: ['--repository', url, '--key-storage', 'repository'], env: { ...pg.env, CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    await server.stop();
    const before = jsonOf<Fingerprint>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', home], { env: pg.env }));
    assert.equal(before.storage, 'repository');

    const other = await initialisedHome();
    const bundle = join(tempDir(), 'other.bundle');
    assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', other], { env: PASS })).code, 0);
    const theirs = jsonOf<Fingerprint>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', other]));

    const refused = await runCliInProcess(['keys', 'import', '--in', bundle, '--home', home], { env: { ...pg.env, ...PASS } });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`this home has other keys \\(master ${before.master.id}, hmac ${before.hmac.id}`));
    assert.equal(existsSync(join(home, 'keys', 'master')), false, 'no key file was written');

    const forced = await runCliInProcess(['keys', 'import', '--force', '--in', bundle, '--home', home], { env: { ...pg.env, ...PASS } });
    assert.equal(forced.code, 0, forced.stderr);
    const after = jsonOf<Fingerprint>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', home], { env: pg.env }));
    assert.deepEqual([after.storage, after.master.id, after.hmac.id], ['repository', theirs.master.id, theirs.hmac.id], '/etc/key holds the imported keys');
    assert.equal(existsSync(join(home, 'keys', 'master')), false, 'still no key files: the keys live in the repository');
  });
});
