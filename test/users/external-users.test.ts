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
      assert.equal(await users.findExternalUser('corp', 'same'), 'ulla');
      assert.equal(await users.findExternalUser('corp-2', 'same'), 'uwe');
      assert.equal(await users.findExternalUser('corp-3', 'same'), null);
      assert.equal(await users.findExternalUser('corp', 'local'), null, 'a local user is no subject');
      assert.equal(await users.findExternalUser('corp', 'sam'), null, 'nor the start of one');
      assert.equal(await users.findExternalUser('corp', 'SAME'), null, 'nor another case');
      await users.provisionExternalUser('adam', { provider: 'corp', subject: 'same', groups: [] }, { sync: true });
      assert.equal(await users.findExternalUser('corp', 'same'), 'adam', 'of two users of one subject (the id attribute changed), the lowest id');
    });

    it('finds a subject holding a colon, a percent sign, a NUL or any other character', async () => {
      const repo = await backend.open();
      const users = createUserManager({ repo, hasher: fastHasher });
      const subjects = ['corp-2:same', 'a%00b', 'a\u0000b', 'é 𝄞 \t"\\\'<&>', ''];
      for (const [index, subject] of subjects.entries()) await users.provisionExternalUser(`user${index}`, { provider: 'corp', subject, groups: [] }, { sync: true });
      for (const [index, subject] of subjects.entries()) assert.equal(await users.findExternalUser('corp', subject), `user${index}`, JSON.stringify(subject));
      assert.equal(await users.findExternalUser('corp-2', 'same'), null, "a subject that spells another provider's key is not that provider's");
      assert.equal(await users.findExternalUser('corp', 'a'), null);
    });

    it('finds a replicated user by its subject, by the new one when the sender changes it, and no longer once the sender says it is local or removed', async () => {
      const repo = await backend.open();
      const users = createUserManager({ repo, hasher: fastHasher });
      const apply = (state: Parameters<typeof applyReplicatedUser>[2]) => repo.transaction((tx) => applyReplicatedUser(tx, 'eve', state, { localGroups: [] }));
      await apply({ disabled: false, generation: 1, groups: [], external: { provider: 'corp', subject: 's-eve', groups: [] } });
      assert.equal(await users.findExternalUser('corp', 's-eve'), 'eve');
      await apply({ disabled: false, generation: 1, groups: [], external: { provider: 'corp', subject: 's-eve-2', groups: [] } });
      assert.equal(await users.findExternalUser('corp', 's-eve'), null, 'the old subject no longer names her');
      assert.equal(await users.findExternalUser('corp', 's-eve-2'), 'eve');
      await apply({ disabled: false, generation: 2, groups: [] });
      assert.equal(await users.findExternalUser('corp', 's-eve-2'), null, 'a local user now');
      assert.equal((await repo.getNode('/home/users/e/eve'))?.properties.providerSubject, undefined);
      await apply({ disabled: false, generation: 3, groups: [], external: { provider: 'corp', subject: 's-eve-2', groups: [] } });
      assert.equal(await users.findExternalUser('corp', 's-eve-2'), 'eve');
      await apply(null);
      assert.equal(await users.findExternalUser('corp', 's-eve-2'), null, 'removed');
    });

    it('finds them in a copy of the repository (capsule repository copy) and after copyUsers: the index is written on the target', async () => {
      const source = tempRepository();
      const from = createUserManager({ repo: source, hasher: fastHasher });
      await from.provisionExternalUser('ulla', { provider: 'corp', subject: 'a\u0000b', groups: [] }, { sync: true });
      const copy = await backend.open();
      await copyRepository(source, copy);
      assert.equal(await createUserManager({ repo: copy, hasher: fastHasher }).findExternalUser('corp', 'a\u0000b'), 'ulla');
      const target = await backend.open();
      await copyUsers(source, target);
      assert.equal(await createUserManager({ repo: target, hasher: fastHasher }).findExternalUser('corp', 'a\u0000b'), 'ulla');
    });
  });
}
