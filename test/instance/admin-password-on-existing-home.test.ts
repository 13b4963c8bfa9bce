import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

const IGNORED =
  "CAPSULE_ADMIN_PASSWORD is ignored: it sets the administrator's password on a home's first start only, and this home has its administrator already; to change a password, run capsule users passwd admin --password-stdin (or use the console's Users page), then unset CAPSULE_ADMIN_PASSWORD";

async function loginStatus(url: string, password: string): Promise<number> {
  const response = await fetch(`${url}/j_security_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ j_username: 'admin', j_password: password }),
    redirect: 'manual',
  });
  return response.status;
}

test('CAPSULE_ADMIN_PASSWORD on a home that has its administrator is ignored with a warning that says how to change it, never the value', async () => {
  const home = join(tempDir(), 'home');
  const first = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: 'the-first-admin-password' } });
  assert.ok(!first.output().includes('CAPSULE_ADMIN_PASSWORD is ignored'), 'the first start uses it');
  assert.equal(await first.stop(), 0);

  const again = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: 'another-admin-password' } });
  const warnings = again
    .output()
    .split('\n')
    .filter((line) => line.includes('CAPSULE_ADMIN_PASSWORD'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });
  assert.deepEqual(warnings, [{ ...warnings[0], level: 40, msg: IGNORED }]);
  assert.ok(!again.output().includes('another-admin-password'));
  assert.ok((await loginStatus(again.url, 'another-admin-password')) >= 400, 'the new value was not applied');
  assert.ok((await loginStatus(again.url, 'the-first-admin-password')) < 400);
  assert.equal(await again.stop(), 0);
});
