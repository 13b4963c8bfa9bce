import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startTestInstance } from '../helpers/homes.js';
import { login, sessionStatus } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

/**
 * Attack: two publishes share their keys (encapsulated tokens are good on both, the usual farm)
 * but no farm store, so each keeps sessions in its own repository. A session issued by a is
 * revoked on a (by the user, or by an administrator sending the revoke to every member as
 * `capsule farm sessions revoke` does): b never recorded it, answers 404 and keeps accepting the
 * token until it expires. README says "Ending a session signs that device out on every instance
 * within a second".
 */
describe('revocation without a shared session store', () => {
  it('a session revoked on the member that issued it is refused on every member that accepts its token', { todo: 'finding 2 of the sessions review: a member that never recorded the session must remember its end (SessionStore.remember), left to the integrator' }, async (t) => {
    const a = await startTestInstance(join(tempDir(), 'a'), { name: 'a' });
    t.after(() => a.stop());
    await a.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    const bundle = join(tempDir(), 'keys.bundle');
    assert.equal((await runCli(['keys', 'export', '--out', bundle, '--home', a.services.home.root], { env: PASS })).code, 0);
    const bHome = join(tempDir(), 'b');
    assert.equal((await runCli(['keys', 'import', '--in', bundle, '--home', bHome], { env: PASS })).code, 0);
    const b = await startTestInstance(bHome, { name: 'b' });
    t.after(() => b.stop());
    await b.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
    for (const instance of [a, b]) await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });

    const stolen = await login(a.url, 'alice', 'alice-pw-correct-horse');
    const mine = await login(a.url, 'alice', 'alice-pw-correct-horse');
    assert.equal(await sessionStatus(b.url, stolen), 200, 'the token is good on b');
    const sid = ((await (await fetch(`${a.url}/api/sessions`, { headers: { cookie: `login-token=${stolen}` } })).json()) as { sessions: { id: string; current: boolean }[] }).sessions.find((s) => s.current)!.id;
    const revoked = await fetch(`${a.url}/api/sessions/${sid}`, { method: 'DELETE', headers: { cookie: `login-token=${mine}`, origin: a.url } });
    assert.equal(revoked.status, 200);
    // What `capsule farm sessions revoke` does next: the same revoke on every member.
    const onB = await fetch(`${b.url}/api/sessions/${sid}`, { method: 'DELETE', headers: { cookie: `login-token=${mine}`, origin: b.url } });
    assert.equal(onB.status, 404, 'b never recorded the session');
    assert.equal(await sessionStatus(a.url, stolen), 401);
    assert.equal(await sessionStatus(b.url, stolen), 401, 'the revoked token still works on b (until it expires, 12 h by default)');
  });
});
