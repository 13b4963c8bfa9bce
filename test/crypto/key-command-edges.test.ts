import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBundle, diagnoseKeys, importKeys, keyId, loadKeySet, planHmacRotation, planMasterRotation, promoteStagedHmacKey } from '../../src/crypto/index.js';
import { decrypt, encrypt } from '../../src/crypto/protected-value.js';
import { writeRepositoryKeys } from '../../src/crypto/repository-keys.js';
import { openServices } from '../../src/instance/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { hashHomeFiles } from '../helpers/home-snapshot.js';
import { repositoryBackends } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };
const postgres = repositoryBackends().find((backend) => backend.name === 'postgres')!;

/** A home whose keys are files (as after `keys migrate --cluster`), on `keys`. */
function fileKeyedHome(keys: { master: Buffer; hmac: Buffer }) {
  const home = join(tempDir(), 'home');
  const keysDir = join(home, 'keys');
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(keysDir, 'master'), keys.master, { mode: 0o600 });
  writeFileSync(join(keysDir, 'hmac'), keys.hmac, { mode: 0o600 });
  writeFileSync(join(keysDir, 'storage'), 'file', { mode: 0o600 });
  return { keysDir, configDir: join(home, 'config') };
}

describe('key commands at their edges', () => {
  it('on a shared PostgreSQL repository, rotate --dry-run refuses as the rotation does', async () => {
    const repo = await postgres.open();
    const keys = { master: randomBytes(32), hmac: randomBytes(32) };
    await repo.transaction((tx) => writeRepositoryKeys(tx, keys));
    const locations = fileKeyedHome(keys);
    await assert.rejects(planMasterRotation(locations, repo), /keys rotate --master is refused on a repository shared by several authors/);
    assert.throws(() => planHmacRotation(locations, repo), /keys rotate --hmac is refused on a repository shared by several authors/);
  });

  it('keys doctor on a PostgreSQL author with key files takes the cluster copy in /etc/key as expected (after keys migrate --cluster)', async () => {
    const repo = await postgres.open();
    const keys = { master: randomBytes(32), hmac: randomBytes(32) };
    await repo.transaction((tx) => writeRepositoryKeys(tx, keys));
    const locations = fileKeyedHome(keys);
    const report = await diagnoseKeys(locations, repo);
    const etcKey = report.findings.filter((finding) => finding.subject === '/etc/key');
    assert.deepEqual(etcKey.map((finding) => finding.level), ['ok'], JSON.stringify(etcKey));
    assert.doesNotMatch(etcKey[0]!.message, /keys migrate/);
  });

  it('keys import refuses a bundle whose retirement time is out of range, before writing anything', async () => {
    const home = await initialisedHome();
    const keys = { master: readFileSync(join(home, 'keys', 'master')), hmac: readFileSync(join(home, 'keys', 'hmac')) };
    const before = hashHomeFiles(home, { except: ['audit.log'] });
    for (const retiredAt of [1e300, Date.now() + 3 * 86_400_000, -1]) {
      const bundle = join(tempDir(), 'keys.bundle');
      writeFileSync(bundle, createBundle({ ...keys, retiredHmac: [], retiredMaster: [{ key: randomBytes(32), retiredAt }] }, PASS.CAPSULE_KEYS_PASSPHRASE, Date.now()));
      const result = await runCliInProcess(['keys', 'import', '--in', bundle, '--home', home], { env: PASS });
      assert.notEqual(result.code, 0, String(retiredAt));
      assert.match(result.stderr, /bundle/);
      assert.deepEqual(hashHomeFiles(home, { except: ['audit.log'] }), before, `retiredAt ${retiredAt}: nothing was written`);
    }
  });

  it('promoting with the old keys dropped, when nothing is staged, refuses and keeps the retired keys', async () => {
    const home = await initialisedHome();
    const first = keyId(readFileSync(join(home, 'keys', 'hmac')));
    assert.equal((await runCliInProcess(['keys', 'rotate', '--hmac', '--home', home])).code, 0);
    const services = await openServices({ home, clock: systemClock });
    try {
      await assert.rejects(promoteStagedHmacKey(services.home, services.repo, { keepPrevious: false, now: Date.now() }), /no staged HMAC key to promote; nothing was changed/);
    } finally {
      await services.close();
    }
    assert.deepEqual(readdirSync(join(home, 'keys', 'retired')), [first]);
  });
});

describe('a shared PostgreSQL repository with keys in /etc/key', () => {
  it('import --force keeps the replaced master in /etc/key: another author that reads it still decrypts values under the old master', async () => {
    const repo = await postgres.open();
    const old = { master: randomBytes(32), hmac: randomBytes(32) };
    await repo.transaction((tx) => writeRepositoryKeys(tx, old));
    const repositoryHome = () => {
      const home = join(tempDir(), 'home');
      mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
      writeFileSync(join(home, 'keys', 'storage'), 'repository', { mode: 0o600 });
      return { keysDir: join(home, 'keys'), configDir: join(home, 'config') };
    };
    const importing = repositoryHome();
    const other = repositoryHome();
    const value = encrypt('the old secret', old.master, keyId(old.master));

    const next = { master: randomBytes(32), hmac: randomBytes(32), retiredHmac: [] };
    const result = await importKeys(importing, repo, next, { force: true, now: Date.now() });
    assert.equal(result.changed, true);

    const keys = await loadKeySet(other.keysDir, repo);
    assert.ok(keys.master.equals(next.master));
    assert.deepEqual(keys.retiredMaster?.map((retired) => retired.kid), [keyId(old.master)]);
    const decryptionKeys = new Map([...(keys.retiredMaster ?? []).map((retired) => [retired.kid, retired.key] as const), [keyId(keys.master), keys.master] as const]);
    assert.equal(decrypt(value, decryptionKeys, keyId(keys.master)), 'the old secret');
    // Its doctor counts the value under that retired master, held by this author too.
    const report = await diagnoseKeys(other, repo);
    assert.ok(report.masterKeys.some((key) => key.kid === keyId(old.master) && key.role === 'retired'), JSON.stringify(report.masterKeys));
  });
});
