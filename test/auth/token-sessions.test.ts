import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTokenHandler, issueEncapsulatedToken, TOKEN_TYPE } from '../../src/auth/index.js';
import { fixedClock } from '../../src/clock.js';
import { openServices, silentLogger } from '../../src/instance/index.js';
import type { Log } from '../../src/log.js';
import { initialisedHome } from '../helpers/homes.js';
import { memorySessionRegistry } from '../helpers/memory-session-registry.js';
import { fastHasher } from '../helpers/services.js';

// Tokens carry their session: a sign-in starts one, refresh keeps it, a token of an ended session
// is refused on the kept path as on the full check, and logging out ends it. Real SQLite home;
// the session registry is the in-memory one (its callers' contract, sessions/registry-types.ts).

const HOUR = 3600_000;
const PASSWORD = 'pw-correct-horse';
const AGENT = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const KINDS = [
  { kind: 'stateful', encapsulated: false },
  { kind: 'encapsulated', encapsulated: true },
] as const;

async function setup(encapsulated: boolean) {
  const home = await initialisedHome();
  const clock = fixedClock(Date.parse('2026-12-07T12:00:00Z'));
  const services = await openServices({ home, clock, hasher: fastHasher });
  await services.config.update('capsule.auth.token', { 'token.expiration': 12 * HOUR, 'token.encapsulated': encapsulated });
  await services.users.createUser('alice', { password: PASSWORD });
  const sessions = memorySessionRegistry(clock);
  const lines: Array<Record<string, unknown>> = [];
  const keep = (fields: object) => void lines.push(fields as Record<string, unknown>);
  const audit: Log = { info: keep, warn: keep, error: keep };
  const handler = createTokenHandler({ ...services, sessions, transportGroup: 'replication-receivers', logger: silentLogger(), audit });
  const signIn = async (address = '192.0.2.7') => {
    const login = await handler.login('alice', PASSWORD, address, AGENT);
    assert.ok(login.ok);
    return login;
  };
  const refusals = () => lines.filter((line) => line.event === 'token-refused').map((line) => line.reason);
  return { clock, services, sessions, handler, signIn, refusals };
}

/** The `sid` a token carries: the encapsulated claim, or the stateful token node's property. */
async function sidIn(services: Awaited<ReturnType<typeof openServices>>, token: string): Promise<unknown> {
  if (token.includes('.')) return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid?: unknown }).sid;
  const node = await services.repo.getNodeById(token.slice(0, 36));
  assert.equal(node?.type, TOKEN_TYPE);
  return node.properties.sid;
}

for (const { kind, encapsulated } of KINDS) {
  describe(`${kind} tokens and their sessions`, () => {
    it('a password login starts a session that the token carries and every authentication names', async () => {
      const { services, sessions, handler, signIn } = await setup(encapsulated);
      const login = await signIn();
      const [listed, ...others] = await sessions.list('alice');
      assert.equal(others.length, 0);
      assert.ok(listed);
      assert.match(listed.id, /^[A-Za-z0-9_-]{22}$/);
      assert.deepEqual({ method: listed.method, provider: listed.provider, clientAddress: listed.clientAddress, userAgent: listed.userAgent }, { method: 'password', provider: null, clientAddress: '192.0.2.7', userAgent: AGENT });
      assert.equal(await sidIn(services, login.token), listed.id, 'the token carries the session id');
      assert.equal(login.session.sessionId, listed.id);
      assert.equal((await handler.authenticateToken(login.token))?.session.sessionId, listed.id, 'full check');
      assert.equal(handler.authenticateKept(login.token)?.session.sessionId, listed.id, 'kept path');
      await services.close();
    });

    it('a refresh past half-life keeps the session and pushes its end back; every authentication is seen', async () => {
      const { clock, services, sessions, handler, signIn } = await setup(encapsulated);
      const login = await signIn();
      const sid = login.session.sessionId!;
      assert.ok(await handler.authenticateToken(login.token));
      const seenBefore = sessions.seenCalls();
      assert.ok(handler.authenticateKept(login.token));
      assert.equal(sessions.seenCalls(), seenBefore + 1, 'the kept path reports the session seen');
      clock.advance(6 * HOUR + 1000);
      const refreshed = await handler.authenticateToken(login.token);
      assert.ok(refreshed?.renewedToken, 'past half-life: refreshed');
      assert.equal(refreshed.session.sessionId, sid);
      assert.equal(await sidIn(services, refreshed.renewedToken), sid, 'the renewed token carries the same session');
      assert.equal((await handler.authenticateToken(refreshed.renewedToken))?.session.sessionId, sid);
      const [listed] = await sessions.list('alice');
      assert.equal(listed?.expiresAt, refreshed.session.token.expiresAt.toISOString(), 'the session lasts as long as its refreshed token');
      assert.equal(listed?.lastSeenAt, new Date(clock.now()).toISOString());
      await services.close();
    });

    it('refuses a token of an ended session on the kept path and on the full check; another session of the user still works', async () => {
      const { services, sessions, handler, signIn, refusals } = await setup(encapsulated);
      const phone = await signIn('192.0.2.1');
      const laptop = await signIn('192.0.2.2');
      for (const token of [phone.token, laptop.token]) {
        assert.ok(await handler.authenticateToken(token));
        assert.ok(handler.authenticateKept(token), 'answered from what is kept before the revocation');
        assert.ok(handler.authenticateKept(token), 'and kept as an answer');
      }
      assert.ok(await sessions.revoke('alice', phone.session.sessionId!, 'alice'));
      assert.equal(handler.authenticateKept(phone.token), undefined, 'the kept path refuses at once');
      assert.equal(await handler.authenticateToken(phone.token), null, 'the full check refuses');
      assert.deepEqual(refusals(), ['its session was ended']);
      assert.equal(handler.authenticateKept(phone.token), undefined, 'and keeps refusing');
      assert.equal(handler.authenticateKept(laptop.token)?.session.sessionId, laptop.session.sessionId, 'the other session: kept path');
      assert.equal((await handler.authenticateToken(laptop.token))?.session.sessionId, laptop.session.sessionId, 'the other session: full check');
      await services.close();
    });

    it('logout ends the token and its session; logout everywhere ends every session', async () => {
      const { services, sessions, handler, signIn } = await setup(encapsulated);
      const first = await signIn();
      const second = await signIn();
      const third = await signIn();
      await handler.logout(first.token);
      assert.equal(await handler.authenticateToken(first.token), null, 'the token is refused (an encapsulated one too, by its session)');
      const state = async () => Object.fromEntries((await sessions.list('alice')).map((view) => [view.id, [view.state, view.endReason, view.endedBy]]));
      assert.deepEqual(await state(), {
        [first.session.sessionId!]: ['ended', 'logged-out', 'alice'],
        [second.session.sessionId!]: ['active', null, null],
        [third.session.sessionId!]: ['active', null, null],
      });
      assert.ok(await handler.authenticateToken(second.token), 'another session goes on');
      await handler.logoutEverywhere('alice', 'admin');
      assert.deepEqual(await state(), {
        [first.session.sessionId!]: ['ended', 'logged-out', 'alice'],
        [second.session.sessionId!]: ['ended', 'logged-out', 'admin'],
        [third.session.sessionId!]: ['ended', 'logged-out', 'admin'],
      });
      await services.close();
    });

    it('keeps accepting a token without a session (issued before sessions existed), on both paths', async () => {
      const { services, sessions, handler } = await setup(encapsulated);
      const issued = await handler.issue((await services.users.getUser('alice'))!);
      assert.equal(await sidIn(services, issued.token), undefined);
      const full = await handler.authenticateToken(issued.token);
      assert.equal(full?.session.userId, 'alice');
      assert.equal('sessionId' in full!.session, false);
      assert.equal(handler.authenticateKept(issued.token)?.session.userId, 'alice');
      assert.deepEqual(await sessions.list('alice'), [], 'no session recorded');
      await services.close();
    });

    it("records a member of the transport group as the replication transport", async () => {
      const { services, sessions, handler } = await setup(encapsulated);
      // The group every home has (first start), which POST /bin/receive admits.
      await services.users.createUser('replicator', { password: PASSWORD, groups: ['replication-receivers'] });
      assert.ok((await handler.login('replicator', PASSWORD, '127.0.0.1', 'node')).ok);
      assert.deepEqual((await sessions.list('replicator')).map((view) => view.method), ['transport']);
      await services.close();
    });
  });
}

describe('the sid claim of encapsulated tokens', () => {
  it('refuses a token whose sid is malformed, though signed with the real key', async () => {
    const { clock, services, handler, refusals } = await setup(true);
    const signing = services.crypto.signingKey();
    const iat = Math.floor(clock.now() / 1000);
    const user = (await services.users.getUser('alice'))!;
    const claims = (sid: string) => ({ sub: 'alice', iat, exp: iat + 3600, gen: user.generation, sid });
    const good = issueEncapsulatedToken(claims('A'.repeat(22)), signing);
    assert.equal((await handler.authenticateToken(good))?.session.sessionId, 'A'.repeat(22), 'a well-formed sid, signed the same way, is accepted');
    for (const sid of ['A'.repeat(21), 'A'.repeat(23), `${'A'.repeat(21)}+`, `${'A'.repeat(20)}==`, '']) {
      assert.equal(await handler.authenticateToken(issueEncapsulatedToken(claims(sid), signing)), null, JSON.stringify(sid));
    }
    assert.deepEqual(new Set(refusals()), new Set(['malformed claims']));
    await services.close();
  });
});
