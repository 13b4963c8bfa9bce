import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { createContentService } from '../../src/content/index.js';
import { createOutbox } from '../../src/replication/index.js';
import { createReceiver } from '../../src/replication/receiver.js';
import { createSnapshotReader, SNAPSHOT_START } from '../../src/replication/snapshot.js';
import { tempRepository } from '../helpers/services.js';

/**
 * A deep activation empties its subtree on the publish before it writes it, so a descendant the
 * author activated on its own (after deactivating what is between) must come after its ancestor
 * in a snapshot: in the order of the activation records' names (hashes) it came first and was
 * then removed by the ancestor's item (found in review).
 */
describe('the content of a snapshot', () => {
  it('gives an empty publish everything the author has activated: an ancestor activated deep goes before a descendant activated on its own', async () => {
    const author = tempRepository();
    const publish = tempRepository();
    const content = createContentService(author, { clock: systemClock });
    const outbox = createOutbox(author);
    await content.put('/content/a', { title: 'A', x: { title: 'X', y: { title: 'Y' } } });
    await outbox.activate('/content/a', true); // deep
    await outbox.deactivate('/content/a/x'); // /content/a's record now excludes /content/a/x
    await outbox.activate('/content/a/x/y', false); // /content/a/x/y is on publishes again
    const snapshot = createSnapshotReader(author);
    const receiver = createReceiver({ repo: publish, clock: systemClock });
    let sequence = 1;
    const order: string[] = [];
    for (let from: typeof SNAPSHOT_START | null = SNAPSHOT_START; from; ) {
      const part = await snapshot.part(from, { items: 100, bytes: 1_000_000 });
      for (const item of part.items) if (item.type === 'content') order.push(item.path);
      await receiver.receive({ format: 1, source: 'author', sequence: sequence++, items: part.items });
      from = part.next;
    }
    assert.deepEqual(order, ['/content/a', '/content/a/x/y'], 'in path order');
    assert.ok(await publish.getNode('/content/a'), '/content/a on the publish');
    assert.ok(await publish.getNode('/content/a/x/y'), '/content/a/x/y (activated) on the publish');
  });
});
