import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { startServerProcess } from '../helpers/server-process.js';

test('a key file others can read: start warns naming the file and chmod 600 (never the key), and keys doctor says the same', async () => {
  const home = await initialisedHome();
  const hmacFile = join(home, 'keys', 'hmac');
  chmodSync(hmacFile, 0o644);
  const key = readFileSync(hmacFile);

  const server = await startServerProcess({ home });
  const warnings = server
    .output()
    .split('\n')
    .filter((line) => line.includes('others can read'))
    .map((line) => (JSON.parse(line) as { level: number; msg: string }));
  assert.deepEqual(warnings, [{ ...warnings[0], level: 40, msg: `${hmacFile} has mode 644: others can read the key; chmod 600 ${hmacFile}` }]);
  for (const encoding of ['hex', 'base64', 'base64url'] as const) assert.ok(!server.output().includes(key.toString(encoding)));
  assert.equal(await server.stop(), 0);

  const doctor = await runCli(['keys', 'doctor', '--home', home]);
  assert.equal(doctor.code, 1);
  assert.ok(doctor.stdout.includes(`${hmacFile}: mode 644: others can read the key; chmod 600 ${hmacFile}`), doctor.stdout);
});
