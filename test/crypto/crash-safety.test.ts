import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createHmac } from 'node:crypto';
import { openServices } from '../../src/instance/index.js';
import { keyId } from '../../src/crypto/index.js';
import { isCapsuleError } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { EXPECTED_VALUES, FILE_SECRET, readProtectedValues, writeProtectedValues } from '../helpers/protected-home.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

/** Runs a CLI command that must be killed at `failpoint` (a null exit code proves it was). */
async function killedAt(failpoint: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const result = await runCli(args, { env: { ...env, CAPSULE_FAILPOINT: failpoint } });
  assert.equal(result.code, null, `expected the process to die at ${failpoint}; it exited ${result.code}: ${result.stderr}`);
}

/** The home starts (or refuses, naming the command that finishes the job), and decrypts everything. */
async function assertRecovers(home: string, finish: string[], env: NodeJS.ProcessEnv = {}): Promise<'started' | 'finished-first'> {
  let outcome: 'started' | 'finished-first' = 'started';
  try {
    const instance = await startTestInstance(home);
    await instance.stop();
  } catch (error) {
    assert.ok(isCapsuleError(error), String(error));
    assert.ok(error.message.includes(`capsule ${finish.slice(0, 2).join(' ')}`), `the refusal names the fix: ${error.message}`);
    outcome = 'finished-first';
  }
  assert.deepEqual(await readProtectedValues(home).catch(() => null), outcome === 'started' ? EXPECTED_VALUES : null);
  const rerun = await runCli([...finish, '--home', home], { env });
  assert.equal(rerun.code, 0, `rerun ${finish.join(' ')}: ${rerun.stderr}`);
  const instance = await startTestInstance(home);
  await instance.stop();
  assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
  return outcome;
}

describe('key operations killed between steps', () => {
  for (const failpoint of ['migrate:files-written', 'migrate:marker-switched']) {
    it(`keys migrate killed at ${failpoint}`, async () => {
      const home = await initialisedHome({ keyStorage: 'repository' });
      await writeProtectedValues(home);
      await killedAt(failpoint, ['keys', 'migrate', '--home', home]);
      assert.equal(await assertRecovers(home, ['keys', 'migrate']), 'started');
      assert.equal(readFileSync(join(home, 'keys', 'storage'), 'utf8'), 'file');
    });
  }

  for (const failpoint of ['import:hmac-written', 'import:master-written']) {
    it(`keys import (restoring lost keys) killed at ${failpoint}`, async () => {
      const home = await initialisedHome();
      await writeProtectedValues(home);
      const bundle = join(tempDir(), 'backup.bundle');
      assert.equal((await runCli(['keys', 'export', '--out', bundle, '--home', home], { env: PASS })).code, 0);
      rmSync(join(home, 'keys', 'master'));
      rmSync(join(home, 'keys', 'hmac'));
      await killedAt(failpoint, ['keys', 'import', '--in', bundle, '--home', home], PASS);
      await assertRecovers(home, ['keys', 'import', '--in', bundle], PASS);
    });
  }

  it('keys import --force killed after the backup keeps the old keys working', async () => {
    const other = join(tempDir(), 'other.bundle');
    assert.equal((await runCli(['keys', 'export', '--out', other, '--home', await initialisedHome()], { env: PASS })).code, 0);
    const home = await initialisedHome();
    await writeProtectedValues(home);
    await killedAt('import:backup-written', ['keys', 'import', '--in', other, '--force', '--home', home], PASS);
    const instance = await startTestInstance(home);
    await instance.stop();
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
  });

  for (const failpoint of ['rotate-master:staged', 'rotate-master:rewriting', 'rotate-master:rewritten', 'rotate-master:retired', 'rotate-master:promoted']) {
    it(`keys rotate --master killed at ${failpoint}`, async () => {
      const home = await initialisedHome();
      await writeProtectedValues(home);
      const oldKid = keyId(readFileSync(join(home, 'keys', 'master')));
      const oldValue = (JSON.parse(readFileSync(join(home, 'config', 'org.example.mail.json'), 'utf8')) as { password: string }).password;
      await killedAt(failpoint, ['keys', 'rotate', '--master', '--home', home]);
      assert.equal(await assertRecovers(home, ['keys', 'rotate', '--master']), 'started');
      const newKid = keyId(readFileSync(join(home, 'keys', 'master')));
      assert.notEqual(newKid, oldKid);
      assert.equal(existsSync(join(home, 'keys', 'staged', 'master')), false);
      const doctor = JSON.parse((await runCli(['keys', 'doctor', '--json', '--home', home])).stdout) as { values: Array<{ kid: string }> };
      assert.equal(doctor.values.length, 4, 'two in the repository, one in a config file, and its copy applied at start');
      assert.ok(doctor.values.every((value) => value.kid === newKid), 'every value is under the new key');
      assert.equal(keyId(readFileSync(join(home, 'keys', 'retired-master', oldKid))), oldKid, 'the old master is retired, not lost');
      const services = await openServices({ home, clock: systemClock });
      assert.equal(services.crypto.unprotect(oldValue), FILE_SECRET, 'a value from before the rotation (a backup) still decrypts');
      await services.close();
    });
  }

  it('keys remove-retired-master killed after removing leaves a home that starts and decrypts everything', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const oldKid = keyId(readFileSync(join(home, 'keys', 'master')));
    assert.equal((await runCli(['keys', 'rotate', '--master', '--home', home])).code, 0);
    await killedAt('remove-retired-master:removed', ['keys', 'remove-retired-master', oldKid, '--yes', '--home', home]);
    assert.equal(existsSync(join(home, 'keys', 'retired-master', oldKid)), false);
    const instance = await startTestInstance(home);
    await instance.stop();
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
  });

  for (const failpoint of ['stage-hmac:written', 'promote-hmac:retired', 'promote-hmac:promoted']) {
    it(`keys rotate --hmac killed at ${failpoint}`, async () => {
      const home = await initialisedHome();
      await writeProtectedValues(home);
      const oldHmac = readFileSync(join(home, 'keys', 'hmac'));
      const oldMac = createHmac('sha256', oldHmac).update('a token').digest();
      await killedAt(failpoint, ['keys', 'rotate', '--hmac', '--home', home]);
      let services = await openServices({ home, clock: systemClock });
      assert.equal(services.crypto.verify('a token', oldMac), true, 'a token signed before still verifies');
      await services.close();
      assert.equal(await assertRecovers(home, ['keys', 'rotate', '--hmac']), 'started');
      services = await openServices({ home, clock: systemClock });
      assert.notEqual(services.crypto.keyIds().hmac, keyId(oldHmac));
      assert.equal(services.crypto.verify('a token', oldMac), true);
      assert.deepEqual(services.crypto.keyIds().retiredHmac, [keyId(oldHmac)]);
      await services.close();
    });
  }

  for (const failpoint of ['promote-hmac:discarded', 'promote-hmac:promoted']) {
    it(`keys rotate --hmac --discard-old killed at ${failpoint}`, async () => {
      const home = await initialisedHome();
      await writeProtectedValues(home);
      const first = readFileSync(join(home, 'keys', 'hmac'));
      assert.equal((await runCli(['keys', 'rotate', '--hmac', '--home', home])).code, 0);
      const second = readFileSync(join(home, 'keys', 'hmac'));
      await killedAt(failpoint, ['keys', 'rotate', '--hmac', '--discard-old', '--home', home]);
      assert.equal(await assertRecovers(home, ['keys', 'rotate', '--hmac', '--discard-old']), 'started');
      const services = await openServices({ home, clock: systemClock });
      const mac = (key: Buffer) => createHmac('sha256', key).update('a token').digest();
      assert.equal(services.crypto.verify('a token', mac(first)), false, 'the key retired earlier is gone');
      assert.equal(services.crypto.verify('a token', mac(second)), false, 'the key current before is gone');
      assert.deepEqual(services.crypto.keyIds().retiredHmac, []);
      await services.close();
    });
  }
});
