import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { openServices } from '../../src/instance/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { snapshotHome } from '../helpers/home-snapshot.js';
import { tempDir } from '../helpers/temp.js';

/** The home's users and groups beside its files and configurations. */
const snapshot = (home: string) => snapshotHome(home, ['/conf', '/home']);

async function authenticates(home: string, user: string, password: string): Promise<boolean> {
  const services = await openServices({ home, clock: systemClock });
  try {
    return (await services.users.authenticate(user, password)) !== null;
  } finally {
    await services.close();
  }
}

describe('capsule users add|passwd: the password policy', () => {
  let home: string;
  before(async () => {
    home = join(tempDir(), 'home');
    const services = await openServices({ home, create: true, clock: systemClock });
    await services.close();
  });

  it('refuses a short password and a common one with exit 2 and the rule that failed, never the password, changing nothing', async () => {
    const before = await snapshot(home);
    const short = await runCliInProcess(['users', 'add', 'alice', '--password-stdin', '--home', home], { stdin: 'eleven-char\n' });
    assert.equal(short.code, 2, short.stderr);
    assert.match(short.stderr, /the password is shorter than 12 characters/);
    const common = await runCliInProcess(['users', 'add', 'alice', '--password-stdin', '--home', home], { stdin: 'Password1234\n' });
    assert.equal(common.code, 2, common.stderr);
    assert.match(common.stderr, /the password is one of the most common passwords/);
    for (const result of [short, common]) assert.ok(!/eleven-char|password1234/i.test(result.stdout + result.stderr.replace('most common passwords', '')), 'the password is not echoed');
    assert.equal(await snapshot(home), before, 'nothing changed');
  });

  it('accepts twelve uncommon characters; passwd refuses a common one and keeps the old password', async () => {
    const added = await runCliInProcess(['users', 'add', 'alice', '--password-stdin', '--home', home], { stdin: 'tulip-orbit7\n' });
    assert.equal(added.code, 0, added.stderr);
    const before = await snapshot(home);
    const refused = await runCliInProcess(['users', 'passwd', 'alice', '--password-stdin', '--home', home], { stdin: 'password1234\n' });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /one of the most common passwords/);
    assert.equal(await snapshot(home), before, 'nothing changed');
    assert.ok(await authenticates(home, 'alice', 'tulip-orbit7'));
  });

  it('takes minLength from capsule.auth.password as the next command reads it', async () => {
    const set = await runCliInProcess(['config', 'set', 'capsule.auth.password', 'minLength=16', '--home', home]);
    assert.equal(set.code, 0, set.stderr);
    const refused = await runCliInProcess(['users', 'add', 'bob', '--password-stdin', '--home', home], { stdin: 'tulip-orbit8\n' });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /the password is shorter than 16 characters/);
    const added = await runCliInProcess(['users', 'add', 'bob', '--password-stdin', '--home', home], { stdin: 'tulip-orbit-8888\n' });
    assert.equal(added.code, 0, added.stderr);
    const tooLax = await runCliInProcess(['config', 'set', 'capsule.auth.password', 'minLength=4', '--home', home]);
    assert.equal(tooLax.code, 2, 'below NIST\'s floor of 8');
    assert.equal((await runCliInProcess(['config', 'set', 'capsule.auth.password', 'minLength=12', '--home', home])).code, 0);
  });
});
