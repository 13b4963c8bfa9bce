import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openServices } from '../../src/instance/index.js';
import { copyUsers, createUserManager, GROUP_TYPE } from '../../src/users/index.js';
import { fastHasher, tempRepository } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

// How Capsule stored a group before memberships were nodes of their own: its members in a list.
const legacyGroup = (groupId: string, members: string[]) => ({ type: GROUP_TYPE, properties: { groupId, members } });

describe('groups that list their members (repositories from before memberships were nodes)', () => {
  it('are moved when the home opens: the same members and groups are read, once, and a later change sticks', async () => {
    const home = join(tempDir(), 'home');
    const first = await openServices({ home, create: true, hasher: fastHasher, clock: systemClock });
    await first.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    await first.users.createUser('bob', { password: 'bob-pw-correct-horse' });
    await first.repo.addNode('/home/groups/e/editors', legacyGroup('editors', ['alice', 'bob']));
    await first.close();

    const second = await openServices({ home, hasher: fastHasher, clock: systemClock });
    assert.deepEqual((await second.users.getGroup('editors'))?.members, ['alice', 'bob']);
    assert.deepEqual((await second.users.getUser('alice'))?.groups, ['editors']);
    assert.deepEqual((await second.users.listGroups()).map((group) => [group.id, group.members]), [['editors', ['alice', 'bob']]]);
    assert.equal((await second.repo.getNode('/home/groups/e/editors'))?.properties.members, undefined, 'the list is gone');
    await second.users.removeMember('editors', 'bob');
    await second.close();

    const third = await openServices({ home, hasher: fastHasher, clock: systemClock });
    assert.deepEqual((await third.users.getGroup('editors'))?.members, ['alice'], 'bob does not come back from the old list');
    await third.close();
  });

  it('are copied with their members by copyUsers, replacing the target group’s members', async () => {
    const source = tempRepository();
    const target = tempRepository();
    await createUserManager({ repo: source, hasher: fastHasher }).createUser('alice', { password: 'alice-pw-correct-horse' });
    await source.addNode('/home/groups/s/staff', legacyGroup('staff', ['alice']));
    const to = createUserManager({ repo: target, hasher: fastHasher });
    await to.createUser('carol', { password: 'carol-pw-correct-horse', groups: ['staff'], createGroups: true });

    assert.deepEqual(await copyUsers(source, target), { users: 1, groups: 1 });
    assert.deepEqual((await to.getGroup('staff'))?.members, ['alice']);
    assert.deepEqual((await to.getUser('alice'))?.groups, ['staff']);
    assert.deepEqual((await to.getUser('carol'))?.groups, [], 'the group became what the source says');
    assert.equal((await target.getNode('/home/groups/s/staff'))?.properties.members, undefined);
  });
});
