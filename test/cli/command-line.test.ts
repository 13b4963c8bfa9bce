import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, runCliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

// The tests run most commands in process (runCliInProcess): it must tell what bin/capsule tells.
describe('a command line run in process', () => {
  const missingHome = join(tempDir(), 'no-home');
  const commandLines = [
    ['--version'],
    ['users', 'lisst'],
    ['users', 'list', '--json', '--home', missingHome],
    ['keys', 'protect', '--home', missingHome],
  ];
  for (const args of commandLines) {
    it(`gives the exit code and output of bin/capsule: capsule ${args.join(' ')}`, async () => {
      const [spawned, inProcess] = [await runCli(args), await runCliInProcess(args)];
      assert.deepEqual(inProcess, spawned);
    });
  }

  it('refuses what it cannot run as bin/capsule would: a server, or a variable read from process.env', async () => {
    await assert.rejects(runCliInProcess(['start', '--home', missingHome]), /keeps running; use runCli/);
    await assert.rejects(runCliInProcess(['config', 'list'], { env: { CAPSULE_FAILPOINT: 'x' } }), /CAPSULE_FAILPOINT may be read from process.env/);
  });
});
