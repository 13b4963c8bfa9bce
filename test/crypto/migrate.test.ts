import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openServices } from '../../src/instance/index.js';
import { KEY_NODE, keyId } from '../../src/crypto/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { EXPECTED_VALUES, readProtectedValues, writeProtectedValues } from '../helpers/protected-home.js';
import { systemClock } from '../../src/clock.js';

async function repositoryKeys(home: string) {
  const services = await openServices({ home, clock: systemClock });
  const node = await services.repo.getNode(KEY_NODE);
  await services.close();
  return node;
}

describe('capsule keys migrate (the fifteen manual steps of the first seed, in one command)', () => {
  it('moves a legacy home from /etc/key to the file system; every value still decrypts after a restart', async () => {
    const home = await initialisedHome({ keyStorage: 'repository' });
    await writeProtectedValues(home);
    const legacy = (await repositoryKeys(home))!.properties;
    const master = legacy.master as Buffer;
    const hmac = legacy.hmac as Buffer;

    const result = await runCliInProcess(['keys', 'migrate', '--json', '--home', home]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      { changed: true, storage: 'file', master: keyId(master), hmac: keyId(hmac) },
      (({ changed, storage, master: m, hmac: h }) => ({ changed, storage, master: m, hmac: h }))(jsonOf<Record<string, unknown>>(result)),
    );
    assert.ok(readFileSync(join(home, 'keys', 'master')).equals(master));
    assert.ok(readFileSync(join(home, 'keys', 'hmac')).equals(hmac));
    assert.equal(readFileSync(join(home, 'keys', 'storage'), 'utf8'), 'file');
    assert.equal(await repositoryKeys(home), null, 'the properties are gone from /etc/key');

    const instance = await startTestInstance(home);
    assert.equal(instance.services.crypto.keyIds().master, keyId(master));
    await instance.stop();
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);

    const again = await runCliInProcess(['keys', 'migrate', '--home', home]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already on the file system; nothing to do/);
  });

  it('refuses, changing nothing, when key files exist with other bytes', async () => {
    const home = await initialisedHome({ keyStorage: 'repository' });
    const stray = Buffer.alloc(32, 7);
    writeFileSync(join(home, 'keys', 'master'), stray, { mode: 0o600 });
    const before = (await repositoryKeys(home))!.properties.master as Buffer;
    const result = await runCliInProcess(['keys', 'migrate', '--home', home]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`keys/master \\(id ${keyId(stray)}\\) and /etc/key/master \\(id ${keyId(before)}\\) hold different keys; nothing was changed`));
    assert.ok(readFileSync(join(home, 'keys', 'master')).equals(stray));
    assert.equal(readFileSync(join(home, 'keys', 'storage'), 'utf8'), 'repository');
    assert.ok(((await repositoryKeys(home))!.properties.master as Buffer).equals(before));
  });

  it('goes back with --to repository', async () => {
    const home = await initialisedHome();
    await writeProtectedValues(home);
    const master = readFileSync(join(home, 'keys', 'master'));
    const result = await runCliInProcess(['keys', 'migrate', '--to', 'repository', '--home', home]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(existsSync(join(home, 'keys', 'master')), false);
    assert.ok(((await repositoryKeys(home))!.properties.master as Buffer).equals(master));
    assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
    assert.match((await runCliInProcess(['keys', 'migrate', '--to', 'repository', '--home', home])).stdout, /nothing to do/);
    assert.equal((await runCliInProcess(['keys', 'migrate', '--to', 'cloud', '--home', home])).code, 2);
  });
});
