import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { keyId } from '../../src/crypto/index.js';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { hashHomeFiles } from '../helpers/home-snapshot.js';
import { EXPECTED_VALUES, readProtectedValues, writeProtectedValues } from '../helpers/protected-home.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

const masterKidOf = (home: string) => keyId(readFileSync(join(home, 'keys', 'master')));

describe('keys rotate checks everything before it changes anything', () => {
  it('--master stops, naming it, at a config file that does not parse, and the file\'s secret decrypts once it is fixed', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const file = join(home, 'config', 'org.example.mail.json');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace(/\}$/, ',}')); // an operator's trailing comma
    const before = hashHomeFiles(home, { except: ['audit.log'] });
    const kid = masterKidOf(home);

    const result = await runCliInProcess(['keys', 'rotate', '--master', '--home', home]);
    assert.notEqual(result.code, 0, `the rotation must refuse: ${result.stdout}`);
    assert.match(result.stderr, /stopped before changing anything/);
    assert.ok(result.stderr.includes(file), `names the file: ${result.stderr}`);
    assert.deepEqual(hashHomeFiles(home, { except: ['audit.log'] }), before, 'no key file, value or config file changed');
    assert.match(readFileSync(join(home, 'audit.log'), 'utf8'), /"outcome":"failed"/, 'the attempt is recorded');
    assert.equal(masterKidOf(home), kid);
    const doctor = await runCliInProcess(['keys', 'doctor', '--home', home]);
    assert.equal(doctor.code, 1);
    assert.ok(doctor.stdout.includes(`ERROR config-file ${file}: config file ${file}: not valid JSON`), doctor.stdout);

    writeFileSync(file, good);
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES, 'the secret of the fixed file decrypts');
    const rotated = await runCliInProcess(['keys', 'rotate', '--master', '--home', home]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /\nexport the keys now \('capsule keys export --out FILE'\)/, 'the operator is told to export a new bundle');
    assert.ok(!readFileSync(file, 'utf8').includes(kid), 'the fixed file was re-encrypted');
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
  });

  it('--master stops at a value that does not decrypt (tampered) and changes nothing', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const services = await openServices({ home, clock: systemClock });
    const stored = services.config.stored('org.example.ims~target')!['client.secret'] as string;
    const tampered = `${stored.slice(0, -3)}${stored.at(-3) === 'A' ? 'B' : 'A'}${stored.slice(-2)}`;
    await services.repo.transaction((tx) => tx.setProperties('/conf/system/org.example.ims~target', { 'client.secret': tampered }));
    await services.close();
    const before = hashHomeFiles(home, { except: ['audit.log'] });

    const result = await runCliInProcess(['keys', 'rotate', '--master', '--home', home]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /stopped before changing anything: repository node \/conf\/system\/org\.example\.ims~target property client\.secret .* does not decrypt/);
    assert.deepEqual(hashHomeFiles(home, { except: ['audit.log'] }), before);
    assert.equal(existsSync(join(home, 'keys', 'staged', 'master')), false);
  });

  it('--master --dry-run says which keys, values and files would change, and changes nothing', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const kid = masterKidOf(home);
    const before = hashHomeFiles(home);

    const plan = jsonOf<{ dryRun: boolean; previous: string; staged: string | null; reencrypt: Record<string, number>; places: string[]; files: string[] }>(
      await runCliInProcess(['keys', 'rotate', '--master', '--dry-run', '--json', '--home', home]),
    );
    assert.equal(plan.dryRun, true);
    assert.equal(plan.previous, kid);
    assert.equal(plan.staged, null);
    assert.deepEqual(plan.reencrypt, { [kid]: 3 });
    assert.equal(plan.places.length, 3, 'two configuration nodes and one config file');
    for (const file of [join('keys', 'master'), join('keys', 'retired-master', kid), join('config', 'org.example.mail.json')]) {
      assert.ok(plan.files.includes(join(home, file)), `${file} is among the files: ${plan.files.join(', ')}`);
    }
    const text = await runCliInProcess(['keys', 'rotate', '--master', '--dry-run', '--home', home]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^dry run: nothing was changed/);
    assert.match(text.stdout, new RegExp(`would re-encrypt 3 protected values \\(3 under current master ${kid}\\)`));
    assert.match(text.stdout, new RegExp(`would retire master ${kid}`));

    assert.deepEqual(hashHomeFiles(home), before, 'every file under the home is as it was (the audit log too)');
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
    assert.equal(masterKidOf(home), kid);
  });

  it('--hmac --dry-run (with and without --discard-old) names the keys and files, and changes nothing', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    assert.equal((await runCliInProcess(['keys', 'rotate', '--hmac', '--home', home])).code, 0);
    const current = keyId(readFileSync(join(home, 'keys', 'hmac')));
    const before = hashHomeFiles(home);

    const plan = jsonOf<{ current: string; staged: string | null; discarded: string[]; files: string[] }>(
      await runCliInProcess(['keys', 'rotate', '--hmac', '--dry-run', '--json', '--home', home]),
    );
    assert.equal(plan.current, current);
    assert.equal(plan.staged, null);
    assert.deepEqual(plan.discarded, []);
    assert.ok(plan.files.includes(join(home, 'keys', 'retired', current)));
    const discard = await runCliInProcess(['keys', 'rotate', '--hmac', '--discard-old', '--dry-run', '--home', home]);
    assert.equal(discard.code, 0, discard.stderr);
    assert.match(discard.stdout, new RegExp(`would drop ${current}, [0-9a-f]{16} at once`));

    assert.deepEqual(hashHomeFiles(home), before);
    assert.equal(keyId(readFileSync(join(home, 'keys', 'hmac'))), current);
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
  });

  it('--dry-run refuses what the rotation would refuse', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    writeFileSync(join(home, 'config', 'broken.json'), '{"a": 1,}');
    const result = await runCliInProcess(['keys', 'rotate', '--master', '--dry-run', '--home', home]);
    assert.notEqual(result.code, 0);
    assert.ok(result.stderr.includes(join(home, 'config', 'broken.json')), result.stderr);
  });
});

describe('keys rotate --master and config files it could not rewrite in place', () => {
  it('refuses, naming it, a config file with protected values that is a symbolic link or read-only; --dry-run says the same; nothing changes', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const file = join(home, 'config', 'org.example.mail.json');
    const target = join(tempDir(), 'mail.json');
    renameSync(file, target);
    symlinkSync(target, file);
    const targetBefore = readFileSync(target, 'utf8');
    const before = hashHomeFiles(home, { except: ['audit.log'] });
    for (const extra of [[], ['--dry-run']]) {
      const result = await runCliInProcess(['keys', 'rotate', '--master', ...extra, '--home', home]);
      assert.notEqual(result.code, 0, extra.join(' '));
      assert.ok(result.stderr.includes(`config file ${file} holds protected values but is a symbolic link (to ${target})`), result.stderr);
      assert.match(result.stderr, /make .* a plain file/);
    }
    assert.deepEqual(hashHomeFiles(home, { except: ['audit.log'] }), before);
    assert.ok(lstatSync(file).isSymbolicLink());
    assert.equal(readFileSync(target, 'utf8'), targetBefore);

    rmSync(file);
    writeFileSync(file, targetBefore, { mode: 0o444 });
    const readOnly = await runCliInProcess(['keys', 'rotate', '--master', '--home', home]);
    assert.notEqual(readOnly.code, 0);
    assert.ok(readOnly.stderr.includes(`config file ${file} holds protected values but is not writable (mode 444`), readOnly.stderr);
    assert.equal(existsSync(join(home, 'keys', 'staged', 'master')), false, 'nothing was staged');
    assert.equal(readFileSync(file, 'utf8'), targetBefore);

    chmodSync(file, 0o600);
    const fixed = await runCliInProcess(['keys', 'rotate', '--master', '--home', home]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
  });
});
