import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { login, sessionStatus, tokenOf } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

const USERS = '/system/console/users';

/**
 * A new password ends every token and session of the user (a thief's too). The administrator who
 * changes their OWN password on the console's Users page stays signed in on that browser: the
 * answer carries a new token, of a new session; every other session of theirs has ended.
 */
describe('the console: a password change ends every session, one\'s own change keeps this browser signed in', () => {
  let instance: RunningInstance;
  let url: string;
  const get = (path: string, token: string) => fetch(`${url}${path}`, { redirect: 'manual', headers: { cookie: `login-token=${token}` } });
  const post = (token: string, fields: Record<string, string>) =>
    fetch(`${url}${USERS}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded', origin: url },
      body: new URLSearchParams(fields),
    });
  const csrfOf = async (token: string) => /name="csrf" value="([^"]+)"/.exec(await (await get(USERS, token)).text())![1]!;

  before(async () => {
    instance = await startInstance({ home: join(tempDir(), 'home'), port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    url = instance.url;
    await instance.services.users.createUser('bob', { password: 'bob-pw-correct-horse' });
  });
  after(() => instance.stop());

  let adminPassword = 'admin-password';
  for (const encapsulated of [true, false]) {
    it(`${encapsulated ? 'encapsulated' : 'stateful'} tokens: another user's change ends all of theirs and sets no cookie; one's own keeps only this browser`, async () => {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': encapsulated });
      const password = `admin-password-${encapsulated}`;
      const browser = await login(url, 'admin', adminPassword);
      const laptop = await login(url, 'admin', adminPassword);
      const bobsPhone = await login(url, 'bob', 'bob-pw-correct-horse');

      const bobs = await post(browser, { action: 'password', user: 'bob', password: 'bob-new-correct-horse', csrf: await csrfOf(browser) });
      assert.equal(bobs.status, 303);
      assert.equal(tokenOf(bobs), null, 'changing another user\'s password signs no one in');
      assert.equal(await sessionStatus(url, bobsPhone), 401, 'bob\'s token of before is refused');
      await instance.services.users.setPassword('bob', 'bob-pw-correct-horse');

      const own = await post(browser, { action: 'password', user: 'admin', password, csrf: await csrfOf(browser) });
      assert.equal(own.status, 303);
      adminPassword = password;
      const renewed = tokenOf(own);
      assert.ok(renewed, 'the answer carries a new token');
      assert.equal(await sessionStatus(url, renewed), 200, 'this browser stays signed in');
      assert.equal(await sessionStatus(url, laptop), 401, 'another session of the same user has ended');
      assert.equal(await sessionStatus(url, browser), 401, 'the token of before has ended too');
      const listed = ((await (await get('/api/sessions', renewed)).json()) as { sessions: { state: string; current: boolean; endReason: string | null }[] }).sessions;
      assert.deepEqual(listed.filter((session) => session.state === 'active').map((session) => session.current), [true], 'one active session: this one');
      assert.ok(listed.some((session) => session.endReason === 'password-changed'), 'the others are listed ended by the password change');
    });
  }
});
