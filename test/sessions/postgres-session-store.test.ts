import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createPostgresSessionStore, REVOCATION_CHANNEL, type PostgresSessionStoreOptions, type SessionStore } from '../../src/sessions/index.js';
import { postgresOfItsOwn } from '../helpers/postgres.js';
import { recordingListener, revokedEvent, sessionRecord, sessionStoreContract } from './session-store-contract.js';

const closing: SessionStore[] = [];
after(async () => {
  for (const store of closing.reverse()) await store.close().catch(() => undefined);
});
// Stopped after the stores above are closed (hooks run in the order they were added).
const cluster = postgresOfItsOwn();

function open(options: PostgresSessionStoreOptions): SessionStore {
  const store = createPostgresSessionStore(options);
  closing.push(store);
  return store;
}

sessionStoreContract({
  name: 'PostgreSQL (the farm store\'s database)',
  async open(clock) {
    const url = await (await cluster()).createDatabase();
    return [open({ url, clock }), open({ url, clock })];
  },
});

/** A gate the LISTEN connection's back-off waits at: the test says when it may reconnect. */
function reconnectGate(): { wait: (delayMs: number) => Promise<void>; open(): void } {
  let opened = false;
  const waiting: (() => void)[] = [];
  return {
    wait: () => (opened ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))),
    open() {
      opened = true;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

describe('PostgreSQL session store: the revocation feed', () => {
  it('its LISTEN connection killed: lost, then resync once back; an end made meanwhile is in listRevoked', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const gate = reconnectGate();
    const member = open({ url, clock: systemClock, applicationName: 'capsule-listener-under-test', waitToReconnect: gate.wait });
    const other = open({ url, clock: systemClock });
    const listener = recordingListener();
    const stop = member.subscribe(listener);
    try {
      await listener.next((event) => event.kind === 'resync');
      const record = sessionRecord('alice', Date.now());
      await other.create(record, 0);

      const killed = await pg.sql<{ killed: boolean }>(
        database,
        "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'capsule-listener-under-test' AND query ILIKE 'LISTEN%'",
      );
      assert.deepEqual(killed, [{ killed: true }], 'one LISTEN connection, killed');
      const lost = await listener.next((event) => event.kind === 'lost');
      assert.match(lost.kind === 'lost' ? lost.reason : '', /LISTEN connection/);

      // Ended while nobody listens on this member: no push reaches it.
      await other.end([record.id], 'revoked', 'admin', Date.now());
      gate.open();
      await listener.next(nthResync(2));
      assert.deepEqual(
        (await member.listRevoked(Date.now())).map((session) => session.id),
        [record.id],
        'what resync re-reads has the end made while the feed was down',
      );
      // And the feed works again.
      const later = sessionRecord('alice', Date.now());
      await other.create(later, 0);
      await other.end([later.id], 'revoked', 'admin', Date.now());
      await listener.next(revokedEvent(later.id));
    } finally {
      stop();
    }
  });

  it('the server stopped and started again: lost, then resync, without a new subscription', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const gate = reconnectGate();
    const member = open({ url, clock: systemClock, connectTimeoutMs: 1000, waitToReconnect: gate.wait });
    const listener = recordingListener();
    const stop = member.subscribe(listener);
    try {
      await listener.next((event) => event.kind === 'resync');
      await pg.stop();
      await listener.next((event) => event.kind === 'lost');
      await assert.rejects(member.listRevoked(Date.now()), { code: 'FARM_STORE_UNAVAILABLE' });
      await pg.start();
      gate.open();
      await listener.next(nthResync(2));
      const record = sessionRecord('bob', Date.now());
      await member.create(record, 0);
      await member.end([record.id], 'revoked', 'bob', Date.now());
      await listener.next(revokedEvent(record.id));
    } finally {
      stop();
    }
  });

  it('a malformed payload on the channel is dropped, not held', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const member = open({ url, clock: systemClock });
    const listener = recordingListener();
    const stop = member.subscribe(listener);
    try {
      await listener.next((event) => event.kind === 'resync');
      const record = sessionRecord('carol', Date.now());
      await pg.sql(new URL(url).pathname.slice(1), `SELECT pg_notify('${REVOCATION_CHANNEL}', $1)`, [`../x:1,${record.id}:soon,${record.id}:${record.expiresAtMs}`]);
      const heard = await listener.next((event) => event.kind === 'revoked');
      assert.deepEqual(heard.kind === 'revoked' && heard.sessions, [{ id: record.id, expiresAtMs: record.expiresAtMs }]);
    } finally {
      stop();
    }
  });
});

describe('PostgreSQL session store: unreachable', () => {
  it('fails with FARM_STORE_UNAVAILABLE naming the place, never the password; a subscriber is told it is lost', async () => {
    const store = open({ url: 'postgres://farm:not-this-one@127.0.0.1:1/farm', clock: systemClock, connectTimeoutMs: 500 });
    await assert.rejects(store.create(sessionRecord('dave', Date.now()), 2), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'FARM_STORE_UNAVAILABLE');
      assert.match(error.message, /host 127\.0\.0\.1, port 1, database farm/);
      assert.doesNotMatch(error.message, /not-this-one/);
      return true;
    });
    const listener = recordingListener();
    const stop = store.subscribe(listener);
    try {
      const lost = await listener.next((event) => event.kind === 'lost');
      assert.doesNotMatch(lost.kind === 'lost' ? lost.reason : '', /not-this-one/);
    } finally {
      stop();
    }
  });
});

describe('PostgreSQL session store: an error of the database is not a store that is away', () => {
  it('a missing grant fails with INTERNAL naming the SQLSTATE, never FARM_STORE_UNAVAILABLE nor the password', async () => {
    const pg = await cluster();
    const url = await pg.createDatabase();
    const database = new URL(url).pathname.slice(1);
    await open({ url, clock: systemClock }).countLive(Date.now()); // the table exists
    await pg.sql(database, "CREATE ROLE capsule_no_grant LOGIN PASSWORD 'no-grant-secret'");
    const limited = new URL(url);
    limited.username = 'capsule_no_grant';
    limited.password = 'no-grant-secret';
    const store = open({ url: limited.toString(), clock: systemClock, connectTimeoutMs: 2000 });
    for (const attempt of [() => store.listRevoked(Date.now()), () => store.create(sessionRecord('erin', Date.now()), 0)]) {
      await assert.rejects(attempt(), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'INTERNAL', error.message);
        assert.match(error.message, /SQLSTATE 42501/);
        assert.doesNotMatch(error.message, /no-grant-secret/);
        return true;
      });
    }
  });
});

/** The n-th resync since the subscription began (the first is the feed coming up). */
function nthResync(n: number) {
  let seen = 0;
  return (event: { kind: string }) => event.kind === 'resync' && ++seen === n;
}
