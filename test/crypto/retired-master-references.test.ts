import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { hashHomeFiles } from '../helpers/home-snapshot.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

const PID = 'capsule.metrics';

/** A home whose metrics scrape token is `$[secret:analytics]`, a file holding a value protected with the home's master. */
async function homeWithReferencedSecret(): Promise<{ home: string; env: NodeJS.ProcessEnv }> {
  const home = await initialisedHome();
  const secrets = join(tempDir(), 'secrets');
  mkdirSync(secrets);
  const services = await openServices({ home, clock: systemClock });
  try {
    writeFileSync(join(secrets, 'analytics'), `${services.crypto.protect('analytics-secret')}\n`);
    await services.config.update(PID, { 'scrape.token': '$[secret:analytics]' });
  } finally {
    await services.close();
  }
  return { home, env: { CAPSULE_SECRETS_DIR: secrets } };
}

async function rotate(home: string, env: NodeJS.ProcessEnv): Promise<string> {
  const result = await runCli(['keys', 'rotate', '--master', '--json', '--home', home], { env });
  assert.equal(result.code, 0, result.stderr);
  return jsonOf<{ previous: string }>(result).previous;
}

describe('keys remove-retired-master and secrets that come through a reference', () => {
  it('refuses a key that the value a reference resolves to needs, even with --ignore-references; doctor counts it', async () => {
    const { home, env } = await homeWithReferencedSecret();
    const previous = await rotate(home, env);
    const retiredFile = join(home, 'keys', 'retired-master', previous);
    const before = hashHomeFiles(home, { except: ['audit.log'] });

    for (const extra of [[], ['--ignore-references']]) {
      const result = await runCli(['keys', 'remove-retired-master', previous, '--yes', ...extra, '--home', home], { env });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, new RegExp(`1 protected value still uses retired master ${previous}`));
      assert.match(result.stderr, /\$\[secret:analytics\]/);
    }
    assert.ok(existsSync(retiredFile));
    assert.deepEqual(hashHomeFiles(home, { except: ['audit.log'] }), before, 'refusals change nothing');

    const doctor = jsonOf<{ masterKeys: Array<{ kid: string; values: number }> }>(await runCli(['keys', 'doctor', '--json', '--home', home], { env }));
    assert.equal(doctor.masterKeys.find((key) => key.kid === previous)?.values, 1);
  });

  it('refuses while a secret property holds a reference it cannot resolve, naming it; --ignore-references acknowledges it', async () => {
    const { home, env } = await homeWithReferencedSecret();
    const previous = await rotate(home, env);
    const retiredFile = join(home, 'keys', 'retired-master', previous);
    // This shell lacks the instance's CAPSULE_SECRETS_DIR: nothing here can say what the reference gives.
    const refused = await runCli(['keys', 'remove-retired-master', previous, '--yes', '--home', home], { env: { CAPSULE_SECRETS_DIR: '' } });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /repository node \/conf\/system\/capsule\.metrics property scrape\.token \(\$\[secret:analytics\]\)/);
    assert.match(refused.stderr, /nothing was removed.*--ignore-references/);
    assert.ok(existsSync(retiredFile));

    const removed = await runCli(['keys', 'remove-retired-master', previous, '--yes', '--ignore-references', '--home', home], { env: { CAPSULE_SECRETS_DIR: '' } });
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(existsSync(retiredFile), false);
  });
});
