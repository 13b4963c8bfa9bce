import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login } from '../helpers/http.js';
import { SAFARI_ON_IPHONE, startSessionsInstance, type SessionsInstance } from '../helpers/sessions-instance.js';

interface ListedSession {
  id: string;
  userId: string;
  browser: string;
  os: string;
  clientAddress: string;
  method: string;
  state: string;
  current: boolean;
}

const as = (token: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { cookie: `login-token=${token}`, ...init.headers } });

describe("a user's own sessions: GET /api/sessions, DELETE /api/sessions/:id, POST /api/sessions/revoke-others", () => {
  let farm: SessionsInstance;
  let url: string;
  let alice: string;
  let bob: string;
  const state = (id: string) => farm.sessions.records().find((record) => record.id === id)?.endedAtMs === null ? 'active' : 'ended';

  before(async () => {
    farm = await startSessionsInstance();
    url = farm.instance.url;
    alice = await login(url, 'alice', 'alice-pw-correct-horse');
    bob = await login(url, 'bob', 'bob-pw-correct-horse');
  });
  after(() => farm.instance.stop());

  it('answers 401 to an anonymous caller', async () => {
    const response = await fetch(`${url}/api/sessions`);
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
  });

  it("lists the signed-in user's sessions with device, address and method, and no one else's", async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const phone = await farm.signedInElsewhere('alice', { userAgent: SAFARI_ON_IPHONE, clientAddress: '2001:db8::7', method: 'oidc', provider: 'corp' });
    const bobs = await farm.signedInElsewhere('bob');
    const response = await fetch(`${url}/api/sessions`, as(alice));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const { sessions } = (await response.json()) as { sessions: ListedSession[] };
    const ids = sessions.map((session) => session.id);
    assert.ok(ids.includes(laptop) && ids.includes(phone), 'both of alice');
    assert.ok(!ids.includes(bobs), "not bob's");
    assert.ok(sessions.every((session) => session.userId === 'alice'));
    const listedPhone = sessions.find((session) => session.id === phone)!;
    assert.equal(listedPhone.browser, 'Safari 18');
    assert.match(listedPhone.os, /^iOS 18/);
    assert.equal(listedPhone.clientAddress, '2001:db8::7');
    assert.equal(listedPhone.method, 'oidc');
  });

  it("answers 404 NOT_FOUND for another user's session and for an unknown one, and revokes nothing", async () => {
    const bobs = await farm.signedInElsewhere('bob');
    const foreign = await fetch(`${url}/api/sessions/${bobs}`, as(alice, { method: 'DELETE' }));
    assert.equal(foreign.status, 404);
    assert.equal(((await foreign.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    const unknown = await fetch(`${url}/api/sessions/AAAAAAAAAAAAAAAAAAAAAA`, as(alice, { method: 'DELETE' }));
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'NOT_FOUND', 'the same answer: ids cannot be probed');
    const malformed = await fetch(`${url}/api/sessions/not-a-session-id`, as(alice, { method: 'DELETE' }));
    assert.equal(malformed.status, 404, 'an id no session can have: the same answer');
    assert.equal(state(bobs), 'active');
    assert.equal(farm.sessions.isRevoked(bobs), false);
  });

  it('refuses a cross-site DELETE before it reaches the route: nothing revoked', async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const response = await fetch(`${url}/api/sessions/${laptop}`, as(alice, { method: 'DELETE', headers: { origin: 'https://evil.example' } }));
    assert.equal(response.status, 403);
    assert.equal(state(laptop), 'active');
    const viaFetchMetadata = await fetch(`${url}/api/sessions/revoke-others`, as(alice, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }));
    assert.equal(viaFetchMetadata.status, 403);
    assert.equal(state(laptop), 'active');
  });

  it('ends one of its sessions: listed as ended, its tokens refused from then on (isRevoked)', async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const response = await fetch(`${url}/api/sessions/${laptop}`, as(alice, { method: 'DELETE' }));
    assert.equal(response.status, 200);
    const body = (await response.json()) as { revoked: ListedSession; signedOut: boolean };
    assert.equal(body.revoked.id, laptop);
    assert.equal(body.revoked.state, 'ended');
    assert.equal(body.signedOut, false, 'another device: this one stays signed in');
    assert.equal(response.headers.get('set-cookie'), null);
    assert.equal(farm.sessions.isRevoked(laptop), true);
    const again = await fetch(`${url}/api/sessions/${laptop}`, as(alice, { method: 'DELETE' }));
    assert.equal(again.status, 404, 'an ended session is not ended twice');
  });

  it("tells who ended a session as 'you' or 'an administrator', never the administrator's id or key name", async () => {
    const own = await farm.signedInElsewhere('alice');
    const byAdmin = await farm.signedInElsewhere('alice');
    const deleted = (await (await fetch(`${url}/api/sessions/${own}`, as(alice, { method: 'DELETE' }))).json()) as { revoked: { endedBy: string } };
    assert.equal(deleted.revoked.endedBy, 'you');
    assert.ok(await farm.sessions.revoke('alice', byAdmin, 'admin-key:ops-laptop'));
    const { sessions } = (await (await fetch(`${url}/api/sessions`, as(alice))).json()) as { sessions: { id: string; endedBy: string | null }[] };
    assert.equal(sessions.find((session) => session.id === own)?.endedBy, 'you');
    assert.equal(sessions.find((session) => session.id === byAdmin)?.endedBy, 'an administrator');
    assert.doesNotMatch(JSON.stringify(sessions), /admin-key|ops-laptop/);
  });

  it("revoke-others ends the user's other live sessions and leaves other users' alone", async () => {
    const laptop = await farm.signedInElsewhere('alice');
    const phone = await farm.signedInElsewhere('alice', { userAgent: SAFARI_ON_IPHONE });
    const bobs = await farm.signedInElsewhere('bob');
    const response = await fetch(`${url}/api/sessions/revoke-others`, as(alice, { method: 'POST' }));
    assert.equal(response.status, 200);
    const body = (await response.json()) as { ended: number };
    assert.ok(body.ended >= 2);
    assert.equal(state(laptop), 'ended');
    assert.equal(state(phone), 'ended');
    assert.equal(state(bobs), 'active');
    assert.equal((await fetch(`${url}/api/session`, as(bob))).status, 200);
  });
});

/**
 * The token handler records the sign-in in the registry it is given (the instance's `sessions`
 * option), sets `request.session.sessionId` from the token's `sid`, and refuses a token whose
 * session was revoked.
 */
describe('the current session', () => {
  let farm: SessionsInstance;
  let url: string;

  before(async () => {
    farm = await startSessionsInstance();
    url = farm.instance.url;
  });
  after(() => farm.instance.stop());

  it('marks the session of the request current; revoke-others keeps it; ending it clears the cookie and signs this browser out', async () => {
    const token = await login(url, 'alice', 'alice-pw-correct-horse');
    const other = await farm.signedInElsewhere('alice');
    const listed = ((await (await fetch(`${url}/api/sessions`, as(token))).json()) as { sessions: ListedSession[] }).sessions;
    const current = listed.filter((session) => session.current);
    assert.equal(current.length, 1, 'the sign-in of this token is recorded and marked');
    assert.equal(current[0]!.method, 'password');

    const others = await fetch(`${url}/api/sessions/revoke-others`, as(token, { method: 'POST' }));
    assert.equal(((await others.json()) as { kept: string }).kept, current[0]!.id);
    assert.equal(farm.sessions.isRevoked(other), true);
    assert.equal(farm.sessions.isRevoked(current[0]!.id), false);
    assert.equal((await fetch(`${url}/api/session`, as(token))).status, 200, 'still signed in');

    const ended = await fetch(`${url}/api/sessions/${current[0]!.id}`, as(token, { method: 'DELETE' }));
    assert.equal(ended.status, 200);
    assert.equal(((await ended.json()) as { signedOut: boolean }).signedOut, true);
    assert.match(ended.headers.get('set-cookie') ?? '', /^login-token=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i);
    assert.equal((await fetch(`${url}/api/session`, as(token))).status, 401, 'its token is refused');
  });
});
