import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapsuleError } from '../../src/errors.js';
import { createUserManager, type PasswordPolicy } from '../../src/users/index.js';
import { fastHasher, tempRepository } from '../helpers/services.js';

/** Twelve characters, on no list of common passwords. */
const UNCOMMON_12 = 'tulip-orbit7';
/** `length` characters of a passphrase, neither common nor repetitive. */
const phrase = (length: number) => 'tulip-orbit-kettle-'.repeat(Math.ceil(length / 19)).slice(0, length);

function refusedFor(rule: RegExp, secret: string) {
  return (error: unknown) => isCapsuleError(error, 'PASSWORD_POLICY') && rule.test(error.message) && !error.message.includes(secret);
}

describe('password policy: what UserManager accepts as a new password', () => {
  it('refuses a password shorter than 12 characters by default, saying so without the password, and creates nothing', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher });
    await assert.rejects(users.createUser('alice', { password: 'eleven-char' }), refusedFor(/^the password is shorter than 12 characters$/, 'eleven-char'));
    assert.equal(await users.getUser('alice'), null);
    assert.equal((await users.createUser('alice', { password: UNCOMMON_12 })).id, 'alice', 'twelve uncommon characters are enough');
    assert.equal((await users.authenticate('alice', UNCOMMON_12))?.id, 'alice');
  });

  it('counts characters, not UTF-16 units: twelve emoji are twelve characters, eleven are too few', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher });
    const emoji = '🔑🐢🌵🎲🧭🪁🔑🐢🌵🎲🧭🪁';
    await assert.rejects(users.createUser('eve', { password: [...emoji].slice(0, 11).join('') }), refusedFor(/shorter than 12/, '🔑'));
    await users.createUser('eve', { password: emoji });
  });

  it('refuses a run of repeated or consecutive characters, which the common list leaves to pattern matchers', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher });
    for (const run of ['111111111111', 'aaaaaaaaaaaa', '123123123123', 'abababababab', 'abcdefghijkl', 'ZYXWVUTSRQPO', '789012345678']) {
      await assert.rejects(users.createUser('gus', { password: run }), refusedFor(/^the password is a run of repeated or consecutive characters; choose another$/, run), run);
    }
    assert.equal(await users.getUser('gus'), null);
    await users.createUser('gus', { password: 'abcdeabcdeab' });
  });

  it('refuses one of the most common passwords whatever its case and surrounding spaces, and keeps the old password on passwd', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher });
    for (const common of ['password1234', 'PassWord1234', '  qwertyuiop123 ']) {
      await assert.rejects(users.createUser('bob', { password: common }), refusedFor(/^the password is one of the most common passwords; choose another$/, common.trim()), common);
    }
    assert.equal(await users.getUser('bob'), null);
    await users.createUser('bob', { password: UNCOMMON_12 });
    await assert.rejects(users.setPassword('bob', 'password1234'), refusedFor(/most common passwords/, 'password1234'));
    await assert.rejects(users.setPassword('bob', 'tiny-pw'), refusedFor(/shorter than 12/, 'tiny-pw'));
    assert.equal((await users.authenticate('bob', UNCOMMON_12))?.id, 'bob', 'the old password still works');
    assert.equal(await users.authenticate('bob', 'password1234'), null);
  });

  it('refuses a password longer than maxLength, and never one longer than 1024 characters', async () => {
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher, passwordPolicy: () => ({ minLength: 12, maxLength: 64 }) });
    await assert.rejects(users.createUser('carol', { password: phrase(65) }), refusedFor(/^the password is longer than 64 characters$/, phrase(65)));
    await users.createUser('carol', { password: phrase(64) });
    const lax = createUserManager({ repo: tempRepository(), hasher: fastHasher, passwordPolicy: () => ({ minLength: 12, maxLength: 5000 }) });
    await assert.rejects(lax.createUser('carol', { password: phrase(1025) }), refusedFor(/longer than 1024 characters/, phrase(1025)));
  });

  it('reads the policy each time a password is set', async () => {
    let policy: PasswordPolicy = { minLength: 16, maxLength: 1024 };
    const users = createUserManager({ repo: tempRepository(), hasher: fastHasher, passwordPolicy: () => policy });
    await assert.rejects(users.createUser('dave', { password: UNCOMMON_12 }), refusedFor(/^the password is shorter than 16 characters$/, UNCOMMON_12));
    policy = { minLength: 12, maxLength: 1024 };
    await users.createUser('dave', { password: UNCOMMON_12 });
  });

  it('applies when a password is set, not when it is checked: a shorter password set before still logs in', async () => {
    const repo = tempRepository();
    // As a Capsule without the policy set it.
    const before = createUserManager({ repo, hasher: fastHasher, passwordPolicy: () => ({ minLength: 1, maxLength: 1024 }) });
    await before.createUser('frank', { password: 'zq7k-frk' });
    const users = createUserManager({ repo, hasher: fastHasher });
    assert.equal((await users.authenticate('frank', 'zq7k-frk'))?.id, 'frank');
    await assert.rejects(users.setPassword('frank', 'zq7k-frk'), refusedFor(/shorter than 12/, 'zq7k-frk'));
  });
});
