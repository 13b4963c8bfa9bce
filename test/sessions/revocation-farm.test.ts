import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { HealthResult } from '../../src/health/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { startFarmStoreMembers, type FarmStoreMembers } from '../helpers/farm-store-members.js';
import { startHaproxy, type Haproxy } from '../helpers/haproxy.js';
import { login } from '../helpers/http.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';

// Issue 27's "done when", on a real farm: three publishes in this process (each its own home and
// SQLite repository, the same keys) sharing one PostgreSQL farm store, Debian's HAProxy in front
// (round robin, no stickiness), encapsulated tokens. Sign-ins go through HAProxy; every answer
// that matters is asked of each member directly, so no member can hide behind another. A
// revocation reaches the others through the store's push: each wait is a bounded poll of "refused
// yet?" (there is no event a client can wait on), with a hang guard and no timing assertion; the
// 1 s bound is measured by `npm run bench -- --only sessions`.

/** A hang guard, not a bound under test. */
const GUARD_MS = 20_000;
const SID = /^[A-Za-z0-9_-]{22}$/;

interface Signed {
  readonly token: string;
  readonly sid: string;
}

interface SessionJson {
  readonly id: string;
  readonly state: 'active' | 'ended';
  readonly endReason: string | null;
  readonly current: boolean;
}

describe('sessions on three publishes sharing one PostgreSQL farm store behind HAProxy', { timeout: 240_000 }, () => {
  let cluster: PostgresCluster;
  let farm: FarmStoreMembers;
  let haproxy: Haproxy;
  const members = () => farm.members();
  // Alice's two sessions of the first test, used by the later ones.
  let a: Signed;
  let b: Signed;
  const refusedSoFar: Signed[] = [];

  before(async () => {
    cluster = await startPostgres();
    await cluster.createDatabase('farm');
    const root = tempDir();
    farm = await startFarmStoreMembers(root, ['publish-1', 'publish-2', 'publish-3'], cluster.url('farm'), ['alice', 'dave', 'carol']);
    haproxy = await startHaproxy(root, members().map((member) => member.port));
  });
  after(async () => {
    await haproxy?.stop();
    await farm?.stop();
    await cluster?.stop();
  });

  function sidOf(token: string): string {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid?: unknown };
    assert.ok(typeof payload.sid === 'string' && SID.test(payload.sid), `the token names its session: ${JSON.stringify(payload)}`);
    return payload.sid;
  }

  /** A sign-in through HAProxy (whichever member's turn it is). */
  async function signIn(user: string): Promise<Signed> {
    const token = await login(haproxy.url, user, `${user}-pw-correct-horse`);
    return { token, sid: sidOf(token) };
  }

  /** The token in the login-token header, as an API client sends it. */
  const call = (url: string, path: string, token: string, method = 'GET') => fetch(`${url}${path}`, { method, headers: { 'login-token': token } });
  const statusOn = async (url: string, token: string) => {
    const response = await call(url, '/api/session', token);
    await response.arrayBuffer();
    return response.status;
  };
  const statusEverywhere = (token: string) => Promise.all(members().map((member) => statusOn(member.url, token)));

  async function assertAcceptedEverywhere(signed: Signed, what: string): Promise<void> {
    assert.deepEqual(await statusEverywhere(signed.token), [200, 200, 200], `${what}: accepted by every member`);
    for (let i = 0; i < 3; i++) assert.equal(await statusOn(haproxy.url, signed.token), 200, `${what}: accepted through HAProxy`);
  }

  /** Polls every member directly until each refuses the token (bounded by the hang guard). */
  async function waitUntilRefusedEverywhere(signed: Signed, what: string): Promise<void> {
    const deadline = Date.now() + GUARD_MS;
    let statuses = await statusEverywhere(signed.token);
    while (statuses.some((status) => status !== 401)) {
      assert.ok(Date.now() < deadline, `${what}: still accepted by some member after ${GUARD_MS} ms: ${statuses.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      statuses = await statusEverywhere(signed.token);
    }
    for (let i = 0; i < 3; i++) assert.equal(await statusOn(haproxy.url, signed.token), 401, `${what}: refused through HAProxy`);
    refusedSoFar.push(signed);
  }

  async function assertRefusedEverywhere(signed: Signed, what: string): Promise<void> {
    assert.deepEqual(await statusEverywhere(signed.token), [401, 401, 401], `${what}: refused by every member`);
  }

  async function sessionsOf(url: string, token: string): Promise<SessionJson[]> {
    const response = await call(url, '/api/sessions', token);
    assert.equal(response.status, 200);
    const body = (await response.json()) as SessionJson[] | { sessions: SessionJson[] };
    return Array.isArray(body) ? body : body.sessions;
  }

  /** Runs the member's check of its revocation feed until `want` holds (bounded by the hang guard). */
  async function waitForHealth(member: RunningInstance, want: (check: HealthResult) => boolean, what: string): Promise<HealthResult> {
    const deadline = Date.now() + GUARD_MS;
    for (;;) {
      const summary = await member.health.run('sessions');
      const check = summary.checks.find((candidate) => candidate.name === 'sessions');
      assert.ok(check, `${member.name} has a health check of its revocation feed: ${summary.checks.map((candidate) => candidate.name).join(', ')}`);
      if (want(check)) return check;
      assert.ok(Date.now() < deadline, `${member.name}: ${what} not seen within ${GUARD_MS} ms (last: ${check.status} ${check.message})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('a session revoked on one member is refused by every member; the user\'s other session works on every member', async () => {
    a = await signIn('alice');
    b = await signIn('alice');
    assert.notEqual(a.sid, b.sid, 'two sign-ins, two sessions');
    await assertAcceptedEverywhere(a, 'session A');
    await assertAcceptedEverywhere(b, 'session B');
    const listed = await sessionsOf(members()[1]!.url, b.token);
    assert.deepEqual(
      listed.filter((session) => [a.sid, b.sid].includes(session.id)).map((session) => [session.id, session.state, session.current]).sort(),
      [[a.sid, 'active', false], [b.sid, 'active', true]].sort(),
      'every member lists both, the asking one marked current',
    );

    const revoked = await call(members()[0]!.url, `/api/sessions/${a.sid}`, b.token, 'DELETE');
    assert.equal(revoked.ok, true, `DELETE /api/sessions/A on publish-1: ${revoked.status} ${await revoked.text()}`);
    await waitUntilRefusedEverywhere(a, 'session A');
    await assertAcceptedEverywhere(b, 'session B, after A was revoked');
    const after = await sessionsOf(members()[2]!.url, b.token);
    assert.equal(after.find((session) => session.id === a.sid)?.state, 'ended', 'publish-3 lists A as ended');
    assert.equal(after.find((session) => session.id === b.sid)?.state, 'active');
  });

  it('revoke-others ends every other session of the user and keeps the one that asked', async () => {
    const c = await signIn('alice');
    const d = await signIn('alice');
    await assertAcceptedEverywhere(c, 'session C');
    await assertAcceptedEverywhere(d, 'session D');
    const response = await call(members()[1]!.url, '/api/sessions/revoke-others', b.token, 'POST');
    assert.equal(response.ok, true, `POST /api/sessions/revoke-others: ${response.status} ${await response.text()}`);
    await waitUntilRefusedEverywhere(c, 'session C');
    await waitUntilRefusedEverywhere(d, 'session D');
    await assertAcceptedEverywhere(b, 'session B, which asked');
    const listed = await sessionsOf(members()[0]!.url, b.token);
    assert.deepEqual(listed.filter((session) => session.state === 'active').map((session) => session.id), [b.sid], 'B alone is active');
  });

  it('a user cannot list or revoke another user\'s sessions: 404 as for an unknown id, and nothing is revoked', async () => {
    const dave = await signIn('dave');
    const daveOther = await signIn('dave');
    const listed = await sessionsOf(members()[0]!.url, dave.token);
    assert.deepEqual(listed.map((session) => session.id).sort(), [dave.sid, daveOther.sid].sort(), "dave's list holds his sessions only");

    const unknown = randomBytes(16).toString('base64url');
    for (const member of members()) {
      const foreign = await call(member.url, `/api/sessions/${b.sid}`, dave.token, 'DELETE');
      const missing = await call(member.url, `/api/sessions/${unknown}`, dave.token, 'DELETE');
      assert.equal(foreign.status, 404, `${member.name}: another user's session`);
      assert.equal(missing.status, 404, `${member.name}: an unknown session`);
      const [foreignBody, missingBody] = [(await foreign.json()) as { error?: { code?: string } }, (await missing.json()) as { error?: { code?: string } }];
      assert.equal(foreignBody.error?.code, 'NOT_FOUND');
      assert.deepEqual(foreignBody, missingBody, 'the same answer: nothing says the session exists');
      for (const [method, path] of [['GET', '/api/users/alice/sessions'], ['DELETE', `/api/users/alice/sessions/${b.sid}`], ['DELETE', '/api/users/alice/sessions']] as const) {
        const admin = await call(member.url, path, dave.token, method);
        await admin.arrayBuffer();
        assert.equal(admin.status, 403, `${member.name}: ${method} ${path} is for administrators`);
      }
    }
    // A barrier: a revocation dave may make, sent after the refused ones, reaches every member;
    // one refused call that had ended B would have reached them before it.
    const own = await call(members()[2]!.url, `/api/sessions/${daveOther.sid}`, dave.token, 'DELETE');
    assert.equal(own.ok, true, `dave revokes his own other session: ${own.status}`);
    await waitUntilRefusedEverywhere(daveOther, "dave's other session");
    await assertAcceptedEverywhere(b, "alice's session B, after dave's attempts");
    await assertAcceptedEverywhere(dave, "dave's session");
    const alice = await sessionsOf(members()[1]!.url, b.token);
    assert.equal(alice.find((session) => session.id === b.sid)?.state, 'active');
  });

  it('with session.max.per.user=2 a third sign-in ends the oldest session', async () => {
    for (const member of members()) await member.services.config.update('capsule.auth.sessions', { 'session.max.per.user': 2 });
    try {
      const first = await signIn('carol');
      const second = await signIn('carol');
      await assertAcceptedEverywhere(first, "carol's first session, at the limit");
      const third = await signIn('carol');
      await waitUntilRefusedEverywhere(first, "carol's first (oldest) session");
      await assertAcceptedEverywhere(second, "carol's second session");
      await assertAcceptedEverywhere(third, "carol's third session");
      const listed = await sessionsOf(members()[0]!.url, third.token);
      assert.deepEqual(listed.filter((session) => session.state === 'active').map((session) => session.id).sort(), [second.sid, third.sid].sort());
      assert.equal(listed.find((session) => session.id === first.sid)?.endReason, 'limit');
    } finally {
      for (const member of members()) await member.services.config.delete('capsule.auth.sessions');
    }
  });

  it('the store killed and restarted: revoked tokens stay refused on every member, which says its revocation feed is lost meanwhile', async () => {
    assert.ok(refusedSoFar.length >= 5);
    await cluster.kill();
    for (const signed of refusedSoFar) await assertRefusedEverywhere(signed, 'right after the store died');
    for (const member of members()) {
      const check = await waitForHealth(member, (candidate) => candidate.details?.connected === false, 'the feed lost');
      assert.notEqual(check.status, 'ok', `${member.name}: ${check.message}`);
      assert.match(check.message, /revocations .*not heard/, `${member.name} says what it misses`);
      assert.ok(typeof check.details?.held === 'number' && check.details.held >= refusedSoFar.length, `${member.name} still holds the revoked ids: ${JSON.stringify(check.details)}`);
    }
    for (const signed of refusedSoFar) await assertRefusedEverywhere(signed, 'while the store is down');
    await assertAcceptedEverywhere(b, 'session B, validated offline while the store is down');

    await cluster.start();
    for (const member of members()) await waitForHealth(member, (candidate) => candidate.status === 'ok' && candidate.details?.connected === true, 'the feed back');
    for (const signed of refusedSoFar) await assertRefusedEverywhere(signed, 'after the store came back');
    await assertAcceptedEverywhere(b, 'session B, after the store came back');
    // The feed works again: a revocation after the restart reaches every member.
    const response = await call(members()[2]!.url, `/api/sessions/${b.sid}`, b.token, 'DELETE');
    assert.equal(response.ok, true, `B revokes itself after the restart: ${response.status}`);
    await waitUntilRefusedEverywhere(b, 'session B, revoked after the restart');
  });
});
