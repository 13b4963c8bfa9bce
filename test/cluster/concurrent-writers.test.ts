import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createConfigAdmin } from '../../src/config/index.js';
import { COMPONENTS } from '../../src/instance/components.js';
import { openPostgresRepository } from '../../src/repository/index.js';
import { createUserManager } from '../../src/users/index.js';
import { fastHasher } from '../helpers/services.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { WAIT_AT_BARRIER, writersAtBarrier } from '../helpers/writer-processes.js';

// One of two processes writing users, group members, configuration and tokens into one database.
const WRITER = `
import { createUserManager, createArgon2Hasher } from './src/users/index.ts';
import { createConfigAdmin } from './src/config/index.ts';
import { createStatefulTokenStore } from './src/auth/stateful-tokens.ts';
import { openPostgresRepository } from './src/repository/index.ts';
import { systemClock } from './src/clock.ts';
const [url, me, count] = process.argv.slice(-3);
const repo = await openPostgresRepository({ url, clock: systemClock });
const users = createUserManager({ repo, hasher: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }) });
const config = createConfigAdmin({ repo });
const tokens = createStatefulTokenStore({ repo, maxPerUser: () => 1000 });
// The start barrier: both processes are open before either writes (the parent says go to both).
await (${WAIT_AT_BARRIER})();
process.stdin.destroy();
let created = 0, refused = 0;
for (let i = 0; i < Number(count); i++) {
  // the same ids from both processes: each is created once, the other is told it exists
  try { await users.createUser('shared-' + i, { password: 'pw-correct-horse' }); created++; }
  catch (e) { if (e.code === 'USER_EXISTS') refused++; else throw e; }
  const mine = await users.createUser(me + '-' + i, { password: 'pw-correct-horse' });
  await users.addMember('editors', mine.id);            // read members, write members + 1
  await config.update('test.pid', { [me + '-' + i]: i });   // read the PID, merge one key
  await tokens.create({ id: 'alice', path: '/home/users/a/alice' }, Date.now(), 60_000);
}
await repo.close();
console.log(JSON.stringify({ created, refused }));
`;

async function twoWriters(url: string, count: number): Promise<{ code: number | null; created: number; refused: number }[]> {
  const exits = await writersAtBarrier(WRITER, [[url, 'a', String(count)], [url, 'b', String(count)]]);
  return exits.map(({ code, lastLine }) => ({ code, ...(code === 0 ? (JSON.parse(lastLine) as { created: number; refused: number }) : { created: 0, refused: 0 }) }));
}

describe('users, configuration and tokens written by two processes at once (postgres)', () => {
  const cluster = sharedPostgres();

  it('creates each id once, loses no group member, configuration key or token', async () => {
    const url = await (await cluster()).createDatabase();
    const repo = await openPostgresRepository({ url, create: true, clock: systemClock });
    const users = createUserManager({ repo, hasher: fastHasher });
    await users.createGroup('editors');
    await users.createUser('alice', { password: 'pw-correct-horse' });
    const count = 25;
    const results = await twoWriters(url, count);
    const [a, b] = [results[0]!, results[1]!];
    assert.deepEqual([a.code, b.code], [0, 0]);
    assert.equal(a.created + b.created, count, 'each shared id created exactly once');
    assert.equal(a.refused + b.refused, count, 'and refused once');
    const members = (await users.getGroup('editors'))!.members;
    assert.equal(members.length, 2 * count, 'no member lost to a concurrent update of the list');
    const config = createConfigAdmin({ repo });
    for (const component of COMPONENTS) config.register(component);
    await config.load();
    assert.equal(Object.keys(config.stored('test.pid') ?? {}).length, 2 * count, 'no configuration key lost');
    assert.equal((await repo.getChildren('/home/users/a/alice/.tokens')).length, 2 * count, 'no token lost');
    await repo.close();
  });
});
