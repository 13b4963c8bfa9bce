import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapsuleError } from '../../src/errors.js';
import { treeCounter, type Repository, type RepositoryNode, type StoredNode } from '../../src/repository/index.js';
import { repositoryBackends } from '../helpers/postgres.js';

const when = new Date('2026-03-04T05:06:07.089Z');
const later = new Date('2026-05-06T07:08:09.010Z');
const uuid = (index: number) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;

/** A node as `putNode(s)` takes it, from what a read gave (the name is derived from the path). */
const stored = ({ id, path, type, properties, created, modified }: RepositoryNode): StoredNode => ({ id, path, type, properties, created, modified });

async function everyNode(repo: Repository): Promise<StoredNode[]> {
  return (await repo.getSubtree('/')).map(stored);
}

for (const backend of repositoryBackends()) describe(`putNodes and getNodesAfter (${backend.name})`, () => {
  it('writes a batch as putNode writes each node: ids, types, times and properties kept, indexed properties found', async () => {
    const [one, many] = [await backend.open(), await backend.open()];
    const nodes: StoredNode[] = [{ id: uuid(1), path: '/g', type: 'test:Folder', properties: {}, created: when, modified: when }];
    // More than a statement's batch (1000 on PostgreSQL), with every property type and each indexed kind.
    for (let index = 2; index < 2600; index++) {
      nodes.push({
        id: uuid(index),
        path: `/g/m${index}`,
        type: 'test:Member',
        properties: { member: `user-${index % 7}`, members: [`a${index}`, `b${index}`, `a${index}`], providerUser: `oidc:sub-${index}`, n: index, on: index % 2 === 0, d: later, bin: Buffer.from([0, index % 256, 255]), text: `nul\u0000here ${index}` },
        created: when,
        modified: later,
      });
    }
    for (const node of nodes) await one.putNode(node);
    await many.putNodes(nodes);
    const written = await everyNode(many);
    assert.deepEqual(written.filter((node) => node.path !== '/'), await everyNode(one).then((all) => all.filter((node) => node.path !== '/')));
    assert.equal(written.length, nodes.length + 1);
    assert.deepEqual((await many.getNodeById(uuid(2000)))?.properties.text, 'nul\u0000here 2000');
    const inRange = nodes
      .filter((node) => String(node.properties.providerUser ?? '').startsWith('oidc:sub-25'))
      .sort((a, b) => (String(a.properties.providerUser) < String(b.properties.providerUser) ? -1 : 1))
      .slice(0, 20)
      .map((node) => node.id);
    assert.equal(inRange.length, 20);
    for (const repo of [one, many]) {
      assert.deepEqual((await repo.findByProperty('member', 'user-3', 'test:Member')).length, 371);
      assert.deepEqual((await repo.findByProperty('members', 'b1234')).map((node) => node.id), [uuid(1234)]);
      assert.deepEqual((await repo.findByPropertyRange('providerUser', { prefix: 'oidc:sub-25', limit: 20 })).map((node) => node.id), inRange);
    }
  });

  it('replaces the node at a path and its index rows; of two nodes at one path the last stays', async () => {
    const repo = await backend.open();
    await repo.putNode({ id: uuid(1), path: '/u', type: 'test:User', properties: { userId: 'old' }, created: when, modified: when });
    await repo.putNodes([
      { id: uuid(2), path: '/u', type: 'test:User', properties: { userId: 'first' }, created: when, modified: when },
      { id: uuid(3), path: '/v', type: 'test:User', properties: { userId: 'v' }, created: when, modified: when },
      { id: uuid(4), path: '/u', type: 'test:User', properties: { userId: 'new' }, created: when, modified: later },
    ]);
    assert.deepEqual((await repo.getNode('/u'))?.id, uuid(4));
    assert.equal(await repo.getNodeById(uuid(1)), null);
    assert.equal(await repo.getNodeById(uuid(2)), null);
    for (const gone of ['old', 'first']) assert.deepEqual(await repo.findByProperty('userId', gone), []);
    assert.deepEqual((await repo.findByProperty('userId', 'new')).map((node) => node.id), [uuid(4)]);
    assert.deepEqual((await repo.findByProperty('userId', 'v')).map((node) => node.id), [uuid(3)]);
  });

  it('keeps each statement bounded by the size of what it writes too: large binaries in one batch arrive whole', async () => {
    const repo = await backend.open();
    const big = (index: number) => Buffer.alloc(3 * 1024 * 1024, index);
    await repo.putNodes([1, 2, 3, 4].map((index) => ({ id: uuid(index), path: `/file${index}`, type: 'test:File', properties: { data: big(index) }, created: when, modified: when })));
    for (const index of [1, 2, 3, 4]) assert.ok(Buffer.from((await repo.getNode(`/file${index}`))!.properties.data as Uint8Array).equals(big(index)));
  });

  it('bumps no tree counter (copying takes a repository over as it is)', async () => {
    const repo = await backend.open();
    await repo.putNodes([
      { id: uuid(1), path: '/content', type: 'capsule:Folder', properties: {}, created: when, modified: when },
      { id: uuid(2), path: '/content/page', type: 'test:Page', properties: {}, created: when, modified: when },
    ]);
    assert.equal(await repo.readCounter(treeCounter('/content')), 0);
  });

  it('a batch that fails changes nothing: an id already at another path', async () => {
    const repo = await backend.open();
    await repo.putNode({ id: uuid(1), path: '/taken', type: 'test:Node', properties: { userId: 'taken' }, created: when, modified: when });
    const before = await everyNode(repo);
    const batch: StoredNode[] = Array.from({ length: 1500 }, (_, index) => ({ id: uuid(index + 10), path: `/batch/n${index}`, type: 'test:Node', properties: { userId: `u${index}` }, created: when, modified: when }));
    batch.push({ id: uuid(1), path: '/elsewhere', type: 'test:Node', properties: {}, created: when, modified: when });
    await assert.rejects(repo.putNodes(batch), (error) => isCapsuleError(error) || /unique|constraint/i.test(String(error)));
    assert.deepEqual(await everyNode(repo), before);
    assert.deepEqual(await repo.findByProperty('userId', 'u3'), []);
  });

  it('pages through the whole repository in path order, parents before children, as getSubtree orders it', async () => {
    const repo = await backend.open();
    // Names past U+FFFF and just below it: UTF-8 byte order, which is not JavaScript's here.
    for (const path of ['/a/b', '/a/b/c', '/a-b', '/a/\u{1F600}', '/a/\uFF5E', '/z', '/a/b c', '/0'].sort()) {
      await repo.addNode(path);
    }
    const whole = (await repo.getSubtree('/')).map((node) => node.path);
    const paged: string[] = [];
    for (let after = ''; ; ) {
      const page = await repo.getNodesAfter(after, 3);
      assert.ok(page.length <= 3);
      paged.push(...page.map((node) => node.path));
      if (page.length < 3) break;
      after = page.at(-1)!.path;
    }
    assert.deepEqual(paged, whole);
    assert.equal(paged[0], '/');
    assert.ok(paged.indexOf('/a/b') < paged.indexOf('/a/b/c') && paged.indexOf('/a') < paged.indexOf('/a/b'));
    assert.ok(paged.indexOf('/a/\uFF5E') < paged.indexOf('/a/\u{1F600}'), 'byte order of the UTF-8');
    assert.deepEqual(await repo.getNodesAfter('/z', 10), []);
  });
});
