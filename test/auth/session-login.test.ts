import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { sessionStatus, tokenOf } from '../helpers/http.js';
import { memorySessionRegistry, type MemorySessionRegistry } from '../helpers/memory-session-registry.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// Over HTTP, against a started instance: the login form starts a session with what the request
// says (address, user agent), and a token of an ended session is refused on the next request.

const PASSWORD = 'alice-pw-correct-horse';
const AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15';

describe('sessions of logins over HTTP', () => {
  let instance: RunningInstance;
  let sessions: MemorySessionRegistry;
  before(async () => {
    sessions = memorySessionRegistry();
    instance = await startInstance({ home: join(tempDir(), 'home'), port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' }, sessions });
    await instance.services.users.createUser('alice', { password: PASSWORD });
    await instance.services.users.createUser('replicator', { password: PASSWORD, groups: ['replication-receivers'] });
  });
  after(() => instance.stop());

  async function login(user: string, agent = AGENT): Promise<string> {
    const response = await fetch(`${instance.url}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': agent },
      body: new URLSearchParams({ j_username: user, j_password: PASSWORD }),
    });
    assert.equal(response.status, 200);
    return tokenOf(response)!;
  }

  for (const encapsulated of [false, true]) {
    it(`${encapsulated ? 'encapsulated' : 'stateful'}: the login records its session; revoking it refuses the token on the next request, the user's other session goes on`, async () => {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': encapsulated });
      const before = new Set((await sessions.list('alice')).map((view) => view.id));
      const phone = await login('alice');
      const laptop = await login('alice');
      const started = (await sessions.list('alice')).filter((view) => !before.has(view.id));
      assert.equal(started.length, 2);
      for (const view of started) assert.deepEqual([view.method, view.clientAddress, view.userAgent, view.state], ['password', '127.0.0.1', AGENT, 'active']);
      const phoneSession = (await instance.tokens.authenticateToken(phone))!.session.sessionId!;
      assert.ok(started.some((view) => view.id === phoneSession), "the token's session is the one recorded");

      for (let i = 0; i < 3; i++) assert.equal(await sessionStatus(instance.url, phone), 200);
      assert.ok(await sessions.revoke('alice', phoneSession, 'alice'));
      assert.equal(await sessionStatus(instance.url, phone), 401, 'refused on the next request');
      assert.equal(await sessionStatus(instance.url, laptop), 200, 'the other session goes on');
    });
  }

  it('logging out ends the session: an encapsulated token sent again is refused', async () => {
    await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    const token = await login('alice');
    const sid = (await instance.tokens.authenticateToken(token))!.session.sessionId!;
    const response = await fetch(`${instance.url}/system/sling/logout`, { method: 'POST', headers: { 'login-token': token } });
    assert.equal(response.status, 200);
    assert.deepEqual((await sessions.list('alice')).filter((view) => view.id === sid).map((view) => [view.state, view.endReason]), [['ended', 'logged-out']]);
    assert.equal(await sessionStatus(instance.url, token), 401);
  });

  it("the replication transport user's login is recorded as method 'transport'", async () => {
    await login('replicator', 'node');
    assert.deepEqual((await sessions.list('replicator')).map((view) => [view.method, view.userAgent]), [['transport', 'node']]);
  });
});
