import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createContentService, type ContentService, type Reader } from '../../src/content/index.js';
import { createOutbox, createReceiver, parsePackage, type Outbox, type ReplicationItem } from '../../src/replication/index.js';
import { openSqliteRepository, type Repository } from '../../src/repository/index.js';
import { snapshotPackages } from '../helpers/snapshot-packages.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

/**
 * The access-rule invariant: once a publish has applied what the author queued, every content
 * node on it is readable by exactly the readers who may read it on the author. Checked over
 * random trees, rules, and orders of activation, deactivation, rule changes and deliveries,
 * through the real outbox, package parsing and receiver on real SQLite repositories, for a
 * publish fed the stream from the start and one that starts from a snapshot part way.
 */

/** Small parts, so that a snapshot of a few nodes spans several packages. */
const SMALL_PACKAGES = { items: 3, bytes: 1024 * 1024 };

const RULES = [null, [], ['g1'], ['g2'], ['g1', 'g2']] as const;
const READERS: ReadonlyArray<Reader | null> = [
  null,
  { userId: 'nobody', groups: [] },
  { userId: 'one', groups: ['g1'] },
  { userId: 'two', groups: ['g2'] },
  { userId: 'both', groups: ['g1', 'g2'] },
  { userId: 'ops', groups: ['administrators'] },
];

type Step =
  | { kind: 'rule'; at: number; rule: (typeof RULES)[number] }
  | { kind: 'edit'; at: number }
  | { kind: 'activate'; at: number; deep: boolean }
  | { kind: 'deactivate'; at: number }
  | { kind: 'deliver'; items: number }
  | { kind: 'snapshot' }
  | { kind: 'resync' };

const segment = fc.constantFrom('a', 'b', 'c');
const tree = fc.uniqueArray(
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((segments) => `/content/${segments.join('/')}`),
  { minLength: 1, maxLength: 8 },
);
/** `at` picks a node of the tree (index modulo its size; past it, /content itself). */
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('rule' as const), at: fc.nat(9), rule: fc.constantFrom(...RULES) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('edit' as const), at: fc.nat(9) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('activate' as const), at: fc.nat(9), deep: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deactivate' as const), at: fc.nat(9) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deliver' as const), items: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'resync' as const }) },
);
const initialRules = fc.array(fc.constantFrom(...RULES), { minLength: 8, maxLength: 8 });

/** A publish: its repository, receiver, and where it stands in the author's queue (null: waiting for a snapshot). */
interface Publish {
  readonly repo: Repository;
  readonly content: ContentService;
  receive(items: readonly ReplicationItem[]): Promise<void>;
  cursor: number | null;
}

function openPublish(name: string, cursor: number | null): Publish {
  const repo = openSqliteRepository({ file: join(tempDir(), `${name}.sqlite`), create: true, clock: systemClock });
  const receiver = createReceiver({ repo, clock: { now: () => 0 } });
  let sequence = 0;
  return {
    repo,
    content: createContentService(repo, { clock: systemClock }),
    cursor,
    async receive(items) {
      // As on the wire: JSON, parsed and checked by the publish.
      const pkg = parsePackage(JSON.parse(JSON.stringify({ format: 1, source: 'author', sequence: ++sequence, items })));
      assert.equal((await receiver.receive(pkg)).outcome, 'applied');
    },
  };
}

async function deliver(outbox: Outbox, publish: Publish, limit: number): Promise<void> {
  if (publish.cursor === null) return;
  const entries = await outbox.read(publish.cursor, limit);
  if (entries.length === 0) return;
  await publish.receive(entries.map((entry) => entry.item));
  publish.cursor = entries[entries.length - 1]!.seq;
}

async function outcome(content: ContentService, path: string, reader: Reader | null): Promise<string> {
  return content.read(path, 0, reader).then(
    () => 'read',
    (error: Error & { code?: string }) => error.code ?? error.message,
  );
}

/** Every node on the publish answers every reader as the author does. */
async function assertSameAccess(author: ContentService, publish: Publish, name: string): Promise<void> {
  for (const node of await publish.repo.getSubtree('/content')) {
    for (const reader of READERS) {
      const expected = await outcome(author, node.path, reader);
      const actual = await outcome(publish.content, node.path, reader);
      assert.equal(actual, expected, `${name}: ${node.path} for ${reader ? reader.groups.join('+') || 'a user in no group' : 'anonymous'}`);
    }
  }
}

describe('access rules on publishes', () => {
  it('every node on a publish admits exactly the readers the author admits, whatever is activated, deactivated or re-ruled in whatever order', async () => {
    // Fixed, so that CI runs the same cases every time; FC_SEED=… explores others.
    const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20261207;
    console.log(`fast-check seed ${seed} (set FC_SEED to change it)`);
    const property = fc.asyncProperty(tree, initialRules, fc.array(step, { minLength: 1, maxLength: 16 }), async (paths, rules, steps) => {
      const authorRepo = openSqliteRepository({ file: join(tempDir(), 'author.sqlite'), create: true, clock: systemClock });
      const streamed = openPublish('publish-1', 0);
      const snapshotted = openPublish('publish-2', null);
      const resynced = openPublish('publish-3', 0);
      try {
        const outbox = createOutbox(authorRepo);
        const author = createContentService(authorRepo, { clock: systemClock, outbox });
        for (const [index, path] of paths.entries()) {
          const rule = rules[index]!;
          await author.put(path, { title: path, ...(rule ? { allowedGroups: [...rule] } : {}) });
        }
        const target = (at: number) => paths[at] ?? '/content';
        for (const each of steps) {
          switch (each.kind) {
            case 'rule':
              await author.put(target(each.at), { allowedGroups: each.rule === null ? null : [...each.rule] });
              break;
            case 'edit':
              await author.put(target(each.at), { title: `edited ${each.at}` });
              break;
            case 'activate':
              await outbox.activate(target(each.at), each.deep);
              break;
            case 'deactivate':
              await outbox.deactivate(target(each.at));
              break;
            case 'deliver':
              await deliver(outbox, streamed, each.items);
              await deliver(outbox, snapshotted, each.items);
              await deliver(outbox, resynced, each.items);
              break;
            case 'resync': {
              // `replication resync`: a snapshot onto what the publish already has, then the queue from there.
              const at = await outbox.head();
              for await (const part of snapshotPackages(authorRepo, SMALL_PACKAGES)) await resynced.receive(part);
              resynced.cursor = at;
              break;
            }
            case 'snapshot':
              // What an agent does for a new publish or a resync: the position, then everything active.
              if (snapshotted.cursor === null) {
                const at = await outbox.head();
                for await (const part of snapshotPackages(authorRepo, SMALL_PACKAGES)) await snapshotted.receive(part);
                snapshotted.cursor = at;
              }
              break;
          }
          if (streamed.cursor === (await outbox.head())) await assertSameAccess(author, streamed, 'publish-1 (caught up)');
        }
        if (snapshotted.cursor === null) {
          snapshotted.cursor = await outbox.head();
          for await (const part of snapshotPackages(authorRepo, SMALL_PACKAGES)) await snapshotted.receive(part);
        }
        await deliver(outbox, streamed, Number.MAX_SAFE_INTEGER);
        await deliver(outbox, snapshotted, Number.MAX_SAFE_INTEGER);
        await deliver(outbox, resynced, Number.MAX_SAFE_INTEGER);
        await assertSameAccess(author, streamed, 'publish-1');
        await assertSameAccess(author, resynced, 'publish-3 (resynced onto its content)');
        await assertSameAccess(author, snapshotted, 'publish-2 (from a snapshot)');
      } finally {
        for (const repo of [authorRepo, streamed.repo, snapshotted.repo, resynced.repo]) await repo.close();
      }
    });
    try {
      await fc.assert(property, { numRuns: 40, seed });
    } catch (error) {
      throw new Error(`access rules differ (replay with FC_SEED=${seed}):\n${(error as Error).message}`, { cause: error });
    }
  });
});
