import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUserManager } from '../../src/users/index.js';
import { examinedPerPage } from '../../src/users/user-manager.js';
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

describe('a page of a big group filtered by a provider few of its members have', () => {
  /** A group of `members` local users, then the 3 users of 'corp', whose ids sort last. */
  async function bigGroupOf(members: number) {
    const counting = countingRepository(tempRepository());
    await counting.repo.transaction(async (tx) => {
      const staff = await tx.addNode(authorizablePath(GROUPS_ROOT, 'staff'), { type: GROUP_TYPE, properties: { groupId: 'staff' } });
      for (let index = 0; index < members + 3; index++) {
        const id = index < members ? `local${String(index).padStart(7, '0')}` : `zcorp${index}`;
        const external: Record<string, string | string[]> = index < members ? {} : { externalProvider: 'corp', externalSubject: `s${index}`, externalGroups: [], providerUser: `corp:${id}` };
        await tx.addNode(authorizablePath(USERS_ROOT, id), { type: USER_TYPE, properties: { userId: id, disabled: false, generation: 1, ...external } });
        await tx.addNode(membershipPath(staff.path, id), { type: MEMBERSHIP_TYPE, properties: { member: id, group: 'staff' } });
      }
    });
    counting.reset();
    return { counting, users: createUserManager({ repo: counting.repo, hasher: fastHasher }) };
  }

  it('examines at most examinedPerPage members per call: the page may be short, with a next, and the pages together hold every match', async () => {
    const query = { group: 'staff', provider: 'corp', limit: 50 } as const;
    const firstPageCost = async (members: number) => {
      const { counting, users } = await bigGroupOf(members);
      const first = await users.findUsers(query);
      assert.deepEqual(first.users, [], 'no user of corp among the first members examined');
      assert.notEqual(first.next, null, 'an empty page that is not the last says more may follow');
      const read = counting.nodesRead();
      const found: string[] = [];
      let pages = 1;
      for (let after = first.next; after !== null; pages++) {
        counting.reset();
        const page = await users.findUsers({ ...query, after });
        assert.ok(counting.nodesRead() <= 2 * examinedPerPage(50) + 1, `one call reads at most a member and its user per member examined: ${counting.nodesRead()}`);
        found.push(...page.users.map((user) => user.id));
        after = page.next;
      }
      assert.deepEqual(found, [`zcorp${members}`, `zcorp${members + 1}`, `zcorp${members + 2}`]);
      assert.ok(pages >= members / examinedPerPage(50), `${pages} pages`);
      return read;
    };
    const small = await firstPageCost(2500);
    const large = await firstPageCost(5000);
    assert.equal(large, small, 'nodes read by the first page, 5,000 members against 2,500');
  });
});
