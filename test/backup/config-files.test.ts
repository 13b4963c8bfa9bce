import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBackup, restoreBackup } from '../../src/backup/index.js';
import { systemClock } from '../../src/clock.js';
import { homeLayout } from '../../src/instance/home.js';
import { initialisedHome } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

const PASSPHRASE = 'correct horse battery staple';

describe('the configuration files in a backup', () => {
  it('are exactly the config/*.json files the instance reads; links into /proc, /dev, /sys and other files are left out with their reason', async () => {
    const home = await initialisedHome();
    const config = join(home, 'config');
    mkdirSync(join(config, 'nested'), { recursive: true });
    const elsewhere = join(tempDir(), 'mounted.json');
    writeFileSync(elsewhere, '{"from":"a mounted file"}');
    writeFileSync(join(config, 'org.example.kept.json'), '{"kept":true}');
    symlinkSync(elsewhere, join(config, 'org.example.linked.json'));
    symlinkSync('/etc/passwd', join(config, 'notes'));
    writeFileSync(join(config, 'nested', 'org.example.nested.json'), '{}');
    writeFileSync(join(config, 'README'), 'not a configuration');
    writeFileSync(join(config, 'my config.json'), '{}');
    writeFileSync(join(config, '.hidden.json'), '{}');
    symlinkSync('/dev/zero', join(config, 'org.example.zero.json'));
    symlinkSync('/proc/self/environ', join(config, 'org.example.environ.json'));
    symlinkSync(join(config, 'gone'), join(config, 'org.example.gone.json'));

    const out = join(tempDir(), 'home.backup');
    const result = await createBackup({ home: homeLayout(home), out, passphrase: PASSPHRASE, clock: systemClock, capsuleVersion: 'test' });
    assert.deepEqual(result.files, ['keys/storage', 'repository/repository.sqlite', 'config/org.example.kept.json', 'config/org.example.linked.json']);
    const bytes = readFileSync(out);
    assert.ok(!bytes.includes(readFileSync('/etc/passwd')), 'nothing a link outside the loader\'s files names');
    assert.ok(!bytes.includes('not a configuration'));

    const reasons = Object.fromEntries(result.warnings.filter((w) => w.includes(' is left out ')).map((w) => [w.slice(config.length + 1, w.indexOf(' is left out ')), w.slice(w.indexOf('(') + 1, -1)]));
    // /proc/self is the reading process: the path it resolves to names that process.
    assert.match(reasons['org.example.environ.json'] ?? '', /^a link to \/proc\/\d+\/environ, a system file$/);
    delete reasons['org.example.environ.json'];
    assert.deepEqual(reasons, {
      '.hidden.json': 'a hidden file',
      'my config.json': 'its name has a character other than letters, digits and . _ @ ~ + = , -; rename it to back it up',
      README: 'Capsule reads only config/*.json',
      nested: 'Capsule reads only config/*.json',
      notes: 'Capsule reads only config/*.json',
      'org.example.gone.json': 'a link to a missing file',
      'org.example.zero.json': 'a link to /dev/zero, a system file',
    });

    const target = join(tempDir(), 'restored');
    await restoreBackup({ file: out, home: homeLayout(target), passphrase: async () => PASSPHRASE, clock: systemClock });
    assert.deepEqual(readdirSync(join(target, 'config')).sort(), ['org.example.kept.json', 'org.example.linked.json']);
    assert.equal(readFileSync(join(target, 'config', 'org.example.linked.json'), 'utf8'), '{"from":"a mounted file"}');
  });
});
