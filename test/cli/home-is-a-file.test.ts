import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

test('--home naming a file says it is a file, not a folder (not a permission problem), and leaves the file alone', async () => {
  const file = join(tempDir(), 'capsule.env');
  writeFileSync(file, 'CAPSULE_PORT=4502\n', { mode: 0o644 });
  for (const args of [['users', 'list'], ['start'], ['keys', 'doctor']]) {
    const result = await runCli([...args, '--home', file]);
    assert.equal(result.code, 2, args.join(' '));
    assert.equal(
      result.stderr,
      `capsule: the home ${file} is a file, not a folder; give --home (or CAPSULE_HOME) a folder: an instance home, or one that does not exist yet for a new home\n`,
      args.join(' '),
    );
  }
  assert.equal(readFileSync(file, 'utf8'), 'CAPSULE_PORT=4502\n');
});
