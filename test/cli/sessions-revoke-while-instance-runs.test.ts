import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startInstance } from '../../src/instance/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { login, sessionStatus } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The operator ends a stolen session with `capsule sessions revoke SID --user ID --home H` while
 * the instance of that home runs (SQLite, no farm store): the command writes the end to the
 * repository and exits, and the running instance refuses the token. Run `npm run build` first.
 */
describe('capsule sessions revoke on the home of a running instance', () => {
  it('the running instance refuses the revoked token', async (t) => {
    const home = join(tempDir(), 'home');
    const instance = await startInstance({ home, port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    t.after(() => instance.stop());
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    const stolen = await login(instance.url, 'alice', 'alice-pw-correct-horse');
    for (let i = 0; i < 3; i++) assert.equal(await sessionStatus(instance.url, stolen), 200);
    const sid = ((await (await fetch(`${instance.url}/api/sessions`, { headers: { cookie: `login-token=${stolen}` } })).json()) as { sessions: { id: string }[] }).sessions[0]!.id;
    const revoked = await runCliInProcess(['sessions', 'revoke', sid, '--user', 'alice', '--home', home]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /refused on every instance/);
    // No event reaches the test from another process: a bounded poll (the push takes under a second, README).
    let status = 200;
    for (let i = 0; i < 60 && status === 200; i++) {
      status = await sessionStatus(instance.url, stolen);
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 401, 'the running instance still accepts the token the command revoked');
  });
});
