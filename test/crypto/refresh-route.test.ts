import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateKey, keyId } from '../../src/crypto/index.js';
import { writeFileAtomic } from '../../src/support/atomic-file.js';
import { startTestInstance } from '../helpers/homes.js';
import { login, withToken } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

describe('POST /system/console/crypto/refresh', () => {
  it('reloads the keys for administrators only', async () => {
    const instance = await startTestInstance(join(tempDir(), 'home'));
    try {
      await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
      const admin = await login(instance.url, 'admin', 'admin-password');
      const alice = await login(instance.url, 'alice', 'alice-pw-correct-horse');
      const refresh = (init: RequestInit = {}) => fetch(`${instance.url}/system/console/crypto/refresh`, { method: 'POST', ...init });
      assert.equal((await refresh()).status, 401);
      assert.equal((await refresh(withToken(alice))).status, 403);
      const replaced = generateKey();
      writeFileAtomic(join(instance.services.home.keysDir, 'master'), replaced, 0o600);
      const response = await refresh(withToken(admin));
      assert.equal(response.status, 200);
      const body = (await response.json()) as { keys: { master: string } };
      assert.equal(body.keys.master, keyId(replaced));
      assert.equal(instance.services.crypto.keyIds().master, keyId(replaced));
      assert.ok(!JSON.stringify(body).includes(replaced.toString('hex')));
    } finally {
      await instance.stop();
    }
  });
});
