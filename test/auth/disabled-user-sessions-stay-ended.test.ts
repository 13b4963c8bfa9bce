import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { login } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Disabling a user raises its token generation: every session of theirs is listed ended
 * ('user-disabled') and stays ended once the user is enabled again, and the tokens of before
 * (stateful ones carry the generation they were issued in) stay refused.
 */
describe("a disabled user's sessions, listed ended, come back when the user is enabled", () => {
  let instance: RunningInstance;
  before(async () => {
    instance = await startInstance({ home: join(tempDir(), 'home'), port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    await instance.services.users.createUser('erin', { password: 'erin-pw-correct-horse' });
  });
  after(() => instance.stop());

  it('a session listed ended stays ended', async () => {
    const url = instance.url;
    const thief = await login(url, 'erin', 'erin-pw-correct-horse');
    const admin = await login(url, 'admin', 'admin-password');
    await instance.services.users.setDisabled('erin', true);
    const listed = ((await (await fetch(`${url}/api/users/erin/sessions`, { headers: { cookie: `login-token=${admin}` } })).json()) as { sessions: { state: string; endReason: string }[] }).sessions;
    assert.deepEqual(listed.map((session) => [session.state, session.endReason]), [['ended', 'user-disabled']]);
    await instance.services.users.setDisabled('erin', false);
    const after = ((await (await fetch(`${url}/api/users/erin/sessions`, { headers: { cookie: `login-token=${admin}` } })).json()) as { sessions: { state: string }[] }).sessions;
    assert.deepEqual(after.map((session) => session.state), ['ended'], 'the session listed ended is active again');
    assert.equal((await fetch(`${url}/api/session`, { headers: { cookie: `login-token=${thief}` } })).status, 401);
  });
});
