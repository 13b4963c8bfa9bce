import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HealthResult } from '../../src/health/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { oauthClientPid, type OAuthCheckResult } from '../../src/oauth/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { startOAuthProvider, type TestProvider } from '../helpers/oauth-provider.js';
import { healthAsAdmin } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

// The first seed: keys that moved from the repository to the file system must keep decrypting
// the IMS client secret; keys that really changed must be reported as that, not as invalid_client.
const SECRET = 'ims-client-secret-5e8f21';
const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };
const PID = oauthClientPid('ims');

async function settledCheck(instance: RunningInstance, when: (result: HealthResult) => boolean): Promise<HealthResult> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = instance.health.summary().checks.find((check) => check.name === PID);
    if (result && result.checkedAt !== '' && when(result)) return result;
    if (Date.now() > deadline) throw new Error(`the check did not settle: ${JSON.stringify(result)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function healthOf(instance: RunningInstance): Promise<{ status: number; check: HealthResult | undefined }> {
  const response = await healthAsAdmin(instance.url);
  const body = (await response.json()) as { checks: HealthResult[] };
  return { status: response.status, check: body.checks.find((check) => check.name === PID) };
}

const masterKeyOf = async (home: string) =>
  jsonOf<{ storage: string; master: { id: string } }>(await runCliInProcess(['keys', 'fingerprint', '--json', '--home', home]));

describe('the first seed end to end: IMS client secret across a key migration', () => {
  let provider: TestProvider;
  before(async () => {
    provider = await startOAuthProvider([{ clientId: 'ims-client', clientSecret: SECRET }]);
  });
  after(() => provider.close());

  it('stays green after keys move from the repository to the file system, and names both key ids when the keys really changed', async () => {
    const home = join(tempDir(), 'home');
    let instance = await startTestInstance(home, { keyStorage: 'repository' });
    const legacy = await masterKeyOf(home);
    assert.equal(legacy.storage, 'repository');

    // An integration added with the CLI while the instance runs; the instance checks it at once.
    const added = await runCliInProcess(
      ['oauth', 'add', 'ims', '--token-endpoint', provider.tokenEndpoint, '--client-id', 'ims-client', '--client-secret-stdin', '--home', home],
      { stdin: `${SECRET}\n` },
    );
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, new RegExp(`encrypted with master key ${legacy.master.id}`));
    assert.equal((await settledCheck(instance, () => true)).status, 'ok');
    await instance.stop();

    const migrated = await runCliInProcess(['keys', 'migrate', '--home', home]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.equal(readFileSync(join(home, 'keys', 'storage'), 'utf8'), 'file');
    assert.ok(existsSync(join(home, 'keys', 'master')));

    // Restart: same key, now from keys/master, so the secret decrypts and the grant succeeds.
    instance = await startTestInstance(home);
    try {
      assert.deepEqual(await masterKeyOf(home), { ...legacy, storage: 'file' });
      const green = await settledCheck(instance, () => true);
      assert.equal(green.status, 'ok', green.message);
      assert.match(green.message, /granted client 'ims-client' an access token/);
      const served = await healthOf(instance);
      assert.equal(served.status, 200);
      assert.equal(served.check?.status, 'ok');
    } finally {
      await instance.stop();
    }
    assert.equal((await runCliInProcess(['oauth', 'check', 'ims', '--home', home])).code, 0);

    // The seed's failure: this home now runs with another instance's master key.
    const otherHome = await initialisedHome();
    const foreign = await masterKeyOf(otherHome);
    const bundle = join(tempDir(), 'other.keys');
    assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', otherHome], { env: PASS })).code, 0);
    const imported = await runCliInProcess(['keys', 'import', '--in', bundle, '--force', '--home', home], { env: PASS });
    assert.equal(imported.code, 0, imported.stderr);
    // import --force keeps the replaced master as a retired key, so the secret still decrypts ...
    assert.equal((await runCliInProcess(['oauth', 'check', 'ims', '--home', home])).code, 0, 'the replaced master still decrypts the secret');
    // ... and the seed's failure needs that key gone, as when key files are replaced by hand.
    const retiredLegacy = join(home, 'keys', 'retired-master', legacy.master.id);
    assert.ok(existsSync(retiredLegacy), 'the replaced master was kept as a retired key');
    rmSync(retiredLegacy);

    const requests = provider.tokenRequests;
    instance = await startTestInstance(home);
    try {
      const expected = `client.secret of ims was encrypted with master key ${legacy.master.id}; this instance's master key is ${foreign.master.id}; restore the key (capsule keys import) or enter the secret again (capsule oauth add ims --update --client-secret-stdin)`;
      const red = await settledCheck(instance, () => true);
      assert.equal(red.status, 'critical');
      assert.equal(red.message, expected);
      assert.doesNotMatch(red.message, /invalid_client/);
      const served = await healthOf(instance);
      assert.equal(served.status, 503);
      assert.equal(served.check?.message, expected);
      assert.equal(provider.tokenRequests, requests, 'no grant was tried with a secret that does not decrypt');

      const cli = await runCliInProcess(['oauth', 'check', '--json', '--home', home]);
      assert.equal(cli.code, 1);
      const [result] = jsonOf<OAuthCheckResult[]>(cli);
      assert.deepEqual([result?.code, result?.secretKeyId, result?.masterKeyId, result?.message], ['KEY_MISMATCH', legacy.master.id, foreign.master.id, expected]);

      // The fix the message names: enter the secret again; the running instance re-checks on the change.
      const reentered = await runCliInProcess(['oauth', 'add', 'ims', '--update', '--client-secret-stdin', '--home', home], { stdin: SECRET });
      assert.equal(reentered.code, 0, reentered.stderr);
      const fixed = await settledCheck(instance, (result) => result.status !== 'critical');
      assert.equal(fixed.status, 'ok', fixed.message);
      assert.equal((await healthOf(instance)).status, 200);
    } finally {
      await instance.stop();
    }
  });
});
