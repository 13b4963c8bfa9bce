import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { tokenOf } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

/**
 * A user is deleted (an employee leaves) and later another person gets the same id: the new user
 * starts past the deleted one's generation, so the old person's sessions are not listed active for
 * the new account and their tokens are refused.
 */
describe("a deleted user's sessions come back with a new user of the same id", () => {
  let instance: RunningInstance;
  let url: string;
  async function signIn(user: string, password: string, userAgent: string): Promise<string> {
    const response = await fetch(`${url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgent },
      body: new URLSearchParams({ j_username: user, j_password: password }),
    });
    assert.equal(response.status, 200);
    return tokenOf(response)!;
  }
  const as = (token: string): RequestInit => ({ headers: { cookie: `login-token=${token}` } });

  before(async () => {
    instance = await startInstance({ home: join(tempDir(), 'home'), port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    url = instance.url;
    await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
  });
  after(() => instance.stop());

  it('the old sessions are ended at the removal: not listed active for the new user, their tokens refused', async () => {
    await instance.services.users.createUser('sam', { password: 'first-sam-pw-correct' });
    const oldToken = await signIn('sam', 'first-sam-pw-correct', 'OldSamDevice/1.0 (203.0.113.5 laptop)');
    await instance.services.users.removeUser('sam');
    assert.equal((await fetch(`${url}/api/session`, as(oldToken))).status, 401, 'refused while sam does not exist');

    await instance.services.users.createUser('sam', { password: 'second-sam-pw-correct' });
    assert.equal((await fetch(`${url}/api/session`, as(oldToken))).status, 401, "the previous holder's token works for the new account");
    const newToken = await signIn('sam', 'second-sam-pw-correct', 'NewSamDevice/2.0');
    const listed = ((await (await fetch(`${url}/api/sessions`, as(newToken))).json()) as { sessions: { userAgent: string; state: string }[] }).sessions;
    const old = listed.filter((session) => session.userAgent.startsWith('OldSamDevice'));
    assert.ok(old.every((session) => session.state === 'ended'), `the previous holder's session is listed to the new one as ${old.map((s) => s.state).join(',')}`);
  });
});
