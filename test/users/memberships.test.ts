import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUserManager } from '../../src/users/index.js';
import { fastHasher, tempRepository } from '../helpers/services.js';

describe('group memberships', () => {
  it('a removed group takes its memberships with it: its members no longer list it, and a group made again under its id is empty', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher });
    await users.createUser('alice', { password: 'alice-pw-correct-horse', groups: ['editors', 'staff'], createGroups: true });
    await users.removeGroup('editors');
    assert.deepEqual((await users.getUser('alice'))?.groups, ['staff']);
    await users.createGroup('editors');
    assert.deepEqual((await users.getGroup('editors'))?.members, []);
    assert.deepEqual((await users.listGroups()).map((group) => [group.id, group.members]), [['editors', []], ['staff', ['alice']]]);
  });

  it('adding a member twice keeps one membership; removing a non-member is refused and changes nothing', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher });
    await users.createGroup('staff');
    await users.createUser('bob', { password: 'bob-pw-correct-horse' });
    await users.addMember('staff', 'bob');
    assert.deepEqual((await users.addMember('staff', 'bob')).members, ['bob']);
    await users.removeMember('staff', 'bob');
    await assert.rejects(users.removeMember('staff', 'bob'), { code: 'USER_NOT_FOUND' });
    assert.deepEqual((await users.getGroup('staff'))?.members, []);
    assert.deepEqual((await users.getUser('bob'))?.groups, []);
  });
});
