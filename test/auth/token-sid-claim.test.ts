import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issueEncapsulatedToken } from '../../src/auth/encapsulated-tokens.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Tokens signed with the instance's own key (what only the instance, or someone holding its key,
 * can make), with the sid claim absent, malformed, or naming a session never recorded.
 */
describe('the sid claim of a signed token', () => {
  let instance: RunningInstance;
  let url: string;
  const signed = (claims: Record<string, unknown>) => {
    const { kid, key } = instance.services.crypto.signingKey();
    const now = Math.floor(Date.now() / 1000);
    return issueEncapsulatedToken({ sub: 'alice', iat: now, exp: now + 3600, gen: 0, ...claims } as never, { kid, key });
  };
  const status = async (token: string) => (await fetch(`${url}/api/session`, { headers: { cookie: `login-token=${token}` } })).status;

  before(async () => {
    instance = await startInstance({ home: join(tempDir(), 'home'), port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    url = instance.url;
    await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
  });
  after(() => instance.stop());

  it('a malformed sid is refused; no sid works and is not listed; a never-recorded sid works, is not listed, cannot be revoked', async () => {
    for (const sid of ['short', 'A'.repeat(23), `${'A'.repeat(21)}/`, `${'A'.repeat(21)}\n`, 42, null, ['A'.repeat(22)], 'ÅAAAAAAAAAAAAAAAAAAAAA']) {
      assert.equal(await status(signed({ sid })), 401, `sid ${JSON.stringify(sid)} accepted`);
    }
    const legacy = signed({});
    assert.equal(await status(legacy), 200);
    const list = async (token: string) => ((await (await fetch(`${url}/api/sessions`, { headers: { cookie: `login-token=${token}` } })).json()) as { sessions: unknown[] }).sessions;
    assert.deepEqual(await list(legacy), []);
    const ghost = signed({ sid: 'GhostSessionNeverMade0' });
    assert.equal(await status(ghost), 200);
    assert.deepEqual(await list(ghost), []);
    const revoke = await fetch(`${url}/api/sessions/GhostSessionNeverMade0`, { method: 'DELETE', headers: { cookie: `login-token=${ghost}`, origin: url } });
    assert.equal(revoke.status, 404);
    assert.equal(await status(ghost), 200, 'an unrecorded session cannot be ended but by logging out everywhere');
  });
});
