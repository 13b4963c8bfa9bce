import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login } from '../helpers/http.js';
import { startSessionsInstance, type SessionsInstance } from '../helpers/sessions-instance.js';

interface ErrorBody {
  error: { code: string };
}

describe("an administrator and anyone's sessions: /api/users/:id/sessions and /system/farm/sessions/* in the admin API scope", () => {
  let farm: SessionsInstance;
  let url: string;
  let admin: string;
  let bob: string;
  const live = (userId: string) => farm.sessions.records().filter((record) => record.userId === userId && record.endedAtMs === null).map((record) => record.id).sort();
  const call = (method: string, path: string, token: string | null, body?: object) =>
    fetch(`${url}${path}`, {
      method,
      headers: { ...(token && { 'login-token': token }), ...(body && { 'content-type': 'application/json' }) },
      body: body && JSON.stringify(body),
    });

  before(async () => {
    farm = await startSessionsInstance();
    url = farm.instance.url;
    admin = await login(url, 'admin', 'admin-password');
    bob = await login(url, 'bob', 'bob-pw-correct-horse');
  });
  after(() => farm.instance.stop());

  it('refuses a signed-in user who is not an administrator, and an anonymous caller, before anything is read or ended', async () => {
    const first = await farm.signedInElsewhere('alice');
    await farm.signedInElsewhere('alice');
    const before = live('alice');
    const attempts: Array<[string, string, object?]> = [
      ['GET', '/api/users/alice/sessions'],
      ['DELETE', `/api/users/alice/sessions/${first}`],
      ['DELETE', '/api/users/alice/sessions'],
      ['POST', '/system/farm/sessions/list', { user: 'alice' }],
      ['POST', '/system/farm/sessions/revoke', { user: 'alice', session: first }],
      ['POST', '/system/farm/sessions/revoke-all', { user: 'alice' }],
    ];
    for (const [method, path, body] of attempts) {
      const refused = await call(method, path, bob, body);
      assert.equal(refused.status, 403, `${method} ${path} as bob`);
      assert.equal(((await refused.json()) as ErrorBody).error.code, 'FORBIDDEN');
      assert.equal((await call(method, path, null, body)).status, 401, `${method} ${path} anonymous`);
    }
    assert.deepEqual(live('alice'), before, 'nothing ended');
  });

  it('answers 404 USER_NOT_FOUND for a user this instance does not have', async () => {
    for (const [method, path] of [
      ['GET', '/api/users/nobody/sessions'],
      ['DELETE', '/api/users/nobody/sessions'],
      ['DELETE', '/api/users/nobody/sessions/AAAAAAAAAAAAAAAAAAAAAA'],
    ] as const) {
      const response = await call(method, path, admin);
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(((await response.json()) as ErrorBody).error.code, 'USER_NOT_FOUND');
    }
  });

  it("lists a user's sessions, ends one (404 for another user's: nothing ended) and then all of them", async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const phone = await farm.signedInElsewhere('alice');
    const bobs = await farm.signedInElsewhere('bob');
    const listed = (await (await call('GET', '/api/users/alice/sessions', admin)).json()) as { userId: string; sessions: Array<{ id: string }> };
    assert.equal(listed.userId, 'alice');
    assert.ok(listed.sessions.some((session) => session.id === laptop) && listed.sessions.some((session) => session.id === phone));
    assert.ok(!listed.sessions.some((session) => session.id === bobs));

    const foreign = await call('DELETE', `/api/users/alice/sessions/${bobs}`, admin);
    assert.equal(foreign.status, 404);
    assert.equal(((await foreign.json()) as ErrorBody).error.code, 'NOT_FOUND');
    assert.ok(live('bob').includes(bobs), "bob's session is untouched");

    const one = await call('DELETE', `/api/users/alice/sessions/${laptop}`, admin);
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { revoked: { id: string; state: string; endedBy: string } }).revoked.endedBy, 'admin');
    assert.equal(farm.sessions.isRevoked(laptop), true);
    assert.equal(farm.sessions.isRevoked(phone), false);

    const all = await call('DELETE', '/api/users/alice/sessions', admin);
    assert.equal(all.status, 200);
    assert.ok(((await all.json()) as { ended: number }).ended >= 1);
    assert.deepEqual(live('alice'), []);
    assert.ok(live('bob').includes(bobs));
  });

  it('answers the farm calls: list, revoke (null when this member has no such live session), revoke-all; bad bodies are 400', async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const listed = (await (await call('POST', '/system/farm/sessions/list', admin, { user: 'alice' })).json()) as { sessions: Array<{ id: string }> };
    assert.ok(listed.sessions.some((session) => session.id === laptop));
    const unknown = await call('POST', '/system/farm/sessions/revoke', admin, { user: 'alice', session: 'AAAAAAAAAAAAAAAAAAAAAA' });
    assert.equal(unknown.status, 200);
    assert.equal(((await unknown.json()) as { revoked: unknown }).revoked, null);
    const malformed = await call('POST', '/system/farm/sessions/revoke', admin, { user: 'alice', session: 'not a session id' });
    assert.equal(malformed.status, 400);
    assert.equal(farm.sessions.isRevoked(laptop), false);
    const revoked = (await (await call('POST', '/system/farm/sessions/revoke', admin, { user: 'alice', session: laptop })).json()) as { revoked: { id: string } };
    assert.equal(revoked.revoked.id, laptop);
    await farm.signedInElsewhere('alice');
    const all = (await (await call('POST', '/system/farm/sessions/revoke-all', admin, { user: 'alice' })).json()) as { ended: number };
    assert.equal(all.ended, 1);
    assert.deepEqual(live('alice'), []);
  });
});
