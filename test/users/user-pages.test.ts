import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapsuleError } from '../../src/errors.js';
import { createUserManager, type UserManager } from '../../src/users/index.js';
import { applyReplicatedUser } from '../../src/users/replicated-state.js';
import { membershipPath, MEMBERSHIP_TYPE } from '../../src/users/memberships.js';
import type { Repository } from '../../src/repository/index.js';
import { countingRepository } from '../helpers/counting-repository.js';
import { fastHasher, tempRepository } from '../helpers/services.js';

const PASSWORD = 'pages-correct-horse-1';

async function withUsers(ids: readonly string[]): Promise<{ repo: Repository; users: UserManager }> {
  const repo = tempRepository();
  const users = createUserManager({ repo, hasher: fastHasher });
  for (const id of ids) await users.createUser(id, { password: PASSWORD });
  return { repo, users };
}

async function everyPage(users: UserManager, query: Parameters<UserManager['findUsers']>[0]): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (let page = 0; page < 100; page++) {
    const { users: found, next } = await users.findUsers({ ...query, after });
    pages.push(found.map((user) => user.id));
    if (next === null) return pages;
    assert.equal(next, found.at(-1)?.id, 'next is the last id of the page');
    after = next;
  }
  throw new Error('more than 100 pages');
}

describe('pages of users', () => {
  const IDS = ['bob', 'Alice', 'alice', 'alice.b', 'alice-b', 'al', '0day', 'Zed', 'zed@corp', 'carol'];

  it('pages every user in id order (JavaScript string order), each once, with next on all pages but the last', async () => {
    const { users } = await withUsers(IDS);
    const pages = await everyPage(users, { limit: 3 });
    assert.deepEqual(pages.map((page) => page.length), [3, 3, 3, 1]);
    assert.deepEqual(pages.flat(), [...IDS].sort());
    const first = await users.findUsers();
    assert.equal(first.users.length, IDS.length, 'the default page holds 50');
    assert.equal(first.next, null);
    assert.deepEqual(first.users.find((user) => user.id === 'bob'), await users.getUser('bob'), 'a user as getUser gives it');
  });

  it('filters by id prefix (case-sensitive), clamps the limit, and counts users', async () => {
    const { users } = await withUsers(IDS);
    assert.deepEqual((await everyPage(users, { prefix: 'alice', limit: 2 })).flat(), ['alice', 'alice-b', 'alice.b']);
    assert.deepEqual((await users.findUsers({ prefix: 'A' })).users.map((user) => user.id), ['Alice']);
    assert.deepEqual((await users.findUsers({ prefix: '%' })).users, [], 'a prefix is not a pattern');
    assert.equal((await users.findUsers({ limit: 0 })).users.length, 1, 'a limit below 1 is 1');
    assert.equal(await users.countUsers(), IDS.length);
  });

  it('filters by group: its direct members, paged in id order, without users whose membership outlived them', async () => {
    const { repo, users } = await withUsers(IDS);
    await users.createGroup('editors');
    await users.createGroup('others');
    for (const id of ['zed@corp', 'alice', 'Alice', 'bob', 'carol']) await users.addMember('editors', id);
    await users.addMember('others', 'al');
    // A membership left without its user (an older Capsule, a rollback): never listed.
    const editors = (await users.getGroup('editors'))!;
    await repo.addNode(membershipPath(editors.path, 'ghost'), { type: MEMBERSHIP_TYPE, properties: { member: 'ghost', group: 'editors' } });
    assert.deepEqual(await everyPage(users, { group: 'editors', limit: 2 }), [['Alice', 'alice'], ['bob', 'carol'], ['zed@corp']]);
    assert.deepEqual((await users.findUsers({ group: 'editors', prefix: 'a' })).users.map((user) => user.id), ['alice']);
    assert.deepEqual((await users.findUsers({ group: 'editors', after: 'bob' })).users.map((user) => user.id), ['carol', 'zed@corp']);
    await assert.rejects(users.findUsers({ group: 'nobody' }), (e) => isCapsuleError(e, 'GROUP_NOT_FOUND'));
  });

  it('filters by identity provider: its users only, not a local user nor another provider with a longer name', async () => {
    const { users } = await withUsers(['local1', 'corpuser']);
    await users.provisionExternalUser('zoe', { provider: 'corp', subject: 's-zoe', groups: ['staff'] }, { sync: true });
    await users.provisionExternalUser('Bob', { provider: 'corp', subject: 's-bob', groups: [] }, { sync: true });
    await users.provisionExternalUser('amy', { provider: 'corp', subject: 's-amy', groups: ['staff'] }, { sync: true });
    await users.provisionExternalUser('dan', { provider: 'corp-2', subject: 's-dan', groups: ['staff'] }, { sync: true });
    assert.deepEqual(await everyPage(users, { provider: 'corp', limit: 2 }), [['Bob', 'amy'], ['zoe']]);
    assert.deepEqual((await users.findUsers({ provider: 'corp-2' })).users.map((user) => user.id), ['dan']);
    assert.deepEqual((await users.findUsers({ provider: 'corp', prefix: 'a' })).users.map((user) => user.id), ['amy']);
    assert.deepEqual((await users.findUsers({ provider: 'corp', after: 'amy' })).users.map((user) => user.id), ['zoe']);
    assert.deepEqual((await users.findUsers({ provider: 'cor' })).users, []);
    assert.deepEqual(await everyPage(users, { provider: 'corp', group: 'staff', limit: 1 }), [['amy'], ['zoe']], 'both filters: members of the group from that provider');
  });

  it('finds a replicated user by its provider, and no longer once the sender says it is local', async () => {
    const repo = tempRepository();
    const users = createUserManager({ repo, hasher: fastHasher });
    const external = { provider: 'corp', subject: 's-eve', groups: [] };
    await repo.transaction((tx) => applyReplicatedUser(tx, 'eve', { disabled: false, generation: 1, groups: [], external }, { localGroups: [] }));
    assert.deepEqual((await users.findUsers({ provider: 'corp' })).users.map((user) => user.id), ['eve']);
    await repo.transaction((tx) => applyReplicatedUser(tx, 'eve', { disabled: false, generation: 2, groups: [] }, { localGroups: [] }));
    assert.deepEqual((await users.findUsers({ provider: 'corp' })).users, []);
  });
});

describe('counts of users, groups and members', () => {
  it('counts once while nothing changes, and again after any change, made here or by another process', async () => {
    const counting = countingRepository(tempRepository());
    const users = createUserManager({ repo: counting.repo, hasher: fastHasher });
    // Another process on the same repository: its own manager, not told of this one's changes.
    const other = createUserManager({ repo: counting.repo, hasher: fastHasher });
    await users.createUser('ann', { password: PASSWORD, groups: ['staff'], createGroups: true });
    const counts = async () => [await users.countUsers(), await users.countGroups(), (await users.findGroups()).groups.map((group) => group.memberCount)];
    assert.deepEqual(await counts(), [1, 1, [1]]);
    counting.reset();
    assert.deepEqual(await counts(), [1, 1, [1]]);
    assert.equal(counting.calls('countByType') + counting.calls('countChildren'), 0, 'kept while the users counter stays');
    await other.createUser('ben', { password: PASSWORD, groups: ['staff'] });
    assert.deepEqual(await counts(), [2, 1, [2]]);
    await other.createGroup('ops');
    assert.deepEqual(await counts(), [2, 2, [0, 2]]);
    await other.removeUser('ann');
    assert.deepEqual(await counts(), [1, 2, [0, 1]]);
  });
});

describe('pages of groups', () => {
  it('pages groups in id order with their member counts, filtered by prefix', async () => {
    const { users } = await withUsers(['a1', 'a2', 'a3']);
    for (const id of ['staff', 'Admins', 'editors', 'editors-eu']) await users.createGroup(id);
    for (const id of ['a1', 'a2', 'a3']) await users.addMember('staff', id);
    await users.addMember('editors', 'a1');
    const first = await users.findGroups({ limit: 2 });
    assert.deepEqual(first.groups.map(({ id, memberCount }) => [id, memberCount]), [['Admins', 0], ['editors', 1]]);
    assert.equal(first.next, 'editors');
    const second = await users.findGroups({ limit: 2, after: first.next! });
    assert.deepEqual(second.groups.map(({ id, memberCount }) => [id, memberCount]), [['editors-eu', 0], ['staff', 3]]);
    assert.equal(second.next, null);
    assert.deepEqual((await users.findGroups({ prefix: 'editors' })).groups.map((group) => group.id), ['editors', 'editors-eu']);
  });
});
