import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repositoryBackends } from '../helpers/postgres.js';

// Ids as users write them, and beyond: case, digits, punctuation, and characters past ASCII
// (all in the Basic Multilingual Plane, where UTF-8 byte order is JavaScript's string order).
const VALUES = ['alice', 'Alice', 'alice.b', 'alice-b', 'alice@corp', 'alice_b', 'alice%', 'alicé', 'alice中', 'alicf', 'al', 'b', 'B', '0', '9z', 'Ω', 'zz', '_x', '%y'];
const jsOrder = (values: readonly string[]) => [...values].sort();

for (const backend of repositoryBackends()) describe(`repository ranges (${backend.name})`, () => {
  async function filled() {
    const repo = await backend.open();
    await repo.transaction(async (tx) => {
      for (const [index, value] of VALUES.entries()) {
        await tx.addNode(`/r/n${index}`, { type: index % 5 === 0 ? 'test:Other' : 'test:Thing', properties: { userId: value } });
        await tx.addNode(`/c/${encodeURIComponent(value)}`, { type: index % 5 === 0 ? 'test:Other' : 'test:Thing' });
      }
      await tx.addNode('/c/%ignored/below', { type: 'test:Thing' }); // a grandchild, never a child
    });
    return repo;
  }
  const values = (nodes: readonly { properties: Record<string, unknown> }[]) => nodes.map((node) => node.properties.userId);

  it('pages an indexed property in JavaScript string order, after a value', async () => {
    const repo = await filled();
    const all = values(await repo.findByPropertyRange('userId', { limit: 100 }));
    assert.deepEqual(all, jsOrder(VALUES));
    const first = values(await repo.findByPropertyRange('userId', { limit: 5 }));
    assert.deepEqual(first, jsOrder(VALUES).slice(0, 5));
    const second = values(await repo.findByPropertyRange('userId', { limit: 5, after: first.at(-1) as string }));
    assert.deepEqual(second, jsOrder(VALUES).slice(5, 10));
    assert.deepEqual(await repo.findByPropertyRange('userId', { limit: 5, after: 'Ω' }), []);
    assert.deepEqual(await repo.findByPropertyRange('groupId', { limit: 5 }), [], 'another property has its own range');
  });

  it('takes a prefix as plain characters, never a pattern, with or without after', async () => {
    const repo = await filled();
    const expected = (prefix: string, after = '') => jsOrder(VALUES).filter((value) => value.startsWith(prefix) && value > after);
    for (const prefix of ['alice', 'Al', 'alice%', '%', '_', 'al', 'alic', 'Ω', 'alicé', 'q']) {
      assert.deepEqual(values(await repo.findByPropertyRange('userId', { prefix, limit: 100 })), expected(prefix), `prefix ${prefix}`);
    }
    assert.deepEqual(values(await repo.findByPropertyRange('userId', { prefix: 'alice', after: 'alice.b', limit: 3 })), expected('alice', 'alice.b').slice(0, 3));
    assert.deepEqual(values(await repo.findByPropertyRange('userId', { prefix: 'alice', after: 'a', limit: 100 })), expected('alice'), 'an after before the prefix');
    assert.deepEqual(values(await repo.findByPropertyRange('userId', { prefix: 'alice', after: 'b', limit: 100 })), [], 'an after past the prefix');
  });

  it('filters by type inside the range', async () => {
    const repo = await filled();
    const things = VALUES.filter((_, index) => index % 5 !== 0);
    assert.deepEqual(values(await repo.findByPropertyRange('userId', { type: 'test:Thing', limit: 100 })), jsOrder(things));
    assert.deepEqual(values(await repo.findByPropertyRange('userId', { type: 'test:Thing', prefix: 'alice', limit: 2 })), jsOrder(things.filter((v) => v.startsWith('alice'))).slice(0, 2));
  });

  it('pages the children of a node by name, and counts them', async () => {
    const repo = await filled();
    const names = VALUES.map((value) => encodeURIComponent(value));
    const childNames = async (query: Parameters<typeof repo.getChildrenRange>[1]) => (await repo.getChildrenRange('/c', query)).map((node) => node.name);
    assert.deepEqual(await childNames({ limit: 100 }), jsOrder([...names, '%ignored']));
    assert.deepEqual(await childNames({ limit: 4, after: 'alice' }), jsOrder([...names, '%ignored']).filter((name) => name > 'alice').slice(0, 4));
    assert.deepEqual(await childNames({ prefix: '%', limit: 100 }), jsOrder([...names, '%ignored']).filter((name) => name.startsWith('%')));
    assert.deepEqual(await childNames({ type: 'test:Other', limit: 100 }), jsOrder(names.filter((_, index) => index % 5 === 0)));
    assert.equal(await repo.countChildren('/c'), VALUES.length + 1);
    assert.equal(await repo.countChildren('/c', 'test:Other'), Math.ceil(VALUES.length / 5));
    assert.equal(await repo.countChildren('/nothing'), 0);
  });

  it('reads the same inside a transaction', async () => {
    const repo = await filled();
    const inside = await repo.transaction(async (tx) => values(await tx.findByPropertyRange('userId', { prefix: 'a', limit: 100 })));
    assert.deepEqual(inside, jsOrder(VALUES.filter((value) => value.startsWith('a'))));
  });
});
