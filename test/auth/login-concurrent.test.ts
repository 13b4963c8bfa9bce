import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startInstance } from '../../src/instance/index.js';
import { tempDir } from '../helpers/temp.js';

const MAX_FAILURES = 10; // capsule.auth.bruteforce maxFailures

describe('wrong passwords sent all at once', () => {
  it('are checked at most up to maxFailures: the rest are refused as wrong before any hashing of theirs, and the right password works once the wait passed', async () => {
    let offset = 0;
    // The real argon2 hasher: its checks run on the thread pool, so many are in flight at once.
    const instance = await startInstance({
      home: join(tempDir(), 'home'),
      port: 0,
      env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
      clock: { now: () => Date.now() + offset },
    });
    try {
      const attempt = (password: string) =>
        fetch(`${instance.url}/j_security_check`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ j_username: 'admin', j_password: password }),
        }).then(async (response) => {
          await response.arrayBuffer();
          return { status: response.status, retryAfter: response.headers.get('retry-after') };
        });

      // The start barrier: the server is up; all twenty are sent together.
      const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => attempt(`wrong-${index}`)));
      assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [401], 'every one answered as a wrong password');
      const checked = (await instance.bruteForce.status('admin'))?.failures ?? 0;
      assert.ok(checked >= 1 && checked <= MAX_FAILURES, `${checked} wrong passwords were checked; at most ${MAX_FAILURES} may be`);

      assert.equal((await attempt('admin-password')).status, 401, 'the account is locked, for the right password too');
      offset += 61_000;
      assert.equal((await attempt('admin-password')).status, 200, 'once the wait passed, the right password works');
    } finally {
      await instance.stop();
    }
  });
});
