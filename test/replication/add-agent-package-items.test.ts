import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonOf, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';

const add = (home: string, packageItems: string) =>
  runCli(['replication', 'add-agent', 'publish-1', '--url', 'http://127.0.0.2:4503', '--transport-user', 'replicator', '--transport-password-stdin', '--package-items', packageItems, '--home', home], { stdin: 'transport-pw\n' });

describe('capsule replication add-agent --package-items', () => {
  it('sets how many items a package holds at most, and refuses what is no whole number from 1 to 500 with nothing written', async () => {
    const home = await initialisedHome();
    const notANumber = await add(home, 'many');
    assert.notEqual(notANumber.code, 0);
    assert.match(notANumber.stderr, /--package-items takes a whole number of items, not 'many'/);
    for (const outOfRange of ['0', '501']) {
      const refused = await add(home, outOfRange);
      assert.notEqual(refused.code, 0, `--package-items ${outOfRange}`);
      assert.match(refused.stderr, /package\.items/);
    }
    assert.deepEqual(jsonOf(await runCli(['replication', 'status', '--json', '--home', home])), [], 'nothing was written');

    assert.equal((await add(home, '100')).code, 0);
    const shown = jsonOf<{ values: Record<string, unknown> }>(await runCli(['config', 'get', 'capsule.replication.agent~publish-1', '--json', '--home', home]));
    assert.equal(JSON.stringify(shown).includes('"package.items":100'), true, JSON.stringify(shown));
  });
});
