import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repositoryBackends } from '../helpers/postgres.js';
import { WAIT_AT_BARRIER, writersAtBarrier } from '../helpers/writer-processes.js';

// One process of two: opens the repository at LOCATION and writes COUNT times, as JOB says. The
// two meet at a barrier (each prints "ready" and waits for a line on stdin) so that they race
// every run. On PostgreSQL they meet inside their first transaction, between its read and its
// write, so both are in a transaction at once and one of them must run its work again. SQLite's
// BEGIN IMMEDIATE lets one writer in at a time: there they meet just before the first one.
const WRITER = `
import { openPostgresRepository, openSqliteRepository } from './src/repository/index.ts';
import { systemClock } from './src/clock.ts';
const [location, job, prefix, count] = process.argv.slice(-4);
const postgres = location.startsWith('postgres');
const repo = postgres ? await openPostgresRepository({ url: location, clock: systemClock }) : openSqliteRepository({ file: location, clock: systemClock });
const barrier = ${WAIT_AT_BARRIER};
if (!postgres) await barrier();
let attempts = 0;
for (let i = 0; i < Number(count); i++) {
  await repo.transaction(async (tx) => {
    attempts++;
    const meet = postgres && attempts === 1 ? barrier : async () => {};
    if (job === 'add') {
      await tx.addNode('/shared/' + prefix + '-' + i, { properties: { i } });
      await meet();
      await tx.bumpCounter('writes');
    } else if (job === 'increment') {
      // read-then-write: correct only if no other process writes between the read and the write
      const node = await tx.getNode('/shared');
      await meet();
      await tx.setProperties('/shared', { total: Number(node.properties.total ?? 0) + 1 });
    } else if (job === 'claim') {
      // check-then-add of the same names from both processes: each name is claimed once
      const path = '/claims/c' + i;
      const claimed = await tx.getNode(path);
      await meet();
      if (!claimed) await tx.addNode(path, { properties: { by: prefix } });
    }
  });
}
await repo.close();
process.stdin.destroy();
console.log(JSON.stringify({ attempts }));
`;

async function twoWriters(location: string, job: string, count: number): Promise<{ code: number | null; attempts: number }[]> {
  const exits = await writersAtBarrier(WRITER, [[location, job, 'a', String(count)], [location, job, 'b', String(count)]]);
  return exits.map(({ code, lastLine }) => ({ code, attempts: code === 0 ? (JSON.parse(lastLine) as { attempts: number }).attempts : 0 }));
}

for (const backend of repositoryBackends()) {
  describe(`repository shared by two processes (${backend.name})`, () => {
    it('loses no write when both write at once', async () => {
      const location = await backend.location();
      const repo = await backend.open(location);
      await repo.addNode('/shared');
      const count = 150;
      const results = await twoWriters(location, 'add', count);
      assert.deepEqual(results.map((r) => r.code), [0, 0]);
      if (backend.name === 'postgres') assert.ok(results[0]!.attempts + results[1]!.attempts > 2 * count, 'the two met inside a transaction: one ran again');
      assert.equal((await repo.getChildren('/shared')).length, 2 * count);
      assert.equal(await repo.readCounter('writes'), 2 * count);
    });

    it('keeps a read-then-write correct: no lost update, each name claimed once', async () => {
      const location = await backend.location();
      const repo = await backend.open(location);
      await repo.addNode('/shared', { properties: { total: 0 } });
      const count = 100;
      const increments = await twoWriters(location, 'increment', count);
      assert.deepEqual(increments.map((r) => r.code), [0, 0]);
      assert.equal((await repo.getNode('/shared'))!.properties.total, 2 * count);

      const claims = await twoWriters(location, 'claim', count);
      assert.deepEqual(claims.map((r) => r.code), [0, 0]);
      assert.equal((await repo.getChildren('/claims')).length, count);
      if (backend.name === 'sqlite') {
        // BEGIN IMMEDIATE serialises writers up front: `work` ran exactly once per transaction.
        assert.deepEqual(increments.map((r) => r.attempts), [count, count]);
      } else {
        // Serializable isolation found the read-then-write race, every run: a transaction ran again.
        for (const results of [increments, claims]) assert.ok(results[0]!.attempts + results[1]!.attempts > 2 * count);
      }
    });
  });
}
