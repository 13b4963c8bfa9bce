import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyRepository } from '../../src/repository/copy.js';
import { copyUsers, createUserManager } from '../../src/users/index.js';
import { applyReplicatedUser } from '../../src/users/replicated-state.js';
import { repositoryBackends } from '../helpers/postgres.js';
import { fastHasher, tempRepository } from '../helpers/services.js';

// On each backend: a subject is any string an identity provider sends (PostgreSQL text holds no NUL).
for (const backend of repositoryBackends()) {
  describe(`external users by subject (${backend.name})`, () => {
    it("finds the user a provider provisioned for a subject, not another provider's of the same subject, nor a local user of that id", async () => {
      const repo = await backend.open();
      const users = createUserManager({ repo, hasher: fastHasher });
      await users.provisionExternalUser('ulla', { provider: 'corp', subject: 'same', groups: [] }, { sync: true });
      await users.provisionExternalUser('uwe', { provider: 'corp-2', subject: 'same', groups: [] }, { sync: true });
      await users.createUser('local', { password: 'local-correct-horse-1' });
      assert.deepEqual(await users.findExternalUsers('corp', 'same'), ['ulla']);
      assert.deepEqual(await users.findExternalUsers('corp-2', 'same'), ['uwe']);
      assert.deepEqual(await users.findExternalUsers('corp-3', 'same'), []);
      assert.deepEqual(await users.findExternalUsers('corp', 'local'), [], 'a local user is no subject');
      assert.deepEqual(await users.findExternalUsers('corp', 'sam'), [], 'nor the start of one');
      assert.deepEqual(await users.findExternalUsers('corp', 'SAME'), [], 'nor another case');
      await users.provisionExternalUser('adam', { provider: 'corp', subject: 'same', groups: [] }, { sync: true });
      assert.deepEqual(await users.findExternalUsers('corp', 'same'), ['adam', 'ulla'], 'two users of one subject (the id attribute changed): both, in id order');
    });

    it('finds a subject holding a colon, a percent sign, a NUL or any other character', async () => {
      const repo = await backend.open();
      const users = createUserManager({ repo, hasher: fastHasher });
      const subjects = ['corp-2:same', 'a%00b', 'a\u0000b', 'é 𝄞 \t"\\\'<&>', ''];
      for (const [index, subject] of subjects.entries()) await users.provisionExternalUser(`user${index}`, { provider: 'corp', subject, groups: [] }, { sync: true });
      for (const [index, subject] of subjects.entries()) assert.deepEqual(await users.findExternalUsers('corp', subject), [`user${index}`], JSON.stringify(subject));
      assert.deepEqual(await users.findExternalUsers('corp-2', 'same'), [], "a subject that spells another provider's key is not that provider's");
      assert.deepEqual(await users.findExternalUsers('corp', 'a'), []);
    });

    it('finds a replicated user by its subject, by the new one when the sender changes it, and no longer once the sender says it is local or removed', async () => {
      const repo = await backend.open();
      const users = createUserManager({ repo, hasher: fastHasher });
      const apply = (state: Parameters<typeof applyReplicatedUser>[2]) => repo.transaction((tx) => applyReplicatedUser(tx, 'eve', state, { localGroups: [] }));
      await apply({ disabled: false, generation: 1, groups: [], external: { provider: 'corp', subject: 's-eve', groups: [] } });
      assert.deepEqual(await users.findExternalUsers('corp', 's-eve'), ['eve']);
      await apply({ disabled: false, generation: 1, groups: [], external: { provider: 'corp', subject: 's-eve-2', groups: [] } });
      assert.deepEqual(await users.findExternalUsers('corp', 's-eve'), [], 'the old subject no longer names her');
      assert.deepEqual(await users.findExternalUsers('corp', 's-eve-2'), ['eve']);
      await apply({ disabled: false, generation: 2, groups: [] });
      assert.deepEqual(await users.findExternalUsers('corp', 's-eve-2'), [], 'a local user now');
      assert.equal((await repo.getNode('/home/users/e/eve'))?.properties.providerSubject, undefined);
      await apply({ disabled: false, generation: 3, groups: [], external: { provider: 'corp', subject: 's-eve-2', groups: [] } });
      assert.deepEqual(await users.findExternalUsers('corp', 's-eve-2'), ['eve']);
      await apply(null);
      assert.deepEqual(await users.findExternalUsers('corp', 's-eve-2'), [], 'removed');
    });

    it('finds them in a copy of the repository (capsule repository copy) and after copyUsers: the index is written on the target', async () => {
      const source = tempRepository();
      const from = createUserManager({ repo: source, hasher: fastHasher });
      await from.provisionExternalUser('ulla', { provider: 'corp', subject: 'a\u0000b', groups: [] }, { sync: true });
      const copy = await backend.open();
      await copyRepository(source, copy);
      assert.deepEqual(await createUserManager({ repo: copy, hasher: fastHasher }).findExternalUsers('corp', 'a\u0000b'), ['ulla']);
      const target = await backend.open();
      await copyUsers(source, target);
      assert.deepEqual(await createUserManager({ repo: target, hasher: fastHasher }).findExternalUsers('corp', 'a\u0000b'), ['ulla']);
    });
  });
}
