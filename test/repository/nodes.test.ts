import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapsuleError } from '../../src/errors.js';
import { repositoryBackends } from '../helpers/postgres.js';

for (const backend of repositoryBackends()) describe(`repository nodes (${backend.name})`, () => {
  const tempRepository = () => backend.open();

  it('adds a node with missing parents, reads it by path and by id', async () => {
    const repo = await tempRepository();
    const node = await repo.addNode('/content/site/page', { type: 'test:Page', properties: { title: 'Home' } });
    assert.equal(node.path, '/content/site/page');
    assert.equal(node.name, 'page');
    assert.equal(node.type, 'test:Page');
    assert.match(node.id, /^[0-9a-f-]{36}$/);
    const parent = await repo.getNode('/content/site');
    assert.equal(parent?.type, 'capsule:Folder');
    assert.deepEqual((await repo.getNodeById(node.id))?.path, '/content/site/page');
    assert.equal(await repo.getNode('/content/missing'), null);
    assert.equal(await repo.getNodeById('no-such-id'), null);
  });

  it('keeps every property type as written', async () => {
    const repo = await tempRepository();
    const when = new Date('2026-01-02T03:04:05.678Z');
    const bytes = Buffer.from([0, 1, 2, 255]);
    await repo.addNode('/typed', {
      properties: { s: 'text', l: 9007199254740991, b: true, d: when, bin: bytes, list: ['a', 'b'] },
    });
    const { properties } = (await repo.getNode('/typed'))!;
    assert.equal(properties.s, 'text');
    assert.equal(properties.l, 9007199254740991);
    assert.equal(properties.b, true);
    assert.ok(properties.d instanceof Date && properties.d.getTime() === when.getTime());
    assert.ok(Buffer.isBuffer(properties.bin) && properties.bin.equals(bytes));
    assert.deepEqual(properties.list, ['a', 'b']);
  });

  it('refuses values it cannot store, and bad paths', async () => {
    const repo = await tempRepository();
    await assert.rejects(repo.addNode('/x', { properties: { n: 1.5 } }), (e) => isCapsuleError(e, 'INVALID_PROPERTY'));
    await assert.rejects(repo.addNode('relative'), (e) => isCapsuleError(e, 'INVALID_PATH'));
    await assert.rejects(repo.addNode('/a//b'), (e) => isCapsuleError(e, 'INVALID_PATH'));
    await assert.rejects(repo.addNode('/a/../b'), (e) => isCapsuleError(e, 'INVALID_PATH'));
    await assert.rejects(repo.removeNode('/'), (e) => isCapsuleError(e, 'INVALID_PATH'));
    assert.equal(await repo.getNode('/x'), null, 'nothing half-written');
  });

  it('refuses a second node at the same path', async () => {
    const repo = await tempRepository();
    await repo.addNode('/one');
    await assert.rejects(repo.addNode('/one'), (e) => isCapsuleError(e, 'NODE_EXISTS'));
  });

  it('sets and removes properties, keeping the id', async () => {
    const repo = await tempRepository();
    const created = await repo.addNode('/n', { properties: { a: 'x', b: 'y' } });
    const updated = await repo.setProperties('/n', { a: 'z', b: null, c: 3 });
    assert.equal(updated.id, created.id);
    assert.deepEqual({ ...(await repo.getNode('/n'))!.properties }, { a: 'z', c: 3 });
    await assert.rejects(repo.setProperties('/missing', { a: 'b' }), (e) => isCapsuleError(e, 'NODE_NOT_FOUND'));
  });

  it('lists children in name order and removes whole subtrees', async () => {
    const repo = await tempRepository();
    await repo.addNode('/t/b/deep/deeper');
    await repo.addNode('/t/a');
    await repo.addNode('/t-sibling');
    await repo.addNode('/t b');
    assert.deepEqual((await repo.getChildren('/t')).map((n) => n.name), ['a', 'b']);
    assert.deepEqual((await repo.getSubtree('/t')).map((n) => n.path), ['/t', '/t/a', '/t/b', '/t/b/deep', '/t/b/deep/deeper']);
    assert.equal(await repo.removeNode('/t'), true);
    assert.equal(await repo.getNode('/t/b/deep/deeper'), null);
    assert.ok(await repo.getNode('/t-sibling'), 'a sibling whose name starts the same stays');
    assert.ok(await repo.getNode('/t b'));
    assert.equal(await repo.removeNode('/t'), false);
  });

  it('finds nodes by an indexed property, also inside string[] values, and forgets removed ones', async () => {
    const repo = await tempRepository();
    await repo.addNode('/u/alice', { type: 'capsule:User', properties: { userId: 'alice' } });
    await repo.addNode('/g/editors', { type: 'capsule:Group', properties: { groupId: 'editors', members: ['alice', 'bob'] } });
    assert.deepEqual((await repo.findByProperty('userId', 'alice', 'capsule:User')).map((n) => n.path), ['/u/alice']);
    assert.deepEqual((await repo.findByProperty('members', 'bob')).map((n) => n.path), ['/g/editors']);
    await repo.setProperties('/g/editors', { members: ['alice'] });
    assert.deepEqual(await repo.findByProperty('members', 'bob'), []);
    await repo.removeNode('/u');
    assert.deepEqual(await repo.findByProperty('userId', 'alice'), []);
  });

  it('pages through nodes of a type', async () => {
    const repo = await tempRepository();
    for (let i = 0; i < 5; i++) await repo.addNode(`/tokens/t${i}`, { type: 'test:Token' });
    const first = await repo.findByType('test:Token', 3);
    const rest = await repo.findByType('test:Token', 3, first.at(-1)!.id);
    assert.equal(first.length, 3);
    assert.equal(rest.length, 2);
    assert.equal(new Set([...first, ...rest].map((n) => n.id)).size, 5);
    assert.equal(await repo.countByType('test:Token'), 5);
  });

  it('rolls back every write of a transaction that throws', async () => {
    const repo = await tempRepository();
    await repo.addNode('/keep', { properties: { v: 1 } });
    await assert.rejects(
      repo.transaction(async (tx) => {
        await tx.addNode('/new/child');
        await tx.setProperties('/keep', { v: 2 });
        await tx.bumpCounter('test');
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await repo.getNode('/new'), null);
    assert.equal((await repo.getNode('/keep'))!.properties.v, 1);
    assert.equal(await repo.readCounter('test'), 0);
  });

  it('never shows a transaction\'s writes outside it before it commits', async () => {
    const repo = await tempRepository();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    const tx = repo.transaction(async (writer) => {
      await writer.addNode('/pending');
      written();
      await gate;
    });
    await wrote;
    // SQLite: the read waits for the commit (one connection); PostgreSQL: it sees the state before.
    let settled = false;
    const read = repo.getNode('/pending').finally(() => (settled = true));
    if (backend.name === 'postgres') {
      assert.equal(await read, null, 'an uncommitted node is invisible');
    } else {
      // A read that did not wait would have answered within the turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(settled, false, 'the read waits for the commit');
    }
    release();
    await tx;
    if (backend.name === 'sqlite') assert.ok(await read, 'the read saw the committed node, not an in-between state');
    assert.ok(await repo.getNode('/pending'), 'visible once committed');
  });

  it('says whether opening it created it, from its schema', async () => {
    const location = await backend.location();
    const first = await backend.open(location);
    assert.equal(first.created, true);
    await first.addNode('/kept');
    await first.close();
    const again = await backend.reopen(location);
    assert.equal(again.created, false);
    assert.ok(await again.getNode('/kept'));
  });

  it('copies nodes exactly, ids and times included, and counters', async () => {
    const repo = await tempRepository();
    const when = new Date('2025-05-06T07:08:09.010Z');
    await repo.putNode({ id: '11111111-2222-3333-4444-555555555555', path: '/copied/user', type: 'capsule:User', properties: { userId: 'carol', bin: Buffer.from([9]) }, created: when, modified: when });
    await repo.setCounter('users', 41);
    const node = await repo.getNodeById('11111111-2222-3333-4444-555555555555');
    assert.equal(node?.path, '/copied/user');
    assert.equal(node?.modified.getTime(), when.getTime());
    assert.deepEqual((await repo.findByProperty('userId', 'carol')).map((n) => n.id), ['11111111-2222-3333-4444-555555555555']);
    assert.deepEqual(await repo.readCounters(), { users: 41 });
  });

  it('runs a job only where no one else runs it', async () => {
    const repo = await tempRepository();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = repo.runExclusive('cleanup', () => {
      entered();
      return gate;
    });
    await inside;
    assert.equal(await repo.runExclusive('cleanup', async () => assert.fail('ran twice at once')), false);
    assert.equal(await repo.runExclusive('other-job', async () => undefined), true);
    release();
    assert.equal(await first, true);
    assert.equal(await repo.runExclusive('cleanup', async () => undefined), true, 'free again afterwards');
  });

  it('counts changes', async () => {
    const repo = await tempRepository();
    assert.equal(await repo.readCounter('config'), 0);
    assert.equal(await repo.bumpCounter('config'), 1);
    assert.equal(await repo.bumpCounter('config'), 2);
    assert.equal(await repo.readCounter('config'), 2);
  });
});
