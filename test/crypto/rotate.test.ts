import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { keyId } from '../../src/crypto/index.js';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { EXPECTED_VALUES, readProtectedValues, writeProtectedValues } from '../helpers/protected-home.js';
import { systemClock } from '../../src/clock.js';

describe('capsule keys rotate', () => {
  it('--hmac: a new key signs, the old one is retired and still verifies', async () => {
    const home = await initialisedHome();
    const old = readFileSync(join(home, 'keys', 'hmac'));
    const result = jsonOf<{ previous: string; current: string; previousKept: boolean }>(await runCliInProcess(['keys', 'rotate', '--hmac', '--json', '--home', home]));
    assert.equal(result.previous, keyId(old));
    assert.equal(result.previousKept, true);
    const now = readFileSync(join(home, 'keys', 'hmac'));
    assert.equal(result.current, keyId(now));
    assert.deepEqual(readdirSync(join(home, 'keys', 'retired')), [keyId(old)]);
    const services = await openServices({ home, clock: systemClock });
    assert.equal(services.crypto.signingKey().kid, keyId(now));
    assert.equal(services.crypto.verify('t', createHmac('sha256', old).update('t').digest()), true);
    await services.close();
  });

  it('--hmac --discard-old: the compromise playbook drops the old key', async () => {
    const home = await initialisedHome();
    const old = readFileSync(join(home, 'keys', 'hmac'));
    const result = await runCliInProcess(['keys', 'rotate', '--hmac', '--discard-old', '--home', home]);
    assert.match(result.stdout, /was dropped: every token signed before is void/);
    const services = await openServices({ home, clock: systemClock });
    assert.equal(services.crypto.verify('t', createHmac('sha256', old).update('t').digest()), false);
    await services.close();
  });

  it('--master: every protected value in the repository and config files is re-encrypted', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const old = keyId(readFileSync(join(home, 'keys', 'master')));
    const result = jsonOf<{ previous: string; current: string; reencrypted: number }>(await runCliInProcess(['keys', 'rotate', '--master', '--json', '--home', home]));
    assert.equal(result.previous, old);
    assert.equal(result.reencrypted, 3);
    assert.equal(keyId(readFileSync(join(home, 'keys', 'master'))), result.current);
    assert.ok(!readFileSync(join(home, 'config', 'org.example.mail.json'), 'utf8').includes(old));
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
  });

  it('refuses bad combinations and repository storage', async () => {
    const home = await initialisedHome();
    assert.match((await runCliInProcess(['keys', 'rotate', '--home', home])).stderr, /choose one of --hmac or --master/);
    assert.match((await runCliInProcess(['keys', 'rotate', '--master', '--discard-old', '--home', home])).stderr, /--discard-old goes with --hmac/);
    const legacy = await initialisedHome({ keyStorage: 'repository' });
    const refused = await runCliInProcess(['keys', 'rotate', '--hmac', '--home', legacy]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /run 'capsule keys migrate' first/);
  });
});
