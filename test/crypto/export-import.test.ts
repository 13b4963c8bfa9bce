import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fingerprint, keyId } from '../../src/crypto/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { EXPECTED_VALUES, readProtectedValues, writeProtectedValues } from '../helpers/protected-home.js';
import { tempDir } from '../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

function keysOf(home: string) {
  return { master: readFileSync(join(home, 'keys', 'master')), hmac: readFileSync(join(home, 'keys', 'hmac')) };
}

async function exportFrom(home: string): Promise<string> {
  const out = join(tempDir(), 'keys.bundle');
  const result = await runCliInProcess(['keys', 'export', '--out', out, '--home', home], { env: PASS });
  assert.equal(result.code, 0, result.stderr);
  return out;
}

describe('capsule keys export and import', () => {
  it('writes an encrypted bundle (0600) whose fingerprints can be read and checked', async () => {
    const home = await initialisedHome();
    const out = await exportFrom(home);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const text = readFileSync(out, 'utf8');
    const keys = keysOf(home);
    assert.ok(!text.includes(keys.master.toString('base64')) && !text.includes(keys.master.toString('hex')), 'no key in clear');
    const bundle = JSON.parse(text) as { fingerprints: { master: { sha256: string }; hmac: { id: string } } };
    assert.equal(bundle.fingerprints.master.sha256, fingerprint(keys.master));
    assert.equal(bundle.fingerprints.hmac.id, keyId(keys.hmac));
    const fingerprints = jsonOf<{ master: { sha256: string } }>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', home]));
    assert.equal(fingerprints.master.sha256, bundle.fingerprints.master.sha256);
  });

  it('copies the keys to another instance, which then decrypts what the first encrypted', async () => {
    const source = await initialisedHome();
    await writeProtectedValues(source);
    const out = await exportFrom(source);
    const target = join(tempDir(), 'target'); // never started: import comes first, as in a farm
    const result = await runCliInProcess(['keys', 'import', '--in', out, '--home', target], { env: PASS });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(keysOf(target), keysOf(source));
    const instance = await startTestInstance(target);
    assert.equal(instance.services.crypto.keyIds().master, keyId(keysOf(source).master));
    await instance.stop();
    const again = await runCliInProcess(['keys', 'import', '--in', out, '--home', target], { env: PASS });
    assert.match(again.stdout, /already has these keys \(master [0-9a-f]{16}, hmac [0-9a-f]{16}\); nothing to do/);
    const value = (await runCliInProcess(['keys', 'protect', '--home', source], { stdin: 'shared secret' })).stdout.trim();
    const plain = await runCliInProcess(['keys', 'unprotect', '--home', target], { stdin: value });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, 'shared secret\n');
  });

  it('refuses a wrong passphrase or a damaged bundle with a clear error, writing nothing', async () => {
    const out = await exportFrom(await initialisedHome());
    const target = await initialisedHome();
    const before = keysOf(target);
    const wrong = await runCliInProcess(['keys', 'import', '--in', out, '--home', target], { env: { CAPSULE_KEYS_PASSPHRASE: 'not the passphrase' } });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /passphrase is wrong or the bundle is damaged; nothing was written/);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown> & { fingerprints: { master: { id: string } } };
    bundle.fingerprints.master.id = '0000000000000000';
    const edited = join(tempDir(), 'edited.bundle');
    writeFileSync(edited, JSON.stringify(bundle));
    const tampered = await runCliInProcess(['keys', 'import', '--in', edited, '--home', target], { env: PASS });
    assert.equal(tampered.code, 2);
    assert.match(tampered.stderr, /damaged/);
    const garbage = join(tempDir(), 'garbage.bundle');
    writeFileSync(garbage, 'not json');
    assert.match((await runCliInProcess(['keys', 'import', '--in', garbage, '--home', target], { env: PASS })).stderr, /not JSON/);
    const noPassphrase = await runCliInProcess(['keys', 'import', '--in', out, '--home', target]);
    assert.match(noPassphrase.stderr, /CAPSULE_KEYS_PASSPHRASE/);
    assert.deepEqual(keysOf(target), before);
  });

  it('refuses to replace different keys unless --force, which copies the old ones to keys/backup-<time>/', async () => {
    const out = await exportFrom(await initialisedHome());
    const target = await initialisedHome();
    await writeProtectedValues(target);
    const before = keysOf(target);
    const refused = await runCliInProcess(['keys', 'import', '--in', out, '--home', target], { env: PASS });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /this home has other keys .* and 3 protected values use them; nothing was changed; pass --force/);
    assert.deepEqual(keysOf(target), before);
    assert.deepEqual(await readProtectedValues(target), EXPECTED_VALUES);

    const forced = jsonOf<{ backupDir: string }>(await runCliInProcess(['keys', 'import', '--in', out, '--force', '--json', '--home', target], { env: PASS }));
    assert.ok(forced.backupDir.startsWith(join(target, 'keys', 'backup-')));
    assert.deepEqual(readdirSync(forced.backupDir).sort(), ['hmac', 'master']);
    assert.ok(readFileSync(join(forced.backupDir, 'master')).equals(before.master));
    assert.equal(statSync(join(forced.backupDir, 'master')).mode & 0o777, 0o600);
    assert.ok(!keysOf(target).master.equals(before.master));
  });

  for (const keyStorage of ['file', 'repository'] as const) {
    it(`keeps every value decrypting through import --force, and refuses without it (${keyStorage} key storage)`, async () => {
      const out = await exportFrom(await initialisedHome());
      const target = await initialisedHome({ keyStorage });
      await writeProtectedValues(target);
      const idsBefore = jsonOf<{ master: { id: string } }>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', target]));
      const refused = await runCliInProcess(['keys', 'import', '--in', out, '--home', target], { env: PASS });
      assert.equal(refused.code, 2, `an import of other keys is refused without --force: ${refused.stdout}`);
      assert.match(refused.stderr, /this home has other keys .* and 3 protected values use them; nothing was changed; pass --force/);
      assert.equal(jsonOf<{ master: { id: string } }>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', target])).master.id, idsBefore.master.id);

      const forced = await runCliInProcess(['keys', 'import', '--in', out, '--force', '--home', target], { env: PASS });
      assert.equal(forced.code, 0, forced.stderr);
      const idsAfter = jsonOf<{ master: { id: string } }>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', target]));
      assert.notEqual(idsAfter.master.id, idsBefore.master.id, 'the bundle\'s master is current');
      assert.deepEqual(await readProtectedValues(target), EXPECTED_VALUES, 'the replaced master, kept as a retired key, still decrypts every value');
    });
  }

  it('refuses to overwrite an existing file on export', async () => {
    const home = await initialisedHome();
    const out = join(tempDir(), 'exists');
    writeFileSync(out, 'keep me');
    const result = await runCliInProcess(['keys', 'export', '--out', out, '--home', home], { env: PASS });
    assert.equal(result.code, 2);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    const short = await runCliInProcess(['keys', 'export', '--out', join(tempDir(), 'x'), '--home', home], { env: { CAPSULE_KEYS_PASSPHRASE: 'short' } });
    assert.match(short.stderr, /shorter than 12/);
    assert.equal(existsSync(join(home, 'keys', 'backup')), false);
  });
});
