import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { isCapsuleError } from '../../src/errors.js';
import { repositoryBackends } from '../helpers/postgres.js';

for (const backend of repositoryBackends()) {
  describe(`what a committed transaction reports (${backend.name})`, () => {
    // A listener that threw made a committed write look failed (and on PostgreSQL sent a ROLLBACK
    // after the COMMIT): a caller would then retry, or tell its user, a write that was made.
    it('a commit listener that throws does not fail the transaction; the others are still told, and the error is a warning', async () => {
      const repo = await backend.open();
      const told: string[][] = [];
      repo.onCommit(() => {
        throw new Error('a broken commit listener');
      });
      repo.onCommit((bumped) => told.push([...bumped]));
      const warned = once(process, 'warning');
      assert.equal(await repo.bumpCounter('users'), 1);
      const [warning] = (await warned) as [Error];
      assert.match(warning.message, /a commit listener failed \(the transaction committed\): a broken commit listener/);
      assert.deepEqual(told, [['users']]);
      assert.equal(await repo.readCounter('users'), 1, 'the write was committed');
      assert.equal(await repo.bumpCounter('users'), 2, 'and the repository works on');
    });
  });
}

for (const backend of repositoryBackends().filter((b) => b.name === 'postgres')) {
  describe(`a unique key violated for good (${backend.name})`, () => {
    // A duplicate that no race explains was run again 20 times and reported as "stayed too busy"
    // (REPOSITORY_UNAVAILABLE, 503): retrying cannot help, and 409 says what is wrong.
    it('is reported as NODE_EXISTS after a few attempts, not as a busy repository', async () => {
      const repo = await backend.open();
      const id = '00000000-0000-4000-8000-0000000000aa';
      const node = { id, path: '/first', type: 'capsule:Node', properties: {}, created: new Date(0), modified: new Date(0) };
      await repo.putNode(node);
      let attempts = 0;
      await assert.rejects(
        repo.transaction(async (tx) => {
          attempts++;
          await tx.putNode({ ...node, path: '/second' }); // the same id at another path
        }),
        (error) => isCapsuleError(error, 'NODE_EXISTS'),
      );
      assert.equal(attempts, 3, 'run again twice: by then any racing transaction has committed');
      assert.equal(await repo.getNode('/second'), null);
    });
  });
}
