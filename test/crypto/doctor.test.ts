import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { keyId } from '../../src/crypto/index.js';
import { openServices } from '../../src/instance/index.js';
import { runCli, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { writeProtectedValues } from '../helpers/protected-home.js';
import { readFileSync } from 'node:fs';
import { systemClock } from '../../src/clock.js';

describe('capsule keys doctor', () => {
  it('reports a healthy home and exits 0', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const result = await runCliInProcess(['keys', 'doctor', '--home', home]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ok +protected values: all 3 decrypt/);
    assert.ok(!/ERROR/.test(result.stdout));
  });

  it('finds a value encrypted under a foreign key, says where and with which key ids, and exits 1', async () => {
    const home = await initialisedHome();
    const foreignHome = await initialisedHome();
    const foreign = await openServices({ home: foreignHome, clock: systemClock });
    const foreignValue = foreign.crypto.protect('not-for-this-home');
    const foreignKid = foreign.crypto.keyIds().master;
    await foreign.close();
    const services = await openServices({ home, clock: systemClock });
    await services.config.update('org.example.ims~copied', { 'client.secret': foreignValue });
    await services.close();
    const ownKid = keyId(readFileSync(join(home, 'keys', 'master')));

    const result = await runCliInProcess(['keys', 'doctor', '--home', home]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`ERROR repository /conf/system/org\\.example\\.ims~copied client\\.secret: key ${foreignKid}: the value was encrypted with master key ${foreignKid}; this instance's master key is ${ownKid}`));
    assert.match(result.stderr, /^capsule: keys doctor found 1 problem\n$/);
    assert.ok(!result.stdout.includes('not-for-this-home'));

    const json = JSON.parse((await runCliInProcess(['keys', 'doctor', '--json', '--home', home])).stdout) as { ok: boolean; values: Array<{ decrypts: boolean; kid: string }> };
    assert.equal(json.ok, false);
    assert.deepEqual(json.values.map((v) => [v.kid, v.decrypts]), [[foreignKid, false]]);
  });

  it('flags a key file that others can read', async () => {
    const home = await initialisedHome();
    chmodSync(join(home, 'keys', 'hmac'), 0o644);
    const result = await runCliInProcess(['keys', 'doctor', '--home', home]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /ERROR .*keys\/hmac: mode 644: others can read the key; chmod 600/);
  });

  it('says an interrupted migration is unfinished and that running it again completes it', async () => {
    const cases = [
      { keyStorage: 'file' as const, failpoint: 'migrate:repository-written', args: ['--to', 'repository'], says: /a 'capsule keys migrate' was interrupted; run 'capsule keys migrate' again/ },
      { keyStorage: 'repository' as const, failpoint: 'migrate:marker-switched', args: [], says: /a 'capsule keys migrate' was interrupted; run 'capsule keys migrate' again to finish moving them to the file system/ },
      { keyStorage: 'file' as const, failpoint: 'migrate:marker-switched', args: ['--to', 'repository'], says: /a copy of the keys in \/etc\/key .*a 'capsule keys migrate' was interrupted; run 'capsule keys migrate --to repository' again/ },
    ];
    for (const { keyStorage, failpoint, args, says } of cases) {
      const home = await initialisedHome({ keyStorage });
      await writeProtectedValues(home);
      const killed = await runCli(['keys', 'migrate', ...args, '--home', home], { env: { CAPSULE_FAILPOINT: failpoint } });
      assert.equal(killed.code, null, `killed at ${failpoint}`);
      const doctor = await runCliInProcess(['keys', 'doctor', '--home', home]);
      assert.equal(doctor.code, 0, `${failpoint}: the home works, so no error: ${doctor.stdout}`);
      assert.match(doctor.stdout, says, failpoint);
      assert.doesNotMatch(doctor.stdout, /ERROR/);
      assert.equal((await runCliInProcess(['keys', 'migrate', ...args, '--home', home])).code, 0);
      const after = await runCliInProcess(['keys', 'doctor', '--home', home]);
      assert.equal(after.code, 0, after.stdout);
      assert.doesNotMatch(after.stdout, /interrupted|WARN/, `${failpoint}: finished`);
    }
  });
});
