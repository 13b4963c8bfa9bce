import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUserManager } from '../../src/users/index.js';
import { authorizablePath } from '../../src/users/ids.js';
import { membershipPath, MEMBERSHIP_TYPE } from '../../src/users/memberships.js';
import { GROUP_TYPE, GROUPS_ROOT, USER_TYPE, USERS_ROOT } from '../../src/users/types.js';
import { countingRepository } from '../helpers/counting-repository.js';
import { fastHasher, tempRepository } from '../helpers/services.js';

/**
 * `total` users written straight into a real repository in one transaction (no password hashed):
 * every third provisioned by 'corp', every other one a member of 'staff', plus 30 other groups.
 */
async function repositoryOf(total: number) {
  const counting = countingRepository(tempRepository());
  await counting.repo.transaction(async (tx) => {
    const staff = await tx.addNode(authorizablePath(GROUPS_ROOT, 'staff'), { type: GROUP_TYPE, properties: { groupId: 'staff' } });
    for (let group = 0; group < 30; group++) {
      await tx.addNode(authorizablePath(GROUPS_ROOT, `g${group}`), { type: GROUP_TYPE, properties: { groupId: `g${group}` } });
    }
    for (let index = 0; index < total; index++) {
      const id = `user${String(index).padStart(7, '0')}`;
      const external: Record<string, string | string[]> = index % 3 === 0 ? { externalProvider: 'corp', externalSubject: `s${index}`, externalGroups: [], providerUser: `corp:${id}` } : {};
      await tx.addNode(authorizablePath(USERS_ROOT, id), { type: USER_TYPE, properties: { userId: id, disabled: false, generation: 1, ...external } });
      if (index % 2 === 0) await tx.addNode(membershipPath(staff.path, id), { type: MEMBERSHIP_TYPE, properties: { member: id, group: 'staff' } });
    }
  });
  counting.reset();
  return { counting, users: createUserManager({ repo: counting.repo, hasher: fastHasher }) };
}

describe('the cost of a page of users', () => {
  it('reads as many nodes for a page of 50 among 3,000 users as among 1,000, whatever the filter', async () => {
    const queries = [{}, { prefix: 'user00' }, { group: 'staff' }, { provider: 'corp' }, { after: 'user0000500' }, { group: 'staff', provider: 'corp' }];
    const costs = async (total: number) => {
      const { counting, users } = await repositoryOf(total);
      const read: number[] = [];
      for (const query of queries) {
        counting.reset();
        const page = await users.findUsers({ ...query, limit: 50 });
        assert.equal(page.users.length, 50, `a full page for ${JSON.stringify(query)}`);
        read.push(counting.nodesRead());
      }
      counting.reset();
      const groups = await users.findGroups({ limit: 10 });
      assert.equal(groups.groups.length, 10);
      read.push(counting.nodesRead());
      counting.reset();
      assert.equal(await users.countUsers(), total);
      read.push(counting.nodesRead());
      return read;
    };
    const small = await costs(1000);
    const large = await costs(3000);
    assert.deepEqual(large, small, 'nodes read per query, 3,000 users against 1,000');
    assert.ok(small.every((read) => read < 400), `a page reads a few nodes per user listed: ${small.join(', ')}`);
  });
});
