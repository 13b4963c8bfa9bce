import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyRepository, type Repository, type RepositoryWriter } from '../../src/repository/index.js';
import { repositoryBackends } from '../helpers/postgres.js';

/** A home of `users` user-like nodes, all owned by `owner`, and one node only it has. */
async function home(repo: Repository, owner: string, users: number): Promise<Repository> {
  await repo.transaction(async (tx) => {
    for (let index = 0; index < users; index++) await tx.addNode(`/home/users/u/u${index}`, { properties: { userId: `u${index}`, owner } });
    await tx.addNode(`/only-${owner}`, { properties: { owner } });
  });
  return repo;
}

async function owners(repo: Repository): Promise<Record<string, number>> {
  const counted: Record<string, number> = {};
  for (let after = ''; ; ) {
    const page = await repo.getNodesAfter(after, 1000);
    if (page.length === 0) return counted;
    for (const node of page) if (typeof node.properties.owner === 'string') counted[node.properties.owner] = (counted[node.properties.owner] ?? 0) + 1;
    after = page.at(-1)!.path;
  }
}

/** `target` whose transactions hand out a writer that fails its `n`th read of nodes in path order. */
function failingOnRead(target: Repository, n: number): Repository {
  const wrapped = Object.create(target) as Repository;
  wrapped.transaction = ((work: (tx: RepositoryWriter) => Promise<unknown>, options?: unknown) =>
    target.transaction((tx) => {
      let reads = 0;
      const writer = Object.create(tx) as RepositoryWriter;
      writer.getNodesAfter = async (after, limit) => {
        if (++reads === n) throw new Error('the connection went away while the copy was compared');
        return tx.getNodesAfter(after, limit);
      };
      return work(writer);
    }, options as never)) as Repository['transaction'];
  return wrapped;
}

for (const backend of repositoryBackends()) {
  describe(`repository copy into ${backend.name}: all or nothing`, () => {
    it('leaves the target empty when the comparison fails, so that the copy runs again', async () => {
      const [sqlite] = repositoryBackends();
      const source = await home(await sqlite!.open(), 'a', 1500);
      const location = await backend.location();
      const target = await backend.open(location);
      // The first read checks that the target is empty; the second is the comparison's.
      await assert.rejects(copyRepository(source, failingOnRead(target, 2)), /went away while the copy was compared/);
      assert.deepEqual(await owners(target), {}, 'nothing of the copy is left in the target');
      const copied = await copyRepository(source, target);
      assert.equal(copied.nodes, (await source.info()).nodeCount);
      assert.deepEqual(await owners(target), { a: 1501 });
    });
  });
}

describe('two copies into one PostgreSQL database at once', () => {
  it('the one that comes second is refused and never overwrites the first, which stays whole', async () => {
    const [sqlite, postgres] = repositoryBackends();
    const [a, b] = [await home(await sqlite!.open(), 'a', 3000), await home(await sqlite!.open(), 'b', 3000)];
    const location = await postgres!.location();
    const [intoA, intoB] = [await postgres!.open(location), await postgres!.reopen(location)];
    const [copiedA, copiedB] = await Promise.allSettled([copyRepository(a, intoA), copyRepository(b, intoB)]);
    const outcomes = [copiedA.status, copiedB.status].sort();
    assert.deepEqual(outcomes, ['fulfilled', 'rejected'], 'one copy, one refusal');
    const refused = (copiedA.status === 'rejected' ? copiedA : copiedB) as PromiseRejectedResult;
    assert.match((refused.reason as Error).message, /not empty|no longer empty/);
    const winner = copiedA.status === 'fulfilled' ? 'a' : 'b';
    assert.deepEqual(await owners(intoA), { [winner]: 3001 }, 'the target holds the copy that succeeded, whole, and nothing of the other');
  });
});
