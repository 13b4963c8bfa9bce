import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { keysCheck } from '../../src/health/keys-check.js';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { hashHomeFiles } from '../helpers/home-snapshot.js';
import { EXPECTED_VALUES, readProtectedValues, writeProtectedValues } from '../helpers/protected-home.js';
import { systemClock } from '../../src/clock.js';

async function rotateMaster(home: string): Promise<string> {
  const result = await runCliInProcess(['keys', 'rotate', '--master', '--json', '--home', home]);
  assert.equal(result.code, 0, result.stderr);
  return jsonOf<{ previous: string }>(result).previous;
}

interface Doctor {
  findings: Array<{ level: string; subject: string; message: string }>;
}

describe('retired master key files that cannot be used', () => {
  it('a file named after another key than it holds is flagged, and removal never deletes a key by a wrong name', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const oldMail = readFileSync(join(home, 'config', 'org.example.mail.json'), 'utf8');
    const first = await rotateMaster(home);
    const second = await rotateMaster(home);
    // A value under the first master comes back (a restored file); the second master is unused.
    writeFileSync(join(home, 'config', 'org.example.old.json'), oldMail);
    const dir = join(home, 'keys', 'retired-master');
    renameSync(join(dir, first), join(dir, 'swap'));
    renameSync(join(dir, second), join(dir, first));
    renameSync(join(dir, 'swap'), join(dir, second));
    const before = hashHomeFiles(home, { except: ['audit.log'] });

    const removal = await runCliInProcess(['keys', 'remove-retired-master', second, '--yes', '--home', home]);
    assert.notEqual(removal.code, 0);
    assert.ok(removal.stderr.includes(`${join(dir, second)} holds master ${first}, not ${second}`), removal.stderr);
    assert.match(removal.stderr, /nothing was removed/);
    assert.deepEqual(hashHomeFiles(home, { except: ['audit.log'] }), before);

    const doctor = await runCliInProcess(['keys', 'doctor', '--json', '--home', home]);
    assert.notEqual(doctor.code, 0);
    const errors = jsonOf<Doctor>(doctor).findings.filter((finding) => finding.level === 'error');
    assert.ok(errors.some((finding) => finding.subject === join(dir, first) && finding.message.includes(`holds master ${second}, not ${first}`)), JSON.stringify(errors));
  });

  it('a damaged file is skipped (the home still works), named by doctor and health, and can be removed by name', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const retired = await rotateMaster(home);
    const file = join(home, 'keys', 'retired-master', retired);
    writeFileSync(file, Buffer.alloc(33, 1), { mode: 0o600 });

    const fingerprint = await runCliInProcess(['keys', 'fingerprint', '--home', home]);
    assert.equal(fingerprint.code, 0, fingerprint.stderr);
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES, 'values under the current master still decrypt');

    const services = await openServices({ home, clock: systemClock });
    try {
      const health = await keysCheck(() => services.crypto.keyIds()).run();
      assert.equal(health.status, 'critical');
      assert.match(health.message, new RegExp(`${retired} .*damaged and skipped`));
    } finally {
      await services.close();
    }

    const doctor = await runCliInProcess(['keys', 'doctor', '--json', '--home', home]);
    assert.notEqual(doctor.code, 0);
    const finding = jsonOf<Doctor>(doctor).findings.find((f) => f.subject === file);
    assert.equal(finding?.level, 'error');
    assert.match(finding!.message, /33 bytes.*move it away, or restore it from a key bundle/);
    assert.doesNotMatch(finding!.message, /restore it with 'capsule keys import'$/);

    const unconfirmed = await runCliInProcess(['keys', 'remove-retired-master', retired, '--home', home]);
    assert.notEqual(unconfirmed.code, 0);
    assert.match(unconfirmed.stderr, /holds no usable key; nothing was removed; run again with --yes/);
    assert.ok(existsSync(file));
    const removed = await runCliInProcess(['keys', 'remove-retired-master', retired, '--yes', '--home', home]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(existsSync(file), false);
    assert.equal((await runCliInProcess(['keys', 'doctor', '--home', home])).code, 0);
  });
});

describe('a retired master file that holds another key than its name says', () => {
  it('is never written over: the write is refused and the file still holds its key', async () => {
    const { mkdirSync } = await import('node:fs');
    const { randomBytes } = await import('node:crypto');
    const { writeRetiredMasterKey } = await import('../../src/crypto/key-files.js');
    const { keyId } = await import('../../src/crypto/index.js');
    const { tempDir } = await import('../helpers/temp.js');
    const keysDir = join(tempDir(), 'keys');
    mkdirSync(join(keysDir, 'retired-master'), { recursive: true });
    const named = randomBytes(32);
    const held = randomBytes(32);
    const file = join(keysDir, 'retired-master', keyId(named));
    writeFileSync(file, held, { mode: 0o600 });
    assert.throws(() => writeRetiredMasterKey(keysDir, named), /holds master .*, not the key its name says; nothing was written there/);
    assert.ok(readFileSync(file).equals(held), 'the only copy of the other key is kept');
    writeFileSync(file, Buffer.from('damaged'), { mode: 0o600 });
    writeRetiredMasterKey(keysDir, named);
    assert.ok(readFileSync(file).equals(named), 'damaged bytes are repaired by the right key');
  });
});
