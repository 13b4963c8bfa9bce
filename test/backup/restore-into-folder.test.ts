import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, lstatSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBackup, restoreBackup } from '../../src/backup/index.js';
import { systemClock } from '../../src/clock.js';
import { homeLayout } from '../../src/instance/home.js';
import { openServices } from '../../src/instance/index.js';
import { runCli, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

const PASSPHRASE = 'correct horse battery staple';

let shared: Promise<string> | undefined;
/** A backup of a home with one protected OAuth secret. */
function sharedBackup(): Promise<string> {
  shared ??= (async () => {
    const home = await initialisedHome();
    const services = await openServices({ home, clock: systemClock });
    try {
      await services.config.update('capsule.oauth.client~analytics', { 'client.secret': services.crypto.protect('secret'), 'client.id': 'capsule', 'token.endpoint': 'http://127.0.0.1:9/token' });
    } finally {
      await services.close();
    }
    const out = join(tempDir(), 'home.backup');
    await createBackup({ home: homeLayout(home), out, passphrase: PASSPHRASE, clock: systemClock, capsuleVersion: 'test' });
    return out;
  })();
  return shared;
}

function restore(file: string, home: string) {
  return restoreBackup({ file, home: homeLayout(home), passphrase: async () => PASSPHRASE, clock: systemClock });
}

async function secretOf(home: string): Promise<string> {
  const services = await openServices({ home, clock: systemClock });
  try {
    return services.crypto.unprotect(services.config.stored('capsule.oauth.client~analytics')!['client.secret'] as string);
  } finally {
    await services.close();
  }
}

describe('restore into an existing empty folder', () => {
  it('fills a folder the operator prepared, keeping the folder itself (its inode and mode)', async () => {
    const file = await sharedBackup();
    const parent = tempDir();
    const home = join(parent, 'prepared');
    mkdirSync(home);
    chmodSync(home, 0o750);
    const before = statSync(home);
    await restore(file, home);
    const after = statSync(home);
    assert.equal(after.ino, before.ino, 'the same folder, not one renamed over it');
    assert.equal(after.mode & 0o777, 0o750);
    assert.deepEqual(readdirSync(home).sort(), ['keys', 'repository']);
    assert.deepEqual(readdirSync(parent), ['prepared'], 'no work folder beside it');
    assert.equal(await secretOf(home), 'secret');
  });

  it('fills the folder a symbolic link names, and the link stays a link', async () => {
    const file = await sharedBackup();
    const parent = tempDir();
    const real = join(parent, 'real');
    mkdirSync(real);
    const link = join(parent, 'home');
    symlinkSync(real, link);
    await restore(file, link);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.deepEqual(readdirSync(real).sort(), ['keys', 'repository']);
    assert.deepEqual(readdirSync(parent).sort(), ['home', 'real']);
    assert.equal(await secretOf(link), 'secret');
  });

  it('refuses a symbolic link to a missing folder, and leaves the link', async () => {
    const file = await sharedBackup();
    const parent = tempDir();
    const link = join(parent, 'home');
    symlinkSync(join(parent, 'missing'), link);
    await assert.rejects(restore(file, link), /is a symbolic link to a missing folder/);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.deepEqual(readdirSync(parent), ['home']);
  });

  it('a restore killed before the home is in place leaves the empty folder and its work folder, which the next restore removes', async () => {
    const file = await sharedBackup();
    const home = join(tempDir(), 'prepared');
    mkdirSync(home);
    const env = { CAPSULE_KEYS_PASSPHRASE: PASSPHRASE };
    const killed = await runCli(['restore', '--in', file, '--home', home], { env: { ...env, CAPSULE_FAILPOINT: 'restore:home-staged' } });
    assert.equal(killed.code, null, 'killed');
    const left = readdirSync(home);
    assert.equal(left.length, 1);
    assert.match(left[0]!, /^\.restore-[A-Za-z0-9]{6}$/);
    assert.equal(statSync(join(home, left[0]!)).mode & 0o777, 0o700);
    assert.ok(existsSync(join(home, left[0]!, 'home', 'keys', 'master')), 'the key files it held are what makes removing it matter');

    const again = await runCliInProcess(['restore', '--in', file, '--home', home], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(readdirSync(home).filter((name) => name.startsWith('.')), [], "the crashed restore's folder is gone");
    assert.equal(await secretOf(home), 'secret');
  });
});
