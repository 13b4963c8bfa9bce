import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { agentPid, createOutbox, createReceiver, parsePackage, sessionEndsToOutbox } from '../../src/replication/index.js';
import { createRepositorySessionStore, newSessionId, SESSIONS_COUNTER } from '../../src/sessions/index.js';
import { keyedServices } from '../helpers/keyed-services.js';
import { tempServices } from '../helpers/services.js';

const HOUR = 3_600_000;
const packageOf = (sequence: number, items: unknown[]) => ({ format: 1, source: 'author-a', sequence, items });

describe("the replication item 'session-ended'", () => {
  it('is accepted with a session id and a whole time, and refused malformed', () => {
    const id = newSessionId();
    const good = { type: 'session-ended', id, expiresAtMs: 1_700_000_000_000 };
    assert.deepEqual(parsePackage(packageOf(1, [good])).items, [good]);
    const bad: unknown[] = [
      { ...good, id: id.slice(1) },
      { ...good, id: `${id}A` },
      { ...good, id: `${id.slice(1)}=` },
      { ...good, id: `${id.slice(1)}/` },
      { ...good, id: 'x'.repeat(21) + '.' },
      { ...good, id: 42 },
      { ...good, expiresAtMs: 1.5 },
      { ...good, expiresAtMs: -1 },
      { ...good, expiresAtMs: 8_640_000_000_000_001 },
      { ...good, expiresAtMs: Number.MAX_SAFE_INTEGER },
      { ...good, expiresAtMs: '1700000000000' },
      { type: 'session-ended', id },
      { type: 'session-ended', expiresAtMs: 1 },
      { ...good, userId: 'alice' },
    ];
    for (const item of bad) {
      assert.throws(() => parsePackage(packageOf(1, [item])), { code: 'REPLICATION_PACKAGE_INVALID' }, JSON.stringify(item));
    }
  });
});

describe('an author writes its session ends to the outbox', () => {
  it('only where an agent is configured, in one transaction, in order', async () => {
    const services = await keyedServices();
    after(() => services.close());
    const outbox = createOutbox(services.repo);
    const toOutbox = sessionEndsToOutbox(services);
    const ended = [
      { id: newSessionId(), expiresAtMs: Date.now() + HOUR },
      { id: newSessionId(), expiresAtMs: Date.now() + 2 * HOUR },
    ];

    const before = await outbox.head();
    await toOutbox(ended);
    assert.equal(await outbox.head(), before, 'no agent: nothing written (no one would read it)');

    await services.config.update(agentPid('publish-1'), { url: 'http://127.0.0.1:9', 'transport.user': 'replicator', 'transport.password': 'transport-pw' });
    await toOutbox(ended);
    assert.deepEqual(
      (await outbox.read(before, 10)).map((entry) => entry.item),
      ended.map(({ id, expiresAtMs }) => ({ type: 'session-ended', id, expiresAtMs })),
    );
  });
});

describe('a publish receives session ends', () => {
  it('records them in its session store, whose subscribers hear them; a package again changes nothing', async () => {
    const services = await tempServices();
    const store = createRepositorySessionStore({ repo: services.repo, clock: systemClock });
    const receiver = createReceiver({ ...services, sessions: store });
    let heard!: (ids: string[]) => void;
    const firstHeard = new Promise<string[]>((resolve) => (heard = resolve));
    let synced!: () => void;
    const ready = new Promise<void>((resolve) => (synced = resolve));
    const stop = store.subscribe({ revoked: (sessions) => heard(sessions.map((session) => session.id)), resync: () => synced(), lost: () => undefined });
    after(stop);
    await ready;

    const ended = { type: 'session-ended', id: newSessionId(), expiresAtMs: Date.now() + HOUR };
    const pkg = parsePackage(packageOf(1, [{ type: 'group', id: 'editors', exists: true }, ended]));
    assert.deepEqual(await receiver.receive(pkg), { outcome: 'applied', sequence: 1, items: 2 });
    assert.deepEqual(await firstHeard, [ended.id], "pushed to the store's subscribers");
    assert.deepEqual(await store.listRevoked(Date.now()), [{ id: ended.id, expiresAtMs: ended.expiresAtMs }]);
    assert.ok(await services.users.getGroup('editors'), 'the rest of the package is applied');

    const ends = await services.repo.readCounter(SESSIONS_COUNTER);
    assert.equal((await receiver.receive(pkg)).outcome, 'duplicate');
    assert.equal(await services.repo.readCounter(SESSIONS_COUNTER), ends, 'the package again recorded nothing new, and pushed nothing');
    assert.deepEqual(await store.listRevoked(Date.now()), [{ id: ended.id, expiresAtMs: ended.expiresAtMs }]);
  });
});
