import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startInstance } from '../../src/instance/index.js';
import { tempDir } from '../helpers/temp.js';

const LIMIT_PER_USER = 5; // DEFAULT_THROTTLE: 5 failures per user in a minute

describe('wrong passwords sent all at once', () => {
  it('are checked at most up to the limit: the rest are 429 before any hashing, and the right password works once the window ends', async () => {
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
      const checked = answers.filter((answer) => answer.status === 401).length;
      const throttled = answers.filter((answer) => answer.status === 429);
      assert.equal(checked + throttled.length, 20, JSON.stringify(answers));
      assert.ok(checked <= LIMIT_PER_USER, `${checked} wrong passwords were checked; the limit is ${LIMIT_PER_USER}`);
      for (const answer of throttled) assert.ok(Number(answer.retryAfter) > 0, `Retry-After ${answer.retryAfter}`);

      assert.equal((await attempt('admin-password')).status, 429, 'the window is still closed, for the right password too');
      offset += 61_000;
      assert.equal((await attempt('admin-password')).status, 200, 'once the window ends, the right password works');
    } finally {
      await instance.stop();
    }
  });
});
