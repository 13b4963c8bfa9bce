import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { openSqliteRepository } from '../../src/repository/index.js';
import { createRepositorySessionStore, createSessionRegistry } from '../../src/sessions/index.js';
import { capturedLogger } from '../helpers/logs.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Past half its life an encapsulated token is renewed on every request until the client stores
 * the new one, and each renewal calls `extended`. A client that keeps sending the old token (an API
 * client, parallel requests) must not make a store write per request, nor, with the store away, a
 * warning per request.
 */
const HOUR = 3_600_000;
const closing: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
});

describe('renewals flood the session store and the log', () => {
  it('a thousand renewals of one session while the store is away log at most one warning and write a bounded number of times', async () => {
    const clock = fixedClock(1_700_000_000_000);
    const repo = openSqliteRepository({ file: join(tempDir(), 'repository.sqlite'), create: true, clock });
    closing.push(() => repo.close());
    const store = createRepositorySessionStore({ repo, clock });
    let extendCalls = 0;
    let away = false;
    const log = capturedLogger();
    const registry = createSessionRegistry({
      store: { ...store, extend: (id, at) => (extendCalls++, away ? Promise.reject(new Error('store away')) : store.extend(id, at)) },
      clock,
      settings: () => ({ maxPerUser: 0, lastSeenIntervalMs: 300_000 }),
      failurePolicy: () => 'open',
      member: () => 'publish-1',
      audit: capturedLogger().logger,
      logger: log.logger,
    });
    closing.push(() => registry.close());
    await registry.synced();
    const sid = await registry.start({ id: 'alice', generation: 0 }, { method: 'password', clientAddress: '192.0.2.1', userAgent: 'x' }, clock.now() + 12 * HOUR);
    clock.advance(7 * HOUR);
    away = true;
    for (let i = 0; i < 1000; i++) {
      clock.advance(10); // a request every 10 ms, each renewing (the old token sent again)
      registry.extended!(sid, clock.now() + 12 * HOUR);
    }
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 100 && log.lines.length < Math.min(extendCalls, 2); i++) await new Promise((resolve) => setImmediate(resolve));
    const warnings = log.lines.filter((line) => line.includes("session's end cannot be pushed back")).length;
    assert.ok(extendCalls <= 10, `${extendCalls} store writes for one session in 10 s`);
    assert.ok(warnings <= 1, `${warnings} warnings logged`);
  });
});
