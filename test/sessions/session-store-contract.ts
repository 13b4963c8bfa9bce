import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixedClock, systemClock, type Clock } from '../../src/clock.js';
import { awaitAlive } from '../helpers/await-alive.js';
import { newSessionId, type RevocationListener, type RevokedSession, type SessionRecord, type SessionStore } from '../../src/sessions/index.js';

/** Two store objects on one fresh database: what two members sharing it hold. */
export interface SessionBackendUnderTest {
  readonly name: string;
  open(clock: Clock): Promise<readonly [SessionStore, SessionStore]>;
}

const HOUR = 3_600_000;
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

export function sessionRecord(userId: string, nowMs: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: newSessionId(),
    userId,
    createdAtMs: nowMs,
    lastSeenAtMs: nowMs,
    expiresAtMs: nowMs + 12 * HOUR,
    method: 'password',
    provider: null,
    clientAddress: '192.0.2.7',
    userAgent: FIREFOX,
    instance: 'publish-1',
    generation: 3,
    endedAtMs: null,
    endReason: null,
    endedBy: null,
    ...overrides,
  };
}

/** A listener whose events a test awaits: `next(predicate)` resolves on the first event (past or future) that matches. */
export function recordingListener(): RevocationListener & { next(match: (event: FeedEvent) => boolean): Promise<FeedEvent> } {
  const events: FeedEvent[] = [];
  const waiting: { match: (event: FeedEvent) => boolean; resolve: (event: FeedEvent) => void }[] = [];
  const push = (event: FeedEvent) => {
    events.push(event);
    for (const waiter of [...waiting]) {
      if (!waiter.match(event)) continue;
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  };
  return {
    revoked: (sessions) => push({ kind: 'revoked', sessions }),
    resync: () => push({ kind: 'resync' }),
    lost: (reason) => push({ kind: 'lost', reason }),
    next(match) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return awaitAlive(new Promise((resolve) => waiting.push({ match, resolve })));
    },
  };
}

export type FeedEvent = { kind: 'revoked'; sessions: readonly RevokedSession[] } | { kind: 'resync' } | { kind: 'lost'; reason: string };

export const revokedEvent = (id: string) => (event: FeedEvent) => event.kind === 'revoked' && event.sessions.some((session) => session.id === id);

/** The contract of `SessionStore` (src/sessions/types.ts), the same for every backend. */
export function sessionStoreContract(backend: SessionBackendUnderTest): void {
  describe(`session store contract: ${backend.name}`, () => {
    it('keeps a session: get, the user\'s list newest first (not another user\'s), touch', async () => {
      const clock = fixedClock(1_700_000_000_000);
      const [store] = await backend.open(clock);
      const first = sessionRecord('alice', clock.now());
      assert.deepEqual(await store.create(first, 0), { ended: [] });
      clock.advance(1000);
      const second = sessionRecord('alice', clock.now(), { method: 'oidc', provider: 'corp', clientAddress: '2001:db8::1', userAgent: 'x'.repeat(2000) });
      await store.create(second, 0);
      await store.create(sessionRecord('bob', clock.now()), 0);

      assert.deepEqual(await store.get(first.id), first);
      const got = await store.get(second.id);
      assert.equal(got?.userAgent, 'x'.repeat(512), 'the agent is kept to 512 characters');
      assert.equal(got?.provider, 'corp');
      assert.equal(got?.clientAddress, '2001:db8::1', 'the address as given');
      assert.deepEqual((await store.listByUser('alice', clock.now())).map((session) => session.id), [second.id, first.id]);
      assert.deepEqual(await store.listByUser('nobody', clock.now()), []);

      clock.advance(60_000);
      await store.touch(first.id, clock.now());
      assert.equal((await store.get(first.id))?.lastSeenAtMs, clock.now());
      await store.touch(first.id, clock.now() - 30_000); // an older write never moves it back
      assert.equal((await store.get(first.id))?.lastSeenAtMs, clock.now());
      assert.equal(await store.get(newSessionId()), null);
      assert.equal(await store.get('../../etc/key'), null, 'a malformed id is nobody\'s session');
      assert.equal(await store.countLive(clock.now()), 3);
    });

    it('ends a live session once: the second end returns nothing; listRevoked has it until it expires', async () => {
      const clock = fixedClock(1_700_000_000_000);
      const [store] = await backend.open(clock);
      const short = sessionRecord('carol', clock.now(), { expiresAtMs: clock.now() + 10_000 });
      const long = sessionRecord('carol', clock.now());
      const kept = sessionRecord('carol', clock.now());
      for (const record of [short, long, kept]) await store.create(record, 0);

      const ended = await store.end([short.id, long.id, newSessionId(), 'not an id'], 'revoked', 'admin', clock.now());
      assert.deepEqual(new Set(ended), new Set([{ id: short.id, expiresAtMs: short.expiresAtMs }, { id: long.id, expiresAtMs: long.expiresAtMs }]));
      assert.deepEqual(await store.end([short.id, long.id], 'revoked', 'admin', clock.now()), [], 'already ended: nothing');
      const record = await store.get(long.id);
      assert.equal(record?.endedAtMs, clock.now());
      assert.equal(record?.endReason, 'revoked');
      assert.equal(record?.endedBy, 'admin');
      assert.equal(await store.countLive(clock.now()), 1);
      assert.deepEqual(new Set((await store.listRevoked(clock.now())).map((session) => session.id)), new Set([short.id, long.id]));

      clock.advance(10_000); // `short` has expired: no token names it any more
      assert.deepEqual((await store.listRevoked(clock.now())).map((session) => session.id), [long.id]);
      assert.deepEqual((await store.listByUser('carol', clock.now())).map((session) => session.id).sort(), [long.id, kept.id].sort());
      assert.equal(await store.get(short.id), null);
      assert.deepEqual(await store.end([short.id], 'revoked', 'admin', clock.now()), [], 'an expired session is not ended');
      assert.equal(await store.removeExpired(clock.now()), 1);
      clock.advance(12 * HOUR);
      assert.equal(await store.removeExpired(clock.now()), 2);
      assert.deepEqual(await store.listRevoked(clock.now()), []);
      assert.equal(await store.countLive(clock.now()), 0);
      assert.deepEqual(await store.listByUser('carol', clock.now()), []);
    });

    it('extend pushes a live session\'s end back, never forward', async () => {
      const clock = fixedClock(1_700_000_000_000);
      const [store] = await backend.open(clock);
      const record = sessionRecord('dave', clock.now());
      await store.create(record, 0);
      await store.extend(record.id, record.expiresAtMs + HOUR);
      await store.extend(record.id, record.expiresAtMs - HOUR);
      assert.equal((await store.get(record.id))?.expiresAtMs, record.expiresAtMs + HOUR);
      const [ended] = await store.end([record.id], 'revoked', 'dave', clock.now());
      assert.equal(ended?.expiresAtMs, record.expiresAtMs + HOUR, 'the revoked id is held until the extended end');
    });

    it('an end with holdUntilMs keeps the ended record and its id held until then, never shortens it', async () => {
      const clock = fixedClock(1_700_000_000_000);
      const [store] = await backend.open(clock);
      const soon = sessionRecord('erin', clock.now(), { expiresAtMs: clock.now() + HOUR });
      const late = sessionRecord('erin', clock.now(), { expiresAtMs: clock.now() + 20 * HOUR });
      for (const record of [soon, late]) await store.create(record, 0);
      const holdUntilMs = clock.now() + 13 * HOUR;
      const ended = await store.end([soon.id, late.id], 'revoked', 'erin', clock.now(), holdUntilMs);
      assert.deepEqual(new Set(ended), new Set([{ id: soon.id, expiresAtMs: holdUntilMs }, { id: late.id, expiresAtMs: late.expiresAtMs }]));
      clock.advance(2 * HOUR); // past the record's own end, before the hold's
      assert.deepEqual(new Set(await store.listRevoked(clock.now())), new Set([{ id: soon.id, expiresAtMs: holdUntilMs }, { id: late.id, expiresAtMs: late.expiresAtMs }]));
      assert.equal((await store.get(soon.id))?.expiresAtMs, holdUntilMs);
    });

    it('the limit ends the oldest live sessions beyond it, and says which', async () => {
      const clock = fixedClock(1_700_000_000_000);
      const [store] = await backend.open(clock);
      const sessions: SessionRecord[] = [];
      for (let i = 0; i < 3; i++) {
        sessions.push(sessionRecord('erin', clock.now()));
        assert.deepEqual(await store.create(sessions[i]!, 3), { ended: [] });
        clock.advance(1000);
      }
      const fourth = sessionRecord('erin', clock.now());
      const { ended } = await store.create(fourth, 3);
      assert.deepEqual(ended, [{ id: sessions[0]!.id, expiresAtMs: sessions[0]!.expiresAtMs }]);
      const oldest = await store.get(sessions[0]!.id);
      assert.equal(oldest?.endReason, 'limit');
      assert.equal(oldest?.endedBy, 'system');
      assert.deepEqual((await store.listRevoked(clock.now())).map((session) => session.id), [sessions[0]!.id]);
      clock.advance(1000);
      // A session created by a member whose clock is behind is kept all the same: the oldest others go.
      const late = sessionRecord('erin', clock.now() - 60_000);
      const { ended: beforeLate } = await store.create(late, 3);
      assert.deepEqual(beforeLate.map((session) => session.id), [sessions[1]!.id]);
      assert.equal((await store.get(late.id))?.endedAtMs, null);
      // Another user's sessions count apart.
      assert.deepEqual(await store.create(sessionRecord('frank', clock.now()), 1), { ended: [] });
      assert.equal(await store.countLive(clock.now()), 4, 'three of erin\'s, one of frank\'s');
    });

    it('two members signing one user in at the same instant never leave more than the limit', async () => {
      const [a, b] = await backend.open(systemClock);
      await a.ping();
      await b.ping();
      const max = 3;
      const perMember = 8;
      let release!: () => void;
      const barrier = new Promise<void>((resolve) => (release = resolve));
      const creates = [a, b].flatMap((store) =>
        Array.from({ length: perMember }, async () => {
          await barrier;
          return store.create(sessionRecord('grace', Date.now()), max);
        }),
      );
      release();
      const results = await Promise.all(creates);
      const nowMs = Date.now();
      const live = (await a.listByUser('grace', nowMs)).filter((session) => session.endedAtMs === null);
      assert.equal(live.length, max);
      const endedIds = results.flatMap((result) => result.ended.map((session) => session.id));
      assert.equal(new Set(endedIds).size, endedIds.length, 'each session ended once');
      assert.equal(endedIds.length, 2 * perMember - max, 'every session beyond the limit was ended, and said so');
      assert.equal(await a.countLive(nowMs), max);
    });

    it('remember holds an id it has no record of as ended until it expires, once, and ends a live record of it', async () => {
      const clock = fixedClock(1_700_000_000_000);
      const [store] = await backend.open(clock);
      const unknown = { id: newSessionId(), expiresAtMs: clock.now() + 10_000 };
      const live = sessionRecord('judy', clock.now());
      await store.create(live, 0);
      const expired = { id: newSessionId(), expiresAtMs: clock.now() };

      const recorded = await store.remember([unknown, { id: live.id, expiresAtMs: live.expiresAtMs }, expired, { id: 'not an id', expiresAtMs: clock.now() + 10_000 }], clock.now());
      assert.deepEqual(new Set(recorded), new Set([unknown, { id: live.id, expiresAtMs: live.expiresAtMs }]), 'neither an expired id nor a malformed one');
      assert.deepEqual(new Set(await store.listRevoked(clock.now())), new Set([unknown, { id: live.id, expiresAtMs: live.expiresAtMs }]));
      const ended = await store.get(live.id);
      assert.equal(ended?.endReason, 'revoked');
      assert.equal(ended?.endedBy, 'replication');
      assert.equal(await store.countLive(clock.now()), 0);
      assert.deepEqual((await store.listByUser('judy', clock.now())).map((session) => session.id), [live.id], 'nothing more in the user\'s list');

      assert.deepEqual(await store.remember([unknown, { id: live.id, expiresAtMs: live.expiresAtMs }], clock.now()), [], 'told again: nothing new');
      assert.deepEqual(await store.end([live.id], 'revoked', 'admin', clock.now()), [], 'an id remembered is not live');
      const later = { id: unknown.id, expiresAtMs: clock.now() + 20_000 };
      assert.deepEqual(await store.remember([later], clock.now()), [later], 'a later end is held longer');

      clock.advance(20_000);
      assert.deepEqual(await store.listRevoked(clock.now()), [{ id: live.id, expiresAtMs: live.expiresAtMs }]);
      await store.removeExpired(clock.now());
      clock.advance(12 * HOUR);
      await store.removeExpired(clock.now());
      assert.deepEqual(await store.listRevoked(clock.now()), []);
      assert.deepEqual(await store.remember([], clock.now()), []);
    });

    it('a member subscribed to the store hears of an id remembered through another member', async () => {
      const clock = systemClock;
      const [a, b] = await backend.open(clock);
      const listener = recordingListener();
      const stop = b.subscribe(listener);
      try {
        await listener.next((event) => event.kind === 'resync');
        const told = { id: newSessionId(), expiresAtMs: clock.now() + HOUR };
        await a.remember([told], clock.now());
        const heard = await listener.next(revokedEvent(told.id));
        assert.deepEqual(heard.kind === 'revoked' && heard.sessions.find((session) => session.id === told.id), told);
        assert.deepEqual(await b.listRevoked(clock.now()), [told], 'and reads it after a restart');
      } finally {
        stop();
      }
    });

    it('a member subscribed to the store hears of an end made through another member', async () => {
      const clock = systemClock;
      const [a, b] = await backend.open(clock);
      const listener = recordingListener();
      const stop = b.subscribe(listener);
      try {
        await listener.next((event) => event.kind === 'resync');
        const record = sessionRecord('heidi', clock.now());
        await a.create(record, 0);
        await a.end([record.id], 'revoked', 'heidi', clock.now());
        const heard = await listener.next(revokedEvent(record.id));
        assert.deepEqual(heard.kind === 'revoked' && heard.sessions.find((session) => session.id === record.id), { id: record.id, expiresAtMs: record.expiresAtMs });
        // The limit's ends are pushed as well.
        const first = sessionRecord('ivan', clock.now());
        await a.create(first, 1);
        await a.create(sessionRecord('ivan', clock.now() + 1), 1);
        const limited = await listener.next(revokedEvent(first.id));
        assert.ok(limited.kind === 'revoked' && limited.sessions.every((session) => session.id !== record.id), 'a push tells what is new, not everything held');
      } finally {
        stop();
      }
    });
  });
}
