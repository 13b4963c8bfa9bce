import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyUsers, createUserManager } from '../../src/users/index.js';
import { fastHasher, tempRepository } from '../helpers/services.js';

describe('copyUsers', () => {
  it('copies users with their password hashes, state, generation and groups, overwriting those of the same id', async () => {
    const source = tempRepository();
    const target = tempRepository();
    const from = createUserManager({ repo: source, hasher: fastHasher });
    const to = createUserManager({ repo: target, hasher: fastHasher });
    await from.createGroup('editors');
    await from.createUser('alice', { password: 'alice-pw-correct-horse', groups: ['editors'] });
    await from.createUser('bob', { password: 'bob-pw-correct-horse' });
    await from.setDisabled('bob', true);
    await from.incrementGeneration('alice');
    await to.createUser('alice', { password: 'an-older-password' });
    await to.createUser('carol', { password: 'carol-pw-correct-horse' });

    assert.deepEqual(await copyUsers(source, target), { users: 2, groups: 1 });
    assert.deepEqual(await to.authenticate('alice', 'alice-pw-correct-horse').then((user) => user && { groups: user.groups, generation: user.generation }), { groups: ['editors'], generation: 1 });
    assert.equal(await to.authenticate('alice', 'an-older-password'), null);
    assert.equal((await to.getUser('bob'))?.disabled, true);
    assert.ok(await to.authenticate('carol', 'carol-pw-correct-horse'), 'users the source does not have are left alone');
    const counter = await target.readCounter('users');
    await copyUsers(source, target);
    assert.ok((await target.readCounter('users')) > counter, 'running instances are told to drop their user caches');
  });
});
