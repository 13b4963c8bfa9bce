import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { createOutbox, createReceiver, readAgentState } from '../../src/replication/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/replication-instances.js';
import { capturedLogger } from '../helpers/logs.js';

describe('two authors on one PostgreSQL repository share one outbox', () => {
  const cluster = sharedPostgres();

  it('records changes from both authors in one queue, and each item reaches the publish once, in order', async (t) => {
    const url = await (await cluster()).createDatabase();
    const authors: RunningInstance[] = [];
    const logs: string[][] = [];
    for (const name of ['author-1', 'author-2']) {
      const { logger, lines } = capturedLogger('info');
      logs.push(lines);
      const author = await startInstance({
        home: join(tempDir(), name),
        port: 0,
        name,
        hasher: fastHasher,
        logger,
        env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' },
        repositoryUrl: url,
        keyStorage: 'repository',
        changePollMs: 100,
      });
      t.after(() => author.stop());
      authors.push(author);
    }
    const [one, two] = authors as [RunningInstance, RunningInstance];
    const publish = await startTestInstance(join(tempDir(), 'publish'), { name: 'publish-1' });
    t.after(() => publish.stop());
    await publish.services.users.createUser('replicator', { password: 'transport-pw', groups: ['replication-receivers'] });

    // A change that fails leaves no item behind on PostgreSQL either.
    const outbox = createOutbox(one.services.repo);
    const before = await outbox.head();
    await assert.rejects(one.services.users.createUser('nobody', { password: 'pw-correct-horse', groups: ['missing'] }), { code: 'GROUP_NOT_FOUND' });
    assert.equal(await outbox.head(), before);

    await one.services.config.update('capsule.replication.agent~publish-1', { url: publish.url, 'transport.user': 'replicator', 'transport.password': 'transport-pw', 'retry.delay.seconds': 1 });
    await one.services.users.createGroup('editors');
    const count = 30;
    // Both authors write at once: serializable transactions may retry `work`, which must not duplicate an item.
    await Promise.all(
      [one, two].map(async (author, index) => {
        for (let i = 0; i < count; i++) {
          await author.services.users.createUser(`u${index}-${i}`, { password: 'pw-correct-horse', groups: ['editors'] });
          if (i % 3 === 0) await author.services.users.incrementGeneration(`u${index}-${i}`);
        }
      }),
    );
    const head = await outbox.head();
    const entries = await outbox.read(0, 10_000);
    assert.equal(entries.length, head, 'every sequence number from 1 to the head holds exactly one item');
    assert.equal(entries.filter((entry) => entry.item.type === 'user').length, 2 * count + 2 * Math.ceil(count / 3));

    await eventually('the queue delivered', async () => ((await readAgentState(one.services.repo, 'publish-1'))?.cursor ?? 0) >= head, 120_000);
    for (const index of [0, 1]) {
      for (let i = 0; i < count; i++) {
        const user = await publish.services.users.getUser(`u${index}-${i}`);
        assert.ok(user, `u${index}-${i}`);
        assert.equal(user.generation, i % 3 === 0 ? 1 : 0);
        assert.deepEqual(user.groups, ['editors']);
      }
    }
    const state = (await readAgentState(one.services.repo, 'publish-1'))!;
    const [source] = await createReceiver({ repo: publish.services.repo, clock: publish.services.clock }).sources();
    assert.equal(source?.lastSequence, state.lastDeliveredSequence, 'the publish applied every package the authors counted as sent, no other');
    const all = logs.flat().join('');
    assert.ok(!all.includes('expects an earlier package'), 'no package was refused as out of order');
    assert.ok(!all.includes('queue blocked'));
  });
});
