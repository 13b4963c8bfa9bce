import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newNodeId } from '../../src/repository/node-id.js';
import { openSqliteRepository } from '../../src/repository/index.js';
import { systemClock } from '../../src/clock.js';
import { tempDir } from '../helpers/temp.js';
import { join } from 'node:path';

const VERSION_7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('node ids', () => {
  it('are version 7 UUIDs: unique, ordered by the time they were made, and random within a millisecond', () => {
    const many = Array.from({ length: 100_000 }, () => newNodeId(1_796_000_000_000));
    assert.equal(new Set(many).size, many.length, 'no two alike');
    for (const id of many.slice(0, 1000)) assert.match(id, VERSION_7);
    assert.ok(many.every((id) => id.startsWith('01a2')), 'the millisecond in front');
    const sorted = [...many].sort();
    assert.notDeepEqual(sorted.slice(0, 100), many.slice(0, 100), 'within one millisecond the order is random: nothing counts up');
    const [earlier, later] = [newNodeId(1_796_000_000_000), newNodeId(1_796_000_000_001)];
    assert.ok(earlier < later, 'a later millisecond sorts after');
    assert.match(newNodeId(-5), VERSION_7, 'a clock before 1970 still gives an id');
    assert.match(newNodeId(2 ** 50), VERSION_7);
  });

  it('are what the repository gives its new nodes, so nodes made one after another sort together', async () => {
    const repo = openSqliteRepository({ file: join(tempDir(), 'ids.sqlite'), create: true, clock: systemClock });
    try {
      const made = await repo.transaction(async (tx) => {
        const nodes = [];
        for (let index = 0; index < 50; index++) nodes.push(await tx.addNode(`/content/n${index}`, {}));
        return nodes;
      });
      for (const node of made) assert.match(node.id, VERSION_7);
      const first = made[0]!.id.slice(0, 8);
      assert.ok(made.every((node) => node.id.slice(0, 4) === first.slice(0, 4)), 'one prefix of time for one transaction');
    } finally {
      await repo.close();
    }
  });
});
