import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapsuleError } from '../../src/errors.js';
import { createArgon2Hasher, createUserManager } from '../../src/users/index.js';
import { fastHasher, tempRepository } from '../helpers/services.js';

function manager() {
  return createUserManager({ repo: tempRepository(), hasher: fastHasher });
}

describe('password hashing', () => {
  it('stores argon2id hashes that verify only the right password', async () => {
    const hasher = createArgon2Hasher();
    const hash = await hasher.hash('correct horse');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await hasher.verify(hash, 'correct horse'), true);
    assert.equal(await hasher.verify(hash, 'correct horsE'), false);
    assert.equal(await hasher.verify('not-a-hash', 'x'), false, 'a damaged hash is a wrong password, not a crash');
  });
});

describe('users', () => {
  it('creates a user under /home/users whose password authenticates', async () => {
    const users = manager();
    const alice = await users.createUser('alice', { password: 's3cret!-correct-horse' });
    assert.equal(alice.path, '/home/users/a/alice');
    assert.deepEqual(alice.groups, []);
    assert.equal((await users.authenticate('alice', 's3cret!-correct-horse'))?.id, 'alice');
    assert.equal(await users.authenticate('alice', 'wrong'), null);
    assert.equal(await users.authenticate('nobody', 's3cret!-correct-horse'), null);
    assert.equal(await users.authenticate('../etc', 'x'), null, 'an invalid id is just an unknown user');
  });

  it('never stores the password itself', async () => {
    const repo = tempRepository();
    const users = createUserManager({ repo, hasher: fastHasher });
    await users.createUser('bob', { password: 'plain-text-password' });
    const node = await repo.getNode('/home/users/b/bob');
    assert.ok(!JSON.stringify(node).includes('plain-text-password'));
  });

  it('refuses duplicate ids, also across users and groups', async () => {
    const users = manager();
    await users.createUser('alice', { password: 'x-correct-horse' });
    await assert.rejects(users.createUser('alice', { password: 'y-correct-horse' }), (e) => isCapsuleError(e, 'USER_EXISTS'));
    await assert.rejects(users.createGroup('alice'), (e) => isCapsuleError(e, 'USER_EXISTS'));
    assert.equal((await users.authenticate('alice', 'x-correct-horse'))?.id, 'alice', 'the first password still works');
  });

  it('refuses empty, too long and path-breaking ids with a message saying why', async () => {
    const users = manager();
    await assert.rejects(users.createUser('', { password: 'x-correct-horse' }), (e) => isCapsuleError(e, 'INVALID_ID') && /empty/.test(e.message));
    await assert.rejects(users.createUser('a'.repeat(129), { password: 'x-correct-horse' }), (e) => isCapsuleError(e, 'INVALID_ID') && /longer/.test(e.message));
    for (const bad of ['a/b', '../x', 'a b', '.hidden', 'tab\t']) {
      await assert.rejects(users.createUser(bad, { password: 'x-correct-horse' }), (e) => isCapsuleError(e, 'INVALID_ID'), bad);
    }
    await assert.rejects(users.createUser('ok', { password: '' }), (e) => isCapsuleError(e, 'INVALID_ARGUMENT'));
    assert.deepEqual(await users.listUsers(), []);
  });

  it('never hashes a login password longer than any password can be, and refuses it like a wrong one', async () => {
    const lengths: number[] = [];
    const recording = { ...fastHasher, verify: (hash: string, password: string) => (lengths.push(password.length), fastHasher.verify(hash, password)) };
    const users = createUserManager({ repo: tempRepository(), hasher: recording });
    const password = 'correct-horse-'.repeat(74).slice(0, 1024);
    await users.createUser('alice', { password });
    assert.equal((await users.authenticate('alice', password))?.id, 'alice', 'the longest password a user can have works');
    assert.equal(await users.authenticate('alice', password + 'x'.repeat(900_000)), null);
    assert.equal(await users.authenticate('nobody', 'x'.repeat(900_000)), null);
    assert.ok(Math.max(...lengths) <= 1024, `hashed at most 1024 characters, not ${Math.max(...lengths)}`);
  });

  it('disables and enables: a disabled user cannot authenticate', async () => {
    const users = manager();
    await users.createUser('carol', { password: 'pw-correct-horse' });
    assert.equal((await users.setDisabled('carol', true)).disabled, true);
    assert.equal(await users.authenticate('carol', 'pw-correct-horse'), null);
    await users.setDisabled('carol', false);
    assert.equal((await users.authenticate('carol', 'pw-correct-horse'))?.id, 'carol');
  });

  it('disabling raises the token generation once: enabled again, no token or session of before works', async () => {
    const users = manager();
    await users.createUser('cora', { password: 'pw-correct-horse' });
    assert.equal((await users.setDisabled('cora', true)).generation, 1);
    assert.equal((await users.setDisabled('cora', true)).generation, 1, 'already disabled: nothing more');
    assert.equal((await users.setDisabled('cora', false)).generation, 1);
  });

  it('a user deleted and created again starts past the deleted one\'s generation (its tokens and sessions are not the new one\'s)', async () => {
    const users = manager();
    await users.createUser('sam', { password: 'pw-correct-horse' });
    await users.incrementGeneration('sam');
    await users.incrementGeneration('sam');
    await users.removeUser('sam');
    assert.equal((await users.createUser('sam', { password: 'pw-other-horse-1' })).generation, 3);
    await users.removeUser('sam');
    const again = await users.provisionExternalUser('sam', { provider: 'corp', subject: 's-1', groups: [] }, { sync: true });
    assert.equal(again.generation, 4);
  });

  it('changes passwords and raises the token generation', async () => {
    const users = manager();
    await users.createUser('dave', { password: 'old-correct-horse' });
    await users.setPassword('dave', 'new-correct-horse');
    assert.equal(await users.authenticate('dave', 'old-correct-horse'), null);
    assert.equal((await users.authenticate('dave', 'new-correct-horse'))?.generation, 1, 'a new password ends every token and session of before');
    assert.equal((await users.incrementGeneration('dave')).generation, 2);
    await assert.rejects(users.setPassword('nobody', 'x-correct-horse'), (e) => isCapsuleError(e, 'USER_NOT_FOUND'));
  });

  it('removes a user and its group memberships', async () => {
    const users = manager();
    await users.createGroup('editors');
    await users.createUser('erin', { password: 'pw-correct-horse', groups: ['editors'] });
    assert.deepEqual((await users.getUser('erin'))?.groups, ['editors']);
    await users.removeUser('erin');
    assert.equal(await users.getUser('erin'), null);
    assert.deepEqual((await users.getGroup('editors'))?.members, []);
    await assert.rejects(users.removeUser('erin'), (e) => isCapsuleError(e, 'USER_NOT_FOUND'));
  });
});

describe('groups', () => {
  it('adds and removes members, and knows each user\'s groups', async () => {
    const users = manager();
    await users.createGroup('editors');
    await users.createGroup('authors');
    await users.createUser('frank', { password: 'pw-correct-horse' });
    await users.addMember('editors', 'frank');
    await users.addMember('authors', 'frank');
    await users.addMember('authors', 'frank'); // twice is once
    assert.deepEqual((await users.getUser('frank'))?.groups, ['authors', 'editors']);
    assert.deepEqual((await users.getGroup('authors'))?.members, ['frank']);
    await users.removeMember('editors', 'frank');
    assert.deepEqual((await users.getUser('frank'))?.groups, ['authors']);
    assert.deepEqual((await users.listGroups()).map((g) => g.id), ['authors', 'editors']);
  });

  it('creates a user with groups that do not exist yet only when asked, in one transaction, and rejects (never throws) bad group ids', async () => {
    const users = manager();
    await assert.rejects(users.createUser('gina', { password: 'pw-correct-horse', groups: ['staff'] }), (e) => isCapsuleError(e, 'GROUP_NOT_FOUND'));
    const gina = await users.createUser('gina', { password: 'pw-correct-horse', groups: ['staff', 'staff', 'night-shift'], createGroups: true });
    assert.deepEqual(gina.groups, ['night-shift', 'staff']);
    assert.deepEqual((await users.listGroups()).map((g) => [g.id, g.members]), [['night-shift', ['gina']], ['staff', ['gina']]]);
    // Refused as a whole: the new group of a user that cannot be made is not left behind.
    await assert.rejects(users.createUser('gina', { password: 'pw-correct-horse', groups: ['late-shift'], createGroups: true }), (e) => isCapsuleError(e, 'USER_EXISTS'));
    await assert.rejects(users.createUser('hal', { password: 'pw-correct-horse', groups: ['hal'], createGroups: true }), (e) => isCapsuleError(e, 'USER_EXISTS'));
    await assert.rejects(users.createUser('ivy', { password: 'pw-correct-horse', groups: ['bad group'], createGroups: true }), (e) => isCapsuleError(e, 'INVALID_ID'));
    assert.deepEqual((await users.listGroups()).map((g) => g.id), ['night-shift', 'staff']);
    assert.equal(await users.getUser('hal'), null);
    const pending = users.createGroup('bad group'); // a promise, even for a bad id
    await assert.rejects(pending, (e) => isCapsuleError(e, 'INVALID_ID'));
  });

  it('refuses unknown groups and users, changing nothing', async () => {
    const users = manager();
    await users.createGroup('editors');
    await assert.rejects(users.addMember('editors', 'ghost'), (e) => isCapsuleError(e, 'USER_NOT_FOUND'));
    await assert.rejects(users.addMember('ghosts', 'x'), (e) => isCapsuleError(e, 'GROUP_NOT_FOUND'));
    await assert.rejects(users.createUser('gina', { password: 'pw-correct-horse', groups: ['nope'] }), (e) => isCapsuleError(e, 'GROUP_NOT_FOUND'));
    assert.equal(await users.getUser('gina'), null, 'the user was not half-created');
  });

  it('tells listeners about changes', async () => {
    const users = manager();
    const seen: Array<string | null> = [];
    users.onChange((id) => seen.push(id));
    await users.createUser('hank', { password: 'pw-correct-horse' });
    await users.setDisabled('hank', true);
    await users.createGroup('g');
    assert.deepEqual(seen, ['hank', 'hank', null]);
  });
});
