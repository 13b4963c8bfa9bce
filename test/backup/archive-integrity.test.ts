import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createBackup, restoreBackup } from '../../src/backup/index.js';
import { systemClock } from '../../src/clock.js';
import { isCapsuleError } from '../../src/errors.js';
import { homeLayout } from '../../src/instance/home.js';
import { openServices } from '../../src/instance/index.js';
import { initialisedHome } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

const PASSPHRASE = 'correct horse battery staple';

describe('a backup file', () => {
  it('is refused after any change to any byte, and the refused restore leaves nothing behind', async () => {
    const home = await initialisedHome();
    const services = await openServices({ home, clock: systemClock });
    try {
      await services.config.update('capsule.oauth.client~analytics', { 'client.secret': services.crypto.protect('secret'), 'client.id': 'capsule', 'token.endpoint': 'http://127.0.0.1:9/token' });
    } finally {
      await services.close();
    }
    const out = join(tempDir(), 'home.backup');
    await createBackup({ home: homeLayout(home), out, passphrase: PASSPHRASE, clock: systemClock, capsuleVersion: 'test' });
    const original = readFileSync(out);

    await fc.assert(
      // The header (format line, manifest, its HMAC) and the key bundle are the first few KiB: weighed as much as the rest.
      fc.asyncProperty(fc.oneof(fc.nat({ max: Math.min(4096, original.length - 1) }), fc.nat({ max: original.length - 1 })), fc.integer({ min: 1, max: 255 }), async (offset, mask) => {
        const changed = Buffer.from(original);
        changed[offset]! ^= mask;
        const folder = tempDir();
        const file = join(folder, 'changed.backup');
        writeFileSync(file, changed);
        const target = join(folder, 'restored');
        await assert.rejects(
          restoreBackup({ file, home: homeLayout(target), passphrase: async () => PASSPHRASE, clock: systemClock }),
          (error) => isCapsuleError(error, 'BUNDLE_INVALID') && /nothing was written/.test(error.message),
          `a change of byte ${offset} was not refused`,
        );
        assert.ok(!existsSync(target));
        assert.deepEqual(readdirSync(folder), ['changed.backup']);
      }),
      { numRuns: 40 },
    );

    // and the unchanged file restores
    const target = join(tempDir(), 'restored');
    await restoreBackup({ file: out, home: homeLayout(target), passphrase: async () => PASSPHRASE, clock: systemClock });
    const restored = await openServices({ home: target, clock: systemClock });
    try {
      assert.equal(restored.crypto.unprotect(restored.config.stored('capsule.oauth.client~analytics')!['client.secret'] as string), 'secret');
    } finally {
      await restored.close();
    }
  });
});

describe('a file that is not a backup', () => {
  const restoreOf = (file: string) => restoreBackup({ file, home: homeLayout(join(tempDir(), 'restored')), passphrase: async () => PASSPHRASE, clock: systemClock });

  it('is refused by its first bytes, however long it is', async () => {
    const file = join(tempDir(), 'junk.backup');
    writeFileSync(file, Buffer.alloc(17 * 1024 * 1024, 'x'));
    await assert.rejects(restoreOf(file), (error) => isCapsuleError(error, 'BUNDLE_INVALID') && /it does not start with 'capsule-backup\/1'/.test(error.message));
  });

  it('is refused when its manifest line runs past 1 MiB', async () => {
    const file = join(tempDir(), 'long.backup');
    writeFileSync(file, Buffer.concat([Buffer.from('capsule-backup/1\n'), Buffer.alloc(2 * 1024 * 1024, '{')]));
    await assert.rejects(restoreOf(file), (error) => isCapsuleError(error, 'BUNDLE_INVALID') && /its manifest is longer than 1 MiB/.test(error.message));
  });
});
