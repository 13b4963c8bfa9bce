import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openServices } from '../../src/instance/index.js';
import type { Repository } from '../../src/repository/index.js';
import { createReceiver } from '../../src/replication/receiver.js';
import { copyUsers, createUserManager, GROUP_TYPE } from '../../src/users/index.js';
import { fastHasher, tempRepository } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

/**
 * A membership node whose user is gone, as an older Capsule leaves it when it removes a user from
 * a repository whose memberships are nodes (it reads no members, so it removes the user node
 * only): made here directly through the repository.
 */
async function leftoverAdministrator(repo: Repository, userId: string): Promise<void> {
  const users = createUserManager({ repo, hasher: fastHasher });
  await users.createUser(userId, { password: 'old-account-pw', groups: ['administrators', 'editors'], createGroups: true });
  const [node] = await repo.findByProperty('userId', userId, 'capsule:User');
  await repo.removeNode(node!.path);
  assert.equal((await repo.findByProperty('member', userId, 'capsule:Membership')).length, 2, 'the leftovers are there');
}

describe('memberships left behind by a removed user', () => {
  it('do not make a user created by the administrator of that id a member of anything', async () => {
    const repo = tempRepository();
    await leftoverAdministrator(repo, 'bob');
    const users = createUserManager({ repo, hasher: fastHasher });
    assert.deepEqual((await users.createUser('bob', { password: 'new-bob-pw-correct-horse', groups: ['editors'] })).groups, ['editors']);
    assert.deepEqual((await users.getGroup('administrators'))?.members, []);
  });

  it('do not make a user created by a replication package a member, not even of the groups the publish keeps for itself', async () => {
    const repo = tempRepository();
    await leftoverAdministrator(repo, 'bob');
    const receiver = createReceiver({ repo, clock: { now: () => Date.now() } });
    const result = await receiver.receive({
      source: 'author-1',
      sequence: 1,
      items: [{ type: 'user', id: 'bob', state: { passwordHash: 'x', disabled: false, generation: 0, groups: [] } }],
    } as never);
    assert.equal((result as { outcome: string }).outcome, 'applied');
    const users = createUserManager({ repo, hasher: fastHasher });
    assert.deepEqual((await users.getUser('bob'))?.groups, []);
    assert.deepEqual((await users.getGroup('administrators'))?.members, []);
  });

  it('do not make a user provisioned from an identity provider a member', async () => {
    const repo = tempRepository();
    await leftoverAdministrator(repo, 'bob');
    const users = createUserManager({ repo, hasher: fastHasher });
    const bob = await users.provisionExternalUser('bob', { provider: 'corp', subject: 'sub-bob', groups: ['staff'] }, { sync: true });
    assert.deepEqual(bob.groups, ['staff']);
  });

  it('do not make a user copied into the repository a member', async () => {
    const source = tempRepository();
    await createUserManager({ repo: source, hasher: fastHasher }).createUser('bob', { password: 'bob-pw-correct-horse' });
    const target = tempRepository();
    await leftoverAdministrator(target, 'bob');
    await copyUsers(source, target);
    const users = createUserManager({ repo: target, hasher: fastHasher });
    assert.deepEqual((await users.getUser('bob'))?.groups, []);
    assert.deepEqual((await users.getGroup('administrators'))?.members, []);
  });

  it('are not made from a legacy members list that names no user: the member is skipped, with a warning', async () => {
    const home = join(tempDir(), 'home');
    const first = await openServices({ home, create: true, hasher: fastHasher, clock: systemClock });
    await first.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    await first.repo.addNode('/home/groups/a/admins', { type: GROUP_TYPE, properties: { groupId: 'admins', members: ['alice', 'ghost'] } });
    await first.close();

    const warnings: string[] = [];
    const second = await openServices({ home, hasher: fastHasher, onWarning: (message) => warnings.push(message), clock: systemClock });
    assert.deepEqual((await second.users.getGroup('admins'))?.members, ['alice']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /'admins'.*'ghost'/);
    assert.deepEqual((await second.users.createUser('ghost', { password: 'ghost-pw-correct-horse' })).groups, []);
    await second.close();
  });
});
