import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapsuleError } from '../../src/errors.js';
import { createUserManager } from '../../src/users/index.js';
import { BENCH_GROUP, BENCH_PASSWORD, BENCH_PROVIDER, benchUserId, writeBenchUsers } from '../../bench/user-home.js';
import { fastHasher, tempRepository } from '../helpers/services.js';

// The bench's bulk-written users must be users as UserManager made them: found by id, signed in
// with the shared password, in their group, with their provider; otherwise its figures are of something else.
describe('the million-user bench home (bench/user-home.ts)', () => {
  it('writes users that the user manager finds, signs in and filters like its own', async () => {
    const repo = tempRepository();
    const users = createUserManager({ repo, hasher: fastHasher });
    await writeBenchUsers(repo, 250, await fastHasher.hash(BENCH_PASSWORD));

    assert.equal(await users.countUsers(), 250);
    assert.equal(benchUserId(7), 'user-0000007');
    assert.deepEqual((await users.authenticate('user-0000107', BENCH_PASSWORD))?.groups, [BENCH_GROUP]);
    assert.equal(await users.authenticate('user-0000108', 'another password'), null);
    assert.equal(await users.getUser('user-0000251'), null);
    assert.deepEqual(await users.externalIdentityOf('user-0000142'), { provider: BENCH_PROVIDER, subject: 'subject-142' });
    assert.equal(await users.externalIdentityOf('user-0000143'), null);
    assert.deepEqual((await users.findUsers({ group: BENCH_GROUP })).users.map((user) => user.id), ['user-0000007', 'user-0000107', 'user-0000207']);
    assert.deepEqual((await users.findUsers({ provider: BENCH_PROVIDER })).users.map((user) => user.id), ['user-0000042', 'user-0000142', 'user-0000242']);
    assert.deepEqual((await users.findGroups()).groups.map(({ id, memberCount }) => ({ id, memberCount })), [{ id: BENCH_GROUP, memberCount: 3 }]);
    await assert.rejects(users.createUser('user-0000001', { password: 'a-new-password-for-the-test' }), (error) => isCapsuleError(error, 'USER_EXISTS'));
  });
});
