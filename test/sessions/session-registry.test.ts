import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixedClock, systemClock, type Clock } from '../../src/clock.js';
import type { FailurePolicy } from '../../src/farm-store/index.js';
import { openSqliteRepository, type Repository } from '../../src/repository/index.js';
import {
  createPostgresSessionStore,
  createRepositorySessionStore,
  createSessionRegistry,
  isSessionId,
  type LiveSessionRegistry,
  type RevokedSession,
  type SessionRegistryDeps,
  type SessionsSettings,
  type SessionStore,
  type SignInDetails,
} from '../../src/sessions/index.js';
import { createUserManager, type UserManager } from '../../src/users/index.js';
import { capturedLogger } from '../helpers/logs.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { awaitAlive } from '../helpers/await-alive.js';

const HOUR = 3_600_000;
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
const laptop: SignInDetails = { method: 'password', clientAddress: '192.0.2.7', userAgent: FIREFOX };
const phone: SignInDetails = { method: 'oidc', provider: 'corp', clientAddress: '2001:db8::9', userAgent: IPHONE };

const closing: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
});
// Stopped after the registries above are closed (hooks run in the order they were added).
const cluster = sharedPostgres();

interface Member {
  readonly registry: LiveSessionRegistry;
  readonly settings: { -readonly [K in keyof SessionsSettings]: SessionsSettings[K] };
  readonly audit: () => Record<string, unknown>[];
  readonly log: () => Record<string, unknown>[];
  readonly heard: RevokedSession[];
  /** Resolves once the store has pushed an end of `id` to this member. */
  hears(id: string): Promise<void>;
  policy: FailurePolicy;
}

function member(store: SessionStore, clock: Clock, extra: Partial<SessionRegistryDeps> = {}): Member {
  const audit = capturedLogger();
  const log = capturedLogger();
  const heard: RevokedSession[] = [];
  const waiting: { id: string; resolve: () => void }[] = [];
  const settings = { maxPerUser: 0, lastSeenIntervalMs: 300_000 };
  const self: Member = {
    settings,
    policy: 'open',
    heard,
    audit: () => audit.lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    log: () => log.lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    hears: (id) => (heard.some((session) => session.id === id) ? Promise.resolve() : awaitAlive(new Promise<void>((resolve) => waiting.push({ id, resolve })))),
    registry: createSessionRegistry({
      store,
      clock,
      settings: () => settings,
      failurePolicy: () => self.policy,
      member: () => 'publish-1',
      tokenLifetimeMs: () => HOUR,
      audit: audit.logger,
      logger: log.logger,
      onRevokedHeard: (sessions) => {
        heard.push(...sessions);
        for (const waiter of [...waiting]) {
          if (sessions.some((session) => session.id === waiter.id)) {
            waiting.splice(waiting.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      },
      ...extra,
    }),
  };
  closing.push(() => self.registry.close());
  return self;
}

async function home(clock: Clock): Promise<{ repo: Repository; users: UserManager }> {
  const repo = openSqliteRepository({ file: join(tempDir(), 'repository.sqlite'), create: true, clock });
  closing.push(() => repo.close());
  const users = createUserManager({ repo, hasher: fastHasher });
  await users.createUser('alice', { password: 'correct-horse-battery-alice' });
  await users.createUser('bob', { password: 'correct-horse-battery-bob' });
  return { repo, users };
}

const events = (lines: Record<string, unknown>[], event: string) => lines.filter((line) => line.event === event);

describe('session registry', () => {
  it('start records a session, audits it without a token, and lists it with its device parsed and the current one marked', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo, users } = await home(clock);
    const a = member(createRepositorySessionStore({ repo, clock }), clock, { users });
    const first = await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + 12 * HOUR);
    clock.advance(1000);
    const second = await a.registry.start({ id: 'alice', generation: 0 }, phone, clock.now() + 12 * HOUR);
    assert.ok(isSessionId(first) && isSessionId(second) && first !== second);

    const views = await a.registry.list('alice', second);
    assert.deepEqual(
      views.map((view) => [view.id, view.browser, view.os, view.method, view.provider, view.clientAddress, view.state, view.current, view.instance]),
      [
        [second, 'Safari 18', 'iOS 18.1', 'oidc', 'corp', '2001:db8::9', 'active', true, 'publish-1'],
        [first, 'Firefox 133', 'Windows 10', 'password', null, '192.0.2.7', 'active', false, 'publish-1'],
      ],
    );
    assert.equal(views[1]!.createdAt, new Date(1_700_000_000_000).toISOString());
    assert.deepEqual(await a.registry.list('bob', null), []);
    assert.deepEqual(
      events(a.audit(), 'session-created').map(({ user, session, method, provider, address }) => ({ user, session, method, provider, address })),
      [
        { user: 'alice', session: first, method: 'password', provider: null, address: '192.0.2.7' },
        { user: 'alice', session: second, method: 'oidc', provider: 'corp', address: '2001:db8::9' },
      ],
    );
    assert.equal(await a.registry.countLive(), 2);
  });

  it('the limit ends the oldest session, refused here at once, audited as ended by the system', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const a = member(createRepositorySessionStore({ repo, clock }), clock);
    a.settings.maxPerUser = 2;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + 12 * HOUR));
      clock.advance(1000);
    }
    assert.deepEqual(ids.map((id) => a.registry.isRevoked(id)), [true, false, false]);
    const views = await a.registry.list('alice');
    assert.deepEqual(views.map((view) => [view.id, view.state, view.endReason, view.endedBy]), [
      [ids[2], 'active', null, null],
      [ids[1], 'active', null, null],
      [ids[0], 'ended', 'limit', 'system'],
    ]);
    assert.deepEqual(events(a.audit(), 'session-ended').map(({ user, session, reason, by }) => ({ user, session, reason, by })), [{ user: 'alice', session: ids[0], reason: 'limit', by: 'system' }]);
  });

  it('revoke: another user\'s session or an unknown id is null and ends nothing; the owner\'s own ends at once', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const a = member(createRepositorySessionStore({ repo, clock }), clock);
    const alices = await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + 12 * HOUR);
    await a.registry.start({ id: 'bob', generation: 0 }, laptop, clock.now() + 12 * HOUR);

    assert.equal(await a.registry.revoke('bob', alices, 'bob'), null, 'bob may not end alice\'s session');
    assert.equal(await a.registry.revoke('alice', 'AAAAAAAAAAAAAAAAAAAAAA', 'alice'), null);
    assert.equal(await a.registry.revoke('alice', '../../etc', 'alice'), null);
    assert.equal(a.registry.isRevoked(alices), false);
    assert.deepEqual((await a.registry.list('alice')).map((view) => view.state), ['active']);
    assert.deepEqual(events(a.audit(), 'session-ended'), []);

    const view = await a.registry.revoke('alice', alices, 'admin');
    assert.deepEqual(view && [view.id, view.state, view.endReason, view.endedBy], [alices, 'ended', 'revoked', 'admin']);
    assert.equal(a.registry.isRevoked(alices), true);
    // Again: no active session with that id (the same answer as unknown), nothing ended twice.
    assert.equal(await a.registry.revoke('alice', alices, 'admin'), null);
    assert.equal(events(a.audit(), 'session-ended').length, 1);
    // The token handler's logout names its reason.
    const other = await a.registry.start({ id: 'alice', generation: 0 }, phone, clock.now() + 12 * HOUR);
    assert.equal((await a.registry.revoke('alice', other, 'alice', 'logged-out'))?.endReason, 'logged-out');
    assert.deepEqual(events(a.audit(), 'session-ended').map(({ reason }) => reason), ['revoked', 'logged-out']);
    for (const line of a.audit()) assert.doesNotMatch(JSON.stringify(line), /token/i);
  });

  it('revokeOthers keeps the current session; revokeAll ends the rest; another user\'s are untouched', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const a = member(createRepositorySessionStore({ repo, clock }), clock);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + 12 * HOUR));
    const bobs = await a.registry.start({ id: 'bob', generation: 0 }, laptop, clock.now() + 12 * HOUR);
    assert.equal(await a.registry.revokeOthers('alice', ids[1]!, 'alice'), 2);
    assert.deepEqual(ids.map((id) => a.registry.isRevoked(id)), [true, false, true]);
    assert.equal(await a.registry.revokeAll('alice', 'admin', 'user-deleted'), 1);
    assert.equal(a.registry.isRevoked(ids[1]!), true);
    assert.equal(a.registry.isRevoked(bobs), false);
    assert.deepEqual(events(a.audit(), 'session-ended').at(-1), { ...events(a.audit(), 'session-ended').at(-1), user: 'alice', session: ids[1], reason: 'user-deleted', by: 'admin' });
    assert.equal(await a.registry.countLive(), 1);
  });

  it('another member on the same store hears of a revocation and refuses the session', async () => {
    const { repo } = await home(systemClock);
    const a = member(createRepositorySessionStore({ repo, clock: systemClock }), systemClock);
    const b = member(createRepositorySessionStore({ repo, clock: systemClock }), systemClock);
    await b.registry.synced();
    const sid = await a.registry.start({ id: 'alice', generation: 0 }, laptop, Date.now() + HOUR);
    const other = await a.registry.start({ id: 'alice', generation: 0 }, phone, Date.now() + HOUR);
    assert.equal(b.registry.isRevoked(sid), false);
    await a.registry.revoke('alice', sid, 'alice');
    await b.hears(sid);
    assert.equal(b.registry.isRevoked(sid), true);
    assert.equal(b.registry.isRevoked(other), false, 'the user\'s other session still works');
    // A member started after the revocation reads it at start.
    const c = member(createRepositorySessionStore({ repo, clock: systemClock }), systemClock);
    await c.registry.synced();
    assert.equal(c.registry.isRevoked(sid), true);
    assert.equal(c.registry.feedState().connected, true);
  });

  it('on PostgreSQL: a revocation and the limit\'s ends made on one member are refused on another, which lists the same sessions', async () => {
    const url = await (await cluster()).createDatabase();
    const a = member(createPostgresSessionStore({ url, clock: systemClock }), systemClock);
    const b = member(createPostgresSessionStore({ url, clock: systemClock }), systemClock);
    await Promise.all([a.registry.synced(), b.registry.synced()]);
    a.settings.maxPerUser = 2;
    const first = await a.registry.start({ id: 'alice', generation: 0 }, laptop, Date.now() + HOUR);
    const second = await b.registry.start({ id: 'alice', generation: 0 }, phone, Date.now() + HOUR);
    assert.deepEqual((await b.registry.list('alice')).map((view) => view.id).sort(), [first, second].sort(), 'one list for the farm');
    await b.registry.revoke('alice', first, 'alice');
    await a.hears(first);
    assert.equal(a.registry.isRevoked(first), true);
    const third = await a.registry.start({ id: 'alice', generation: 0 }, laptop, Date.now() + HOUR);
    await a.registry.start({ id: 'alice', generation: 0 }, laptop, Date.now() + HOUR); // beyond 2: the oldest live (second) ends
    await b.hears(second);
    assert.deepEqual([first, second, third].map((id) => b.registry.isRevoked(id)), [true, true, false]);
  });

  // The timeout only turns a hang (no read again: never up) into a failure.
  it('on PostgreSQL: the revoked sessions unreadable while the push is up: lost, read again until it works, then up', { timeout: 60_000 }, async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const owner = member(createPostgresSessionStore({ url, clock: systemClock }), systemClock);
    await owner.registry.synced(); // the table exists
    const sid = await owner.registry.start({ id: 'alice', generation: 0 }, laptop, Date.now() + HOUR);
    await owner.registry.revoke('alice', sid, 'alice');
    await pg.sql(database, "CREATE ROLE session_reader LOGIN PASSWORD 'reader-pw-correct-horse'");
    const feed: boolean[] = [];
    let up!: () => void;
    const isUp = new Promise<void>((resolve) => (up = resolve));
    const reader = member(
      createPostgresSessionStore({ url: `postgres://session_reader@${pg.host}:${pg.port}/${database}`, password: 'reader-pw-correct-horse', clock: systemClock }),
      systemClock,
      { resyncRetry: { initialMs: 20, maxMs: 100 }, onFeedChange: (connected) => (feed.push(connected), connected && up()) },
    );
    await reader.registry.synced();
    assert.equal(reader.registry.feedState().connected, false);
    assert.match(reader.registry.feedState().reason ?? '', /cannot be read/);
    assert.equal(reader.registry.isRevoked(sid), false, 'not read yet');
    await pg.sql(database, 'GRANT SELECT ON capsule_sessions TO session_reader');
    await awaitAlive(isUp);
    assert.deepEqual(feed, [false, true]);
    assert.equal(reader.registry.isRevoked(sid), true, 'read once it could be');
  });

  it('a registry that does not listen (a CLI command) still ends sessions that a listening member then refuses', async () => {
    const { repo } = await home(systemClock);
    const instance = member(createRepositorySessionStore({ repo, clock: systemClock }), systemClock);
    const command = member(createRepositorySessionStore({ repo, clock: systemClock }), systemClock, { listen: false });
    await Promise.all([instance.registry.synced(), command.registry.synced()]);
    assert.equal(command.registry.feedState().connected, false);
    const sid = await instance.registry.start({ id: 'alice', generation: 0 }, laptop, Date.now() + HOUR);
    assert.equal(await command.registry.revokeAll('alice', 'admin'), 1);
    await instance.hears(sid);
    assert.equal(instance.registry.isRevoked(sid), true);
    assert.deepEqual(command.heard, [], 'the command heard nothing: it does not listen');
  });

  it('lists a session as ended once its user\'s generation moved (password change) or the user is disabled', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo, users } = await home(clock);
    const a = member(createRepositorySessionStore({ repo, clock }), clock, { users });
    await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + HOUR);
    await users.incrementGeneration('alice');
    clock.advance(1000);
    const fresh = await a.registry.start({ id: 'alice', generation: 1 }, phone, clock.now() + HOUR);
    assert.deepEqual((await a.registry.list('alice')).map((view) => [view.id === fresh, view.state, view.endReason]), [
      [true, 'active', null],
      [false, 'ended', 'password-changed'],
    ]);
    await users.setDisabled('alice', true);
    assert.deepEqual((await a.registry.list('alice')).map((view) => [view.state, view.endReason]), [
      ['ended', 'user-disabled'],
      ['ended', 'user-disabled'],
    ]);
  });

  it('seen writes last seen at most once per interval, never for a malformed id, with a bounded memory', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const store = createRepositorySessionStore({ repo, clock });
    const touches: [string, number][] = [];
    // The real store, its writes counted.
    const counted: SessionStore = { ...store, touch: (id, at) => (touches.push([id, at]), store.touch(id, at)) };
    const a = member(counted, clock, { maxSeenEntries: 2 });
    const sid = await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + 12 * HOUR);
    a.registry.seen(sid, clock.now() + 1000);
    a.registry.seen(sid, clock.now() + 299_999);
    assert.equal(touches.length, 0, 'the start wrote it: nothing due within the interval');
    a.registry.seen(sid, clock.now() + 300_000);
    a.registry.seen(sid, clock.now() + 300_001);
    assert.deepEqual(touches, [[sid, clock.now() + 300_000]]);
    a.registry.seen('not a session id', clock.now());
    // Two more sessions push the first out of memory: it is written again at its next request.
    const others = [await a.registry.start({ id: 'bob', generation: 0 }, laptop, clock.now() + HOUR), await a.registry.start({ id: 'bob', generation: 0 }, laptop, clock.now() + HOUR)];
    a.registry.seen(others[1]!, clock.now() + 1);
    a.registry.seen(sid, clock.now() + 300_002);
    assert.deepEqual(touches.map(([id]) => id), [sid, sid]);
    await store.touch(sid, 0); // after the queued writes
    assert.equal((await store.get(sid))?.lastSeenAtMs, clock.now() + 300_002);
  });

  it('before the revoked sessions were first read (restarted while the store is away): policy closed refuses every session, says why; open accepts and warns once', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const before = member(createRepositorySessionStore({ repo, clock }), clock);
    const ended = await before.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + HOUR);
    const live = await before.registry.start({ id: 'alice', generation: 0 }, phone, clock.now() + HOUR);
    await before.registry.revoke('alice', ended, 'alice');

    for (const policy of ['closed', 'open'] as const) {
      let away = true;
      let up: () => void = () => undefined;
      const feedUp = new Promise<void>((resolve) => (up = resolve));
      const store = createRepositorySessionStore({ repo, clock });
      const restarted = member({ ...store, listRevoked: (nowMs) => (away ? Promise.reject(new Error('connection refused')) : store.listRevoked(nowMs)) }, clock, {
        failurePolicy: () => policy,
        resyncRetry: { initialMs: 5, maxMs: 5 },
        onFeedChange: (connected) => connected && up(),
      });
      await restarted.registry.synced(); // the first read failed
      const state = restarted.registry.feedState();
      if (policy === 'closed') {
        assert.equal(restarted.registry.isRevoked(live), true, 'closed: a session that may have ended is refused');
        assert.equal(state.refusingAll, true);
        assert.match(state.reason ?? '', /never read.*every token naming a session is refused/);
      } else {
        assert.equal(restarted.registry.isRevoked(live), false, 'open: accepted');
        assert.equal(restarted.registry.isRevoked(ended), false, 'open: an end made before the start is not known yet (the documented risk)');
        assert.equal(state.refusingAll, false);
        assert.equal(restarted.log().filter((line) => /never read.*accepted/.test(String(line.msg))).length, 1, 'one line tells it');
      }
      away = false;
      await feedUp;
      assert.equal(restarted.registry.isRevoked(live), false, `${policy}: read at last, a live session works`);
      assert.equal(restarted.registry.isRevoked(ended), true, `${policy}: read at last, the ended one is refused`);
      assert.equal(restarted.registry.feedState().refusingAll, false);
    }
  });

  it('an end holds its id for the token lifetime past the end (a renewal the store never wrote), and a pushed expiry is capped to it', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const a = member(createRepositorySessionStore({ repo, clock }), clock);
    const b = member(createRepositorySessionStore({ repo, clock }), clock);
    await Promise.all([a.registry.synced(), b.registry.synced()]);
    const sid = await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + HOUR / 2);
    await a.registry.revoke('alice', sid, 'alice');
    await b.hears(sid);
    clock.advance(HOUR); // past the record's end, within the lifetime of a token renewed just before the end
    assert.equal(a.registry.isRevoked(sid), true);
    assert.equal(b.registry.isRevoked(sid), true, 'held on the member that heard the push, too');
    clock.advance(HOUR);
    assert.equal(a.registry.isRevoked(sid), false, 'gone once no token can name it');

    const forged = await a.registry.start({ id: 'bob', generation: 0 }, laptop, clock.now() + HOUR);
    const [ended] = await createRepositorySessionStore({ repo, clock }).end([forged], 'revoked', 'bob', clock.now(), clock.now() + 1000 * HOUR);
    assert.equal(ended?.id, forged);
    await b.hears(forged);
    clock.advance(2 * HOUR);
    assert.equal(b.registry.isRevoked(forged), false, 'an expiry far in the future is held no longer than a token can live');
  });

  it('a list shows at most 100 sessions, the active first, each newest first', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const a = member(createRepositorySessionStore({ repo, clock }), clock);
    const started: string[] = [];
    for (let i = 0; i < 103; i++) {
      started.push(await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + HOUR));
      clock.advance(1);
    }
    const newest = started.at(-1)!;
    await a.registry.revoke('alice', newest, 'alice');
    const listed = await a.registry.list('alice');
    assert.equal(listed.length, 100);
    assert.ok(listed.slice(0, 100).every((session) => session.state === 'active'), 'the ended one (the newest) comes after the active ones, here cut');
    assert.deepEqual(listed.map((session) => session.id), started.slice(0, -1).reverse().slice(0, 100));
  });

  it('a revoked id leaves the set once its session has expired; removeExpired deletes the records', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const a = member(createRepositorySessionStore({ repo, clock }), clock);
    const sid = await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + HOUR);
    a.registry.extended?.(sid, clock.now() + 2 * HOUR);
    await repo.readCounter('sessions'); // the extension's write is queued before this read
    await a.registry.revoke('alice', sid, 'alice');
    clock.advance(HOUR);
    assert.equal(a.registry.isRevoked(sid), true, 'held until the extended end');
    clock.advance(HOUR);
    // An extension writes the token's end plus one last-seen interval (renewals meanwhile write nothing).
    assert.equal(a.registry.isRevoked(sid), true, 'held for one interval past the token\'s end');
    clock.advance(300_000);
    assert.equal(a.registry.isRevoked(sid), false);
    assert.equal(a.registry.feedState().held, 0);
    assert.equal(await a.registry.removeExpired(), 1);
    assert.deepEqual(await a.registry.list('alice'), []);
    assert.deepEqual(events(a.audit(), 'sessions-expired').map(({ count }) => count), [1]);
    assert.equal(await a.registry.removeExpired(), 0);
    assert.equal(events(a.audit(), 'sessions-expired').length, 1, 'nothing removed, nothing said');
  });

  it('a token renewed on every request (its client ignores the new cookie) pushes the session\'s end back once per interval, and never before the token\'s end', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const store = createRepositorySessionStore({ repo, clock });
    const extensions: number[] = [];
    const counting = { ...store, extend: (id: string, to: number) => (extensions.push(to), store.extend(id, to)) };
    const a = member(counting, clock);
    const sid = await a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + HOUR);
    for (let second = 0; second < 100; second++) a.registry.extended?.(sid, clock.now() + HOUR + second * 1000);
    assert.deepEqual(extensions, [clock.now() + HOUR + 300_000]);
    a.registry.extended?.(sid, clock.now() + HOUR + 300_001);
    assert.equal(extensions.length, 2);
    await repo.readCounter('sessions');
    assert.ok((await store.get(sid))!.expiresAtMs >= clock.now() + HOUR + 300_001);
  });

  it('the store unreachable at sign-in: closed refuses with SIGN_IN_UNAVAILABLE; open goes on with an unrecorded session, logged', async () => {
    const store = createPostgresSessionStore({ url: 'postgres://farm:not-this-one@127.0.0.1:1/farm', clock: systemClock, connectTimeoutMs: 500 });
    const a = member(store, systemClock);
    a.policy = 'closed';
    await assert.rejects(a.registry.start({ id: 'alice', generation: 0 }, laptop, Date.now() + HOUR), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'SIGN_IN_UNAVAILABLE');
      assert.doesNotMatch(error.message, /not-this-one/);
      return true;
    });
    a.policy = 'open';
    const sid = await a.registry.start({ id: 'alice', generation: 0 }, laptop, Date.now() + HOUR);
    assert.ok(isSessionId(sid));
    assert.equal(a.registry.isRevoked(sid), false);
    assert.deepEqual(events(a.audit(), 'session-created'), []);
    assert.ok(a.log().some((line) => line.level === 40 && /not recorded \(failure\.policy=open\)/.test(String(line.msg))));
    for (const line of a.log()) assert.doesNotMatch(JSON.stringify(line), /not-this-one/);
  });
});

describe('session registry: onEnded (an author passes its ends on to its publishes)', () => {
  it('is told of every end it makes (revoke, revoke-others, revoke-all, the limit) before the call returns; a failure is logged and the end stands', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const { repo } = await home(clock);
    const told: string[][] = [];
    let failing = false;
    const a = member(createRepositorySessionStore({ repo, clock }), clock, {
      onEnded: async (ended) => {
        if (failing) throw new Error('the outbox cannot be written');
        told.push(ended.map((session) => session.id).sort());
      },
    });
    const start = () => a.registry.start({ id: 'alice', generation: 0 }, laptop, clock.now() + HOUR);
    const [one, two, three, four] = [await start(), await start(), await start(), await start()];

    assert.ok(await a.registry.revoke('alice', one, 'admin'));
    assert.deepEqual(told, [[one]]);
    assert.equal(await a.registry.revoke('alice', one, 'admin'), null);
    assert.deepEqual(told, [[one]], 'nothing ended, nothing told');
    assert.equal(await a.registry.revokeOthers('alice', four, 'alice'), 2);
    assert.deepEqual(told[1], [two, three].sort());
    a.settings.maxPerUser = 1;
    const five = await start();
    assert.deepEqual(told[2], [four]);

    failing = true;
    assert.equal(await a.registry.revokeAll('alice', 'admin'), 1, 'the end stands');
    assert.ok(a.registry.isRevoked(five));
    assert.match(String(a.log().find((line) => line.level === 50)?.msg), /not passed on to publishes: the outbox cannot be written/);
    assert.equal(told.length, 3);
  });
});
