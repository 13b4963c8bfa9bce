import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCliInProcess } from '../helpers/cli.js';
import { startTestInstance } from '../helpers/homes.js';
import { login, sessionStatus, withToken } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

describe('log out everywhere', () => {
  it('ends stateful and encapsulated tokens, from the CLI and over HTTP for administrators', async () => {
    const instance = await startTestInstance(join(tempDir(), 'home'));
    const { url } = instance;
    try {
      await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
      const stateful = await login(url, 'alice', 'alice-pw-correct-horse');
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      const encapsulated = await login(url, 'alice', 'alice-pw-correct-horse');
      assert.equal(await sessionStatus(url, stateful), 200);
      assert.equal(await sessionStatus(url, encapsulated), 200);

      const result = await runCliInProcess(['users', 'logout-everywhere', 'alice', '--json', '--home', instance.services.home.root]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { id: 'alice', statefulTokensRemoved: 1, generation: 1 });
      const deadline = Date.now() + 5000;
      while ((await sessionStatus(url, encapsulated)) === 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await sessionStatus(url, encapsulated), 401, 'the running instance saw the new generation');
      assert.equal(await sessionStatus(url, stateful), 401);

      const fresh = await login(url, 'alice', 'alice-pw-correct-horse');
      assert.equal(await sessionStatus(url, fresh), 200, 'a new login works');
      const admin = await login(url, 'admin', 'admin-password');
      const forbidden = await fetch(`${url}/api/users/alice/logout-everywhere`, { method: 'POST', ...withToken(fresh) });
      assert.equal(forbidden.status, 403, 'only administrators');
      const anonymous = await fetch(`${url}/api/users/alice/logout-everywhere`, { method: 'POST' });
      assert.equal(anonymous.status, 401);
      const done = await fetch(`${url}/api/users/alice/logout-everywhere`, { method: 'POST', ...withToken(admin) });
      assert.equal(done.status, 200);
      assert.equal(((await done.json()) as { generation: number }).generation, 2);
      assert.equal(await sessionStatus(url, fresh), 401, 'local changes apply at once');
      const missing = await fetch(`${url}/api/users/ghost/logout-everywhere`, { method: 'POST', ...withToken(admin) });
      assert.equal(missing.status, 404);
    } finally {
      await instance.stop();
    }
  });
});
