import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBundle, keyId } from '../../src/crypto/index.js';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { EXPECTED_VALUES, FILE_SECRET, readProtectedValues, writeProtectedValues } from '../helpers/protected-home.js';
import { hashHomeFiles } from '../helpers/home-snapshot.js';
import { tempDir } from '../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };
const masterOf = (home: string) => readFileSync(join(home, 'keys', 'master'));

async function rotateMaster(home: string): Promise<{ previous: string; current: string; retired: string | null; advice: string }> {
  const result = await runCliInProcess(['keys', 'rotate', '--master', '--json', '--home', home]);
  assert.equal(result.code, 0, result.stderr);
  return jsonOf(result);
}

/** The mail config file as a backup taken now would hold it. */
const mailFile = (home: string) => join(home, 'config', 'org.example.mail.json');

interface Doctor {
  masterKeys: Array<{ kid: string; role: string; values: number; where: Record<string, number> }>;
  findings: Array<{ level: string; subject: string; message: string }>;
}

describe('master keys form a keyring', () => {
  it('a rotation retires the old master (0600, keys/retired-master/<id>): a repository backup taken before it still decrypts', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const backup = join(tempDir(), 'backup');
    cpSync(join(home, 'repository'), join(backup, 'repository'), { recursive: true });
    cpSync(join(home, 'config'), join(backup, 'config'), { recursive: true });
    const old = keyId(masterOf(home));

    const rotation = await rotateMaster(home);
    assert.equal(rotation.retired, old);
    assert.match(rotation.advice, /export the keys now \('capsule keys export --out FILE'\): a bundle exported before lacks master [0-9a-f]{16}, and backups taken from now on need it/);
    const retiredFile = join(home, 'keys', 'retired-master', old);
    assert.equal(statSync(retiredFile).mode & 0o777, 0o600);
    assert.equal(keyId(readFileSync(retiredFile)), old);

    // Restore the backup taken before the rotation: its values are all under the old key.
    rmSync(join(home, 'repository'), { recursive: true });
    cpSync(join(backup, 'repository'), join(home, 'repository'), { recursive: true });
    cpSync(join(backup, 'config'), join(home, 'config'), { recursive: true });
    assert.ok(readFileSync(mailFile(home), 'utf8').includes(`{cap1:${old}:`));
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
    const value = JSON.parse(readFileSync(mailFile(home), 'utf8')) as { password: string };
    const unprotect = await runCliInProcess(['keys', 'unprotect', '--home', home], { stdin: value.password });
    assert.equal(unprotect.code, 0, unprotect.stderr);
    assert.equal(unprotect.stdout.trim(), FILE_SECRET);

    // The next rotation re-encrypts values under the retired key too, and keeps both old keys.
    const second = await rotateMaster(home);
    assert.deepEqual(readdirSync(join(home, 'keys', 'retired-master')).sort(), [old, second.previous].sort());
    assert.ok(!readFileSync(mailFile(home), 'utf8').includes(old));
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
  });

  it('a running instance picks up the retired master and decrypts values written before the rotation', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const before = (JSON.parse(readFileSync(mailFile(home), 'utf8')) as { password: string }).password;
    const instance = await startTestInstance(home);
    try {
      const old = instance.services.crypto.keyIds().master;
      await rotateMaster(home);
      for (let attempt = 0; attempt < 200 && instance.services.crypto.keyIds().master === old; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50)); // no event announces a reload; bounded poll
      }
      assert.deepEqual(instance.services.crypto.keyIds().retiredMaster, [old]);
      assert.equal(instance.services.crypto.unprotect(before), FILE_SECRET);
    } finally {
      await instance.stop();
    }
  });

  it('keys doctor lists every master key with the values that use it, and a summary', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const oldMail = readFileSync(mailFile(home), 'utf8');
    const rotation = await rotateMaster(home);
    writeFileSync(join(home, 'config', 'org.example.old.json'), oldMail); // a config file restored from before
    const doctor = jsonOf<Doctor>(await runCliInProcess(['keys', 'doctor', '--json', '--home', home]));
    const current = doctor.masterKeys.find((key) => key.role === 'current')!;
    const retired = doctor.masterKeys.find((key) => key.role === 'retired')!;
    assert.equal(current.kid, rotation.current);
    assert.deepEqual(current.where, { 'repository org.example.ims': 2, 'config file org.example.mail.json': 1 });
    assert.equal(retired.kid, rotation.previous);
    assert.deepEqual(retired.where, { 'config file org.example.old.json': 1 });
    const summary = doctor.findings.find((finding) => finding.subject === 'master keys')!;
    assert.match(summary.message, /2 held \(current [0-9a-f]{16}, 1 retired\); 4 protected values: 3 under the current key, 1 under retired keys, 0 under keys this home does not hold/);
    const text = await runCliInProcess(['keys', 'doctor', '--home', home]);
    assert.equal(text.code, 0, text.stdout);
    assert.match(text.stdout, new RegExp(`master ${rotation.previous} \\(retired [^)]+\\): 1 value uses it \\(1 in config file org\\.example\\.old\\.json\\)`));
  });

  it('keys export bundles the retired masters and keys import restores them; a bundle without any still imports', async () => {
    const source = await initialisedHome();
    await writeProtectedValues(source);
    const before = (JSON.parse(readFileSync(mailFile(source), 'utf8')) as { password: string }).password;
    const { previous } = await rotateMaster(source);
    const bundle = join(tempDir(), 'keys.bundle');
    const exported = await runCliInProcess(['keys', 'export', '--out', bundle, '--home', source], { env: PASS });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /1 retired master key/);
    assert.deepEqual((JSON.parse(readFileSync(bundle, 'utf8')) as { fingerprints: { retiredMaster: Array<{ id: string }> } }).fingerprints.retiredMaster.map((key) => key.id), [previous]);

    const target = join(tempDir(), 'target');
    const imported = await runCliInProcess(['keys', 'import', '--in', bundle, '--home', target], { env: PASS });
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(statSync(join(target, 'keys', 'retired-master', previous)).mode & 0o777, 0o600);
    const instance = await startTestInstance(target);
    try {
      assert.equal(instance.services.crypto.unprotect(before), FILE_SECRET, 'a value from before the rotation decrypts on the target');
    } finally {
      await instance.stop();
    }

    // A bundle as exported before keyrings: no retiredMaster anywhere in it.
    const home = await initialisedHome();
    const keys = { master: masterOf(home), hmac: readFileSync(join(home, 'keys', 'hmac')), retiredHmac: [] };
    const old = join(tempDir(), 'old.bundle');
    writeFileSync(old, createBundle(keys, PASS.CAPSULE_KEYS_PASSPHRASE, Date.now()));
    assert.ok(!readFileSync(old, 'utf8').includes('retiredMaster'));
    const fresh = join(tempDir(), 'fresh');
    const result = await runCliInProcess(['keys', 'import', '--in', old, '--home', fresh], { env: PASS });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(keyId(masterOf(fresh)), keyId(keys.master));
    assert.equal(existsSync(join(fresh, 'keys', 'retired-master')), false);
  });

  it('keys remove-retired-master refuses while a value uses the key, asks for --yes, then removes it', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const oldMail = readFileSync(mailFile(home), 'utf8');
    const { previous, current } = await rotateMaster(home);
    const retiredFile = join(home, 'keys', 'retired-master', previous);
    const restored = join(home, 'config', 'org.example.old.json');
    writeFileSync(restored, oldMail);
    const before = hashHomeFiles(home, { except: ['audit.log'] });

    const inUse = await runCliInProcess(['keys', 'remove-retired-master', previous, '--yes', '--home', home]);
    assert.notEqual(inUse.code, 0);
    assert.ok(inUse.stderr.includes(`1 protected value still uses retired master ${previous} (1 in config file ${restored})`), inUse.stderr);
    assert.match(inUse.stderr, /nothing was removed/);
    const currentKey = await runCliInProcess(['keys', 'remove-retired-master', current, '--yes', '--home', home]);
    assert.match(currentKey.stderr, /is this home's current master key, not a retired one; nothing was removed/);
    const unknown = await runCliInProcess(['keys', 'remove-retired-master', '0123456789abcdef', '--yes', '--home', home]);
    assert.match(unknown.stderr, new RegExp(`no retired master key 0123456789abcdef .*retired master keys here: ${previous}`));
    assert.deepEqual(hashHomeFiles(home, { except: ['audit.log'] }), before, 'refusals change nothing');

    rmSync(restored);
    const unconfirmed = await runCliInProcess(['keys', 'remove-retired-master', previous, '--home', home]);
    assert.notEqual(unconfirmed.code, 0);
    assert.match(unconfirmed.stderr, /is final: a backup of the repository or of a config file taken before .* will no longer decrypt with this home's keys/);
    assert.match(unconfirmed.stderr, /run again with --yes/);
    assert.ok(existsSync(retiredFile));

    const removed = await runCliInProcess(['keys', 'remove-retired-master', previous, '--yes', '--home', home]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`removed retired master ${previous}`));
    assert.equal(existsSync(retiredFile), false);
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
  });
});
