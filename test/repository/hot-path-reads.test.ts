import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { treeCounter } from '../../src/repository/index.js';
import { repositoryBackends } from '../helpers/postgres.js';

// The contract the hot paths rely on, on every backend: the narrow read by id that stateful
// tokens use, and the content tree's counter with the commit signal that content caches use.

const CONTENT = treeCounter('/content');

for (const backend of repositoryBackends()) describe(`repository hot-path reads and change signals (${backend.name})`, () => {
  it('reads a node’s type and just the named properties by id, decoded as stored', async () => {
    const repo = await backend.open();
    const expiresAt = new Date('2026-12-03T12:00:00.123Z');
    const node = await repo.addNode('/home/users/a/alice/.tokens/t1', {
      type: 'capsule:Token',
      properties: { tokenUser: 'alice', tokenHash: 'ab'.repeat(32), expiresAt, createdAt: new Date(0), other: ['x'] },
    });
    const record = await repo.getPropertiesById(node.id, ['tokenUser', 'tokenHash', 'expiresAt', 'absent']);
    assert.equal(record?.type, 'capsule:Token');
    assert.deepEqual(Object.keys(record!.properties).sort(), ['expiresAt', 'tokenHash', 'tokenUser'], 'only the names asked for, and only those it has');
    assert.equal(record!.properties.tokenUser, 'alice');
    assert.equal(record!.properties.tokenHash, 'ab'.repeat(32));
    assert.ok(record!.properties.expiresAt instanceof Date && record!.properties.expiresAt.getTime() === expiresAt.getTime());
    assert.equal(await repo.getPropertiesById('no-such-id', ['tokenUser']), null);
    await repo.removeNode(node.path);
    assert.equal(await repo.getPropertiesById(node.id, ['tokenUser']), null, 'gone with its node');
  });

  it('bumps the content tree counter once per transaction that changes anything under /content, and nothing else', async () => {
    const repo = await backend.open();
    const value = () => repo.readCounter(CONTENT);
    assert.equal(await value(), 0);
    await repo.addNode('/content/site/page');
    assert.equal(await value(), 1, 'add (with a missing parent made too): one bump');
    await repo.transaction(async (tx) => {
      await tx.setProperties('/content/site', { allowedGroups: ['members'] });
      await tx.addNode('/content/site/other');
      await tx.removeNode('/content/site/other');
    });
    assert.equal(await value(), 2, 'three writes in one transaction: one bump');
    await repo.addNode('/home/users/a/alice');
    await repo.addNode('/contentious');
    await repo.setProperties('/home/users/a/alice', { x: 'y' });
    assert.equal(await repo.removeNode('/content/none'), false);
    assert.equal(await value(), 2, 'writes elsewhere (and a removal of nothing) bump nothing');
    await repo.removeNode('/content');
    assert.equal(await value(), 3, 'removing the tree itself');
    await assert.rejects(repo.transaction(async (tx) => {
      await tx.addNode('/content/rolled-back');
      throw new Error('no');
    }));
    assert.equal(await value(), 3, 'a rolled-back transaction bumps nothing');
  });

  it('tells onCommit listeners what a transaction bumped, after it committed, and nothing of one that rolled back', async () => {
    const repo = await backend.open();
    const heard: string[][] = [];
    const stop = repo.onCommit((bumped) => heard.push([...bumped].sort()));
    await repo.transaction(async (tx) => {
      await tx.addNode('/content/a');
      await tx.bumpCounter('users');
      assert.deepEqual(heard, [], 'not before the commit');
    });
    assert.deepEqual(heard, [['tree:/content', 'users']], 'told before the transaction’s promise resolved');
    await repo.addNode('/elsewhere');
    assert.deepEqual(heard.length, 1, 'a transaction that bumped nothing is not told');
    await assert.rejects(repo.transaction(async (tx) => {
      await tx.setProperties('/content/a', { t: 'x' });
      throw new Error('no');
    }));
    assert.deepEqual(heard.length, 1, 'nor one that rolled back');
    stop();
    await repo.addNode('/content/b');
    assert.deepEqual(heard.length, 1, 'nor anything after it stopped listening');
  });

  it('copies a repository as it is: putNode and setCounter bump no tree counter', async () => {
    const repo = await backend.open();
    await repo.putNode({ id: '00000000-0000-4000-8000-000000000001', path: '/content', type: 'capsule:Folder', properties: {}, created: new Date(0), modified: new Date(0) });
    await repo.setCounter('users', 7);
    assert.equal(await repo.readCounter(CONTENT), 0);
  });
});
