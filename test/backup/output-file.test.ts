import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBackup } from '../../src/backup/index.js';
import { placeWithoutReplacing } from '../../src/backup/place-file.js';
import { systemClock } from '../../src/clock.js';
import { isCapsuleError } from '../../src/errors.js';
import { homeLayout } from '../../src/instance/home.js';
import { initialisedHome } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

const PASSPHRASE = 'correct horse battery staple';

describe('the backup output file', () => {
  it('is refused, before any work, when it is a symbolic link to a missing file; the link is left and nothing is written', async () => {
    const home = await initialisedHome();
    const folder = tempDir();
    const out = join(folder, 'home.backup');
    symlinkSync(join(folder, 'missing'), out);
    await assert.rejects(
      createBackup({ home: homeLayout(home), out, passphrase: PASSPHRASE, clock: systemClock, capsuleVersion: 'test' }),
      (error) => isCapsuleError(error, 'INVALID_ARGUMENT') && /is a symbolic link to a missing file; choose another name/.test(error.message),
    );
    assert.ok(lstatSync(out).isSymbolicLink());
    assert.deepEqual(readdirSync(folder), ['home.backup'], 'no work folder, no file at the link\'s target');
  });

  // A file system without hard links (vfat, exFAT, SMB) needs a mount: name a folder on one.
  const noHardLinks = process.env.CAPSULE_TEST_NO_HARDLINKS_DIR;
  it('is placed without hard links, and still never replaces a file', { skip: noHardLinks ? false : 'set CAPSULE_TEST_NO_HARDLINKS_DIR to a folder on vfat, exFAT or SMB' }, () => {
    const folder = noHardLinks!;
    const from = join(folder, 'complete');
    const to = join(folder, 'placed.backup');
    writeFileSync(from, 'the archive');
    placeWithoutReplacing(from, to);
    assert.equal(readFileSync(to, 'utf8'), 'the archive');
    assert.ok(!existsSync(from));
    writeFileSync(from, 'another archive');
    assert.throws(() => placeWithoutReplacing(from, to), { code: 'EEXIST' });
    assert.equal(readFileSync(to, 'utf8'), 'the archive');
  });

  it('is placed where hard links work, and never replaces a file', () => {
    const folder = tempDir();
    const from = join(folder, 'complete');
    const to = join(folder, 'placed.backup');
    writeFileSync(from, 'the archive');
    placeWithoutReplacing(from, to);
    assert.equal(readFileSync(to, 'utf8'), 'the archive');
    writeFileSync(join(folder, 'next'), 'another archive');
    assert.throws(() => placeWithoutReplacing(join(folder, 'next'), to), { code: 'EEXIST' });
    assert.equal(readFileSync(to, 'utf8'), 'the archive');
  });
});
