import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FARM_SESSIONS_REVOKE_PATH } from '../../src/member/protocol.js';
import { runCliInProcess } from '../helpers/cli.js';
import { startTestInstance } from '../helpers/homes.js';
import { login, sessionStatus } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

/**
 * Two members share their keys (an encapsulated token is good on both) but no farm store: each
 * records only the sessions it issued. `capsule farm sessions revoke` sends the revoke to every
 * member; the one that never recorded the session must refuse its tokens from then on too.
 */
describe('a farm revoke on members without a shared session store', () => {
  it('the member that never recorded the session holds it as revoked: its token is refused on every member, the user\'s other session still works', async (t) => {
    const a = await startTestInstance(join(tempDir(), 'a'), { name: 'a' });
    t.after(() => a.stop());
    await a.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    const bundle = join(tempDir(), 'keys.bundle');
    assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', a.services.home.root], { env: PASS })).code, 0);
    const bHome = join(tempDir(), 'b');
    assert.equal((await runCliInProcess(['keys', 'import', '--in', bundle, '--home', bHome], { env: PASS })).code, 0);
    const b = await startTestInstance(bHome, { name: 'b' });
    t.after(() => b.stop());
    await b.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    for (const instance of [a, b]) await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });

    const lost = await login(a.url, 'alice', 'alice-pw-correct-horse');
    const kept = await login(a.url, 'alice', 'alice-pw-correct-horse');
    assert.equal(await sessionStatus(b.url, lost), 200, 'the token is good on b');
    const sid = ((await (await fetch(`${a.url}/api/sessions`, { headers: { cookie: `login-token=${lost}` } })).json()) as { sessions: { id: string; current: boolean }[] }).sessions.find((s) => s.current)!.id;

    // What `capsule farm sessions revoke SID --user alice` sends to each member.
    for (const member of [a, b]) {
      const admin = await login(member.url, 'admin', 'admin-password');
      const answer = await fetch(`${member.url}${FARM_SESSIONS_REVOKE_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'login-token': admin },
        body: JSON.stringify({ user: 'alice', session: sid }),
      });
      assert.equal(answer.status, 200);
      const body = (await answer.json()) as { revoked: { id: string } | null };
      assert.equal(body.revoked?.id ?? null, member === a ? sid : null, 'only the member that issued it lists it');
    }
    assert.equal(await sessionStatus(a.url, lost), 401);
    assert.equal(await sessionStatus(b.url, lost), 401, 'b holds the revoked id although it never recorded the session');
    assert.equal(await sessionStatus(b.url, kept), 200, 'the other session still works on b');
    assert.equal(await sessionStatus(a.url, kept), 200);
  });
});
