import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

test('an unknown CAPSULE_LOG_LEVEL names the allowed levels, exits 2 and makes no home', async () => {
  const home = join(tempDir(), 'home');
  const result = await runCli(['start', '--home', home, '--port', '1'], { env: { CAPSULE_LOG_LEVEL: 'verbose' } });
  assert.equal(result.code, 2);
  assert.equal(result.stderr, "capsule: CAPSULE_LOG_LEVEL 'verbose' is not a log level; use one of trace, debug, info, warn, error, fatal, silent (default info)\n");
  assert.equal(existsSync(home), false);
});
