import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { repositoryBackends } from '../helpers/postgres.js';

// One process of two: opens the repository at LOCATION and writes COUNT times, as JOB says.
const WRITER = `
import { openPostgresRepository, openSqliteRepository } from './src/repository/index.ts';
const [location, job, prefix, count] = process.argv.slice(-4);
const repo = location.startsWith('postgres') ? await openPostgresRepository({ url: location }) : openSqliteRepository({ file: location });
let attempts = 0;
for (let i = 0; i < Number(count); i++) {
  await repo.transaction(async (tx) => {
    attempts++;
    if (job === 'add') {
      await tx.addNode('/shared/' + prefix + '-' + i, { properties: { i } });
      await tx.bumpCounter('writes');
    } else if (job === 'increment') {
      // read-then-write: correct only if no other process writes between the read and the write
      const node = await tx.getNode('/shared');
      await tx.setProperties('/shared', { total: Number(node.properties.total ?? 0) + 1 });
    } else if (job === 'claim') {
      // check-then-add of the same names from both processes: each name is claimed once
      const path = '/claims/c' + i;
      if (!(await tx.getNode(path))) await tx.addNode(path, { properties: { by: prefix } });
    }
  });
}
await repo.close();
console.log(JSON.stringify({ attempts }));
`;

function writer(location: string, job: string, prefix: string, count: number): Promise<{ code: number | null; attempts: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WRITER, location, job, prefix, String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, attempts: code === 0 ? (JSON.parse(out) as { attempts: number }).attempts : 0 }));
  });
}

for (const backend of repositoryBackends()) {
  describe(`repository shared by two processes (${backend.name})`, () => {
    it('loses no write when both write at once', async () => {
      const location = await backend.location();
      const repo = await backend.open(location);
      await repo.addNode('/shared');
      const count = 150;
      const results = await Promise.all([writer(location, 'add', 'a', count), writer(location, 'add', 'b', count)]);
      assert.deepEqual(results.map((r) => r.code), [0, 0]);
      assert.equal((await repo.getChildren('/shared')).length, 2 * count);
      assert.equal(await repo.readCounter('writes'), 2 * count);
    });

    it('keeps a read-then-write correct: no lost update, each name claimed once', async () => {
      const location = await backend.location();
      const repo = await backend.open(location);
      await repo.addNode('/shared', { properties: { total: 0 } });
      const count = 100;
      const increments = await Promise.all([writer(location, 'increment', 'a', count), writer(location, 'increment', 'b', count)]);
      assert.deepEqual(increments.map((r) => r.code), [0, 0]);
      assert.equal((await repo.getNode('/shared'))!.properties.total, 2 * count);

      const claims = await Promise.all([writer(location, 'claim', 'a', count), writer(location, 'claim', 'b', count)]);
      assert.deepEqual(claims.map((r) => r.code), [0, 0]);
      assert.equal((await repo.getChildren('/claims')).length, count);
      if (backend.name === 'sqlite') {
        // BEGIN IMMEDIATE serialises writers up front: `work` ran exactly once per transaction.
        assert.deepEqual(increments.map((r) => r.attempts), [count, count]);
      }
    });
  });
}
