import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createProvisioner } from '../../../src/auth/oidc/index.js';
import { fixedClock } from '../../../src/clock.js';
import { isCapsuleError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/instance/index.js';
import { createArgon2Hasher, createUserManager } from '../../../src/users/index.js';
import { keyedServices } from '../../helpers/keyed-services.js';
import { fastHasher, tempRepository } from '../../helpers/services.js';

const corp = (subject: string, groups: string[]) => ({ provider: 'corp', subject, groups });

describe('users of an external identity provider', () => {
  it('are created without a password, with their groups created where missing, and re-synced', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher });
    await users.createGroup('staff');
    await users.createUser('bob', { password: 'pw-correct-horse', groups: ['staff'] });
    const alice = await users.provisionExternalUser('alice', corp('sub-1', ['editors', 'staff']), { sync: true });
    assert.deepEqual(alice.groups, ['editors', 'staff']);
    assert.equal(await users.authenticate('alice', ''), null);
    assert.equal(await users.authenticate('alice', 'anything'), null);

    await users.createGroup('reviewers');
    await users.addMember('reviewers', 'alice'); // added by an administrator, not by the provider
    const resynced = await users.provisionExternalUser('alice', corp('sub-1', ['staff']), { sync: true });
    assert.deepEqual(resynced.groups, ['reviewers', 'staff'], 'editors left, the hand-added group stays');
    assert.deepEqual((await users.getGroup('staff'))?.members, ['alice', 'bob']);

    const unsynced = await users.provisionExternalUser('alice', corp('sub-1', ['editors']), { sync: false });
    assert.deepEqual(unsynced.groups, ['reviewers', 'staff'], 'without sync an existing user is left as it is');
  });

  it('never take over a local user or another identity', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher });
    await users.createUser('admin', { password: 'pw-correct-horse' });
    await users.provisionExternalUser('carol', corp('sub-carol', []), { sync: true });
    for (const [id, subject] of [['admin', 'sub-admin'], ['carol', 'someone-else']] as const) {
      await assert.rejects(users.provisionExternalUser(id, corp(subject, []), { sync: true }), (error) => isCapsuleError(error, 'USER_EXISTS'));
    }
    await assert.rejects(users.provisionExternalUser('carol', { provider: 'other', subject: 'sub-carol', groups: [] }, { sync: true }), (error) => isCapsuleError(error, 'USER_EXISTS'));
  });

  it('leave a disabled user as it is', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }) });
    await users.provisionExternalUser('dave', corp('sub-dave', ['editors']), { sync: true });
    await users.setDisabled('dave', true);
    const again = await users.provisionExternalUser('dave', corp('sub-dave', []), { sync: true });
    assert.equal(again.disabled, true);
    assert.deepEqual(again.groups, ['editors']);
  });
});

describe('the provisioning claim of a token', () => {
  it('creates the user with the token generation, only for a configured provider, only within the window', async () => {
    const services = await keyedServices();
    after(() => services.close());
    const clock = fixedClock(1_800_000_000_000);
    const provisioner = createProvisioner({ config: services.config, users: services.users, clock, logger: silentLogger() });
    const claim = { p: 'corp', s: 'sub-erin', g: ['editors'], at: 1_800_000_000 };
    assert.equal(await provisioner.apply('erin', claim, 2), null, 'no such provider here');

    await services.config.update('capsule.auth.oidc~corp', { issuer: 'https://login.example.com', 'client.id': 'c', 'client.secret': 's', 'provisioning.max.age.seconds': 600 });
    clock.set(1_800_000_000_000 + 601_000);
    assert.equal(await provisioner.apply('erin', claim, 2), null, 'past the window');
    clock.set(1_800_000_000_000 - 120_000);
    assert.equal(await provisioner.apply('erin', claim, 2), null, 'dated in the future');
    assert.equal(await services.users.getUser('erin'), null);

    clock.set(1_800_000_000_000 + 599_000);
    const erin = await provisioner.apply('erin', claim, 2);
    assert.equal(erin?.generation, 2);
    assert.deepEqual(erin?.groups, ['editors']);
  });
});
