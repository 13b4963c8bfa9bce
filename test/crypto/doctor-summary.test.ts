import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { openServices } from '../../src/instance/index.js';
import { runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';

const VALUES = 40;

/** A home with VALUES protected values; `foreign` of them under another home's master key. */
async function homeWithValues(options: { keyStorage?: 'file' | 'repository'; foreign?: number } = {}): Promise<string> {
  const home = await initialisedHome({ keyStorage: options.keyStorage });
  const foreignServices = await openServices({ home: await initialisedHome(), clock: systemClock });
  const foreignValue = foreignServices.crypto.protect('not-for-this-home');
  await foreignServices.close();
  const services = await openServices({ home, clock: systemClock });
  try {
    for (let index = 0; index < VALUES; index++) {
      const value = index < (options.foreign ?? 0) ? foreignValue : services.crypto.protect(`secret-${index}`);
      await services.config.update(`org.example.ims~client-${index}`, { 'client.secret': value });
    }
  } finally {
    await services.close();
  }
  return home;
}

describe('capsule keys doctor on many protected values', () => {
  it('counts them (a line each only with --verbose)', async () => {
    const home = await homeWithValues();
    const summary = await runCli(['keys', 'doctor', '--home', home]);
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stdout, new RegExp(`^ok +protected values: all ${VALUES} decrypt$`, 'm'));
    assert.ok(summary.stdout.split('\n').length < 15, summary.stdout);
    const verbose = await runCli(['keys', 'doctor', '--home', home, '--verbose']);
    assert.equal(verbose.code, 0);
    assert.equal(verbose.stdout.split('\n').filter((line) => / client\.secret: key [0-9a-f]+, decrypts$/.test(line)).length, VALUES);
  });

  it('counts the values that do not decrypt by cause, and lists each with --verbose', async () => {
    const home = await homeWithValues({ foreign: 30 });
    const summary = await runCli(['keys', 'doctor', '--home', home]);
    assert.equal(summary.code, 1);
    const errors = summary.stdout.split('\n').filter((line) => line.startsWith('ERROR'));
    assert.equal(errors.length, 1, summary.stdout);
    assert.match(errors[0]!, /^ERROR protected values: 30 do not decrypt \(key [0-9a-f]+: the value was encrypted with master key [0-9a-f]+; .*\); --verbose lists each$/);
    assert.match(summary.stdout, /^ +protected values: 10 decrypt, 30 do not, of 40$/m);
    const verbose = await runCli(['keys', 'doctor', '--home', home, '--verbose']);
    assert.equal(verbose.stdout.split('\n').filter((line) => line.startsWith('ERROR repository /conf/system/org.example.ims~client-')).length, 30);
  });

  it("on an older installation's home (keys in /etc/key, no keys/storage) gives the verdict capsule start gives, and checks the values with those keys", async () => {
    const home = await homeWithValues({ keyStorage: 'repository' });
    rmSync(join(home, 'keys', 'storage'));

    const start = await runCli(['start', '--home', home, '--port', '1']);
    assert.equal(start.code, 2);
    const refusal = start.stderr.replace(/^capsule: /, '').trimEnd();
    assert.match(refusal, /^\/etc\/key holds keys .* run 'capsule keys migrate'/);

    const doctor = await runCli(['keys', 'doctor', '--home', home]);
    assert.equal(doctor.code, 1);
    assert.deepEqual(
      doctor.stdout.split('\n').filter((line) => line.startsWith('ERROR')),
      [`ERROR ${join(home, 'keys', 'storage')}: missing, and 'capsule start' refuses this home: ${refusal}`],
    );
    assert.match(doctor.stdout, new RegExp(`^ok +protected values: all ${VALUES} decrypt$`, 'm'));
    assert.equal(doctor.stderr, 'capsule: keys doctor found 1 problem\n');
  });
});
