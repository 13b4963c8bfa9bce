import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createContentService } from '../../src/content/index.js';
import { createOutbox } from '../../src/replication/index.js';
import { createSnapshotReader, decodeCursor, encodeCursor } from '../../src/replication/snapshot.js';
import { countingRepository } from '../helpers/counting-repository.js';
import { tempRepository } from '../helpers/services.js';

const pagePath = (index: number) => `/content/site/page${String(index).padStart(4, '0')}`;

/** An author with `pages` pages, each activated on its own through the real outbox. */
async function authorWith(pages: number) {
  const counting = countingRepository(tempRepository());
  const content = createContentService(counting.repo, { clock: systemClock });
  const outbox = createOutbox(counting.repo);
  await content.put('/content/site', Object.fromEntries(Array.from({ length: pages }, (_, index) => [pagePath(index).slice('/content/site/'.length), { title: `Page ${index}` }])));
  for (let index = 0; index < pages; index++) await outbox.activate(pagePath(index), false);
  counting.reset();
  return counting;
}

describe("the snapshot's activated content", () => {
  it('reads a package of activations as a range: a part costs the same among 300 activations as among 150, and the parts hold each page once', async () => {
    const limits = { items: 10, bytes: 1_000_000 };
    const cost = async (pages: number) => {
      const counting = await authorWith(pages);
      const snapshot = createSnapshotReader(counting.repo);
      const from = { phase: 'activations', after: '' } as const;
      const first = await snapshot.part(from, limits);
      const read = counting.nodesRead();
      assert.equal(first.items.length, 10);
      // A second part, from the first's cursor written down and read back as the agent does.
      counting.reset();
      const second = await snapshot.part(decodeCursor(encodeCursor(first.next!))!, limits);
      assert.equal(counting.nodesRead(), read, 'the second part reads as much as the first');
      const sent: string[] = [...first.items, ...second.items].map((item) => (item.type === 'content' ? item.path : item.type));
      for (let from = second.next; from && from.phase === 'activations'; ) {
        const part = await snapshot.part(from, limits);
        sent.push(...part.items.filter((item) => item.type === 'content').map((item) => (item.type === 'content' ? item.path : '')));
        from = part.next;
      }
      assert.deepEqual([...sent].sort(), Array.from({ length: pages }, (_, index) => pagePath(index)), 'every activated page, once');
      return read;
    };
    const small = await cost(150);
    const large = await cost(300);
    assert.equal(large, small, 'nodes read by a part of 10 activations, 300 activations against 150');
  });

  it("a cursor an older version wrote in the content phase (a path) starts that phase again; a version that knows only 'content' starts the snapshot again", () => {
    assert.deepEqual(decodeCursor(JSON.stringify({ phase: 'content', after: '/content/site/page0042' })), { phase: 'activations', after: '' });
    assert.deepEqual(decodeCursor(JSON.stringify({ phase: 'users', after: '42' })), { phase: 'users', after: '42' });
    const written = JSON.parse(encodeCursor({ phase: 'activations', after: 'ab'.repeat(32) })) as { phase: string };
    assert.ok(!['groups', 'users', 'content', 'sessions'].includes(written.phase), 'an older decodeCursor finds no phase it knows: null, the snapshot from its start');
  });
});
