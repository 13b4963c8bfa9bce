import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

async function newHome(): Promise<string> {
  const home = join(tempDir(), 'home');
  const services = await openServices({ home, create: true, clock: systemClock });
  await services.close();
  return home;
}

describe('capsule users and groups', () => {
  let home: string;
  before(async () => {
    home = await newHome();
  });

  it('adds a user with its password from standard input, in groups, and lists it', async () => {
    assert.equal((await runCliInProcess(['groups', 'add', 'editors', '--home', home])).code, 0);
    const added = await runCliInProcess(['users', 'add', 'alice', '--password-stdin', '--group', 'editors', '--home', home], { stdin: 'pw-alice-correct-horse\n' });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added user alice \(editors\)/);
    const list = await runCliInProcess(['users', 'list', '--json', '--home', home]);
    assert.deepEqual(jsonOf(list), { users: [{ id: 'alice', groups: ['editors'], disabled: false, generation: 0 }], next: null });
    const text = await runCliInProcess(['users', 'list', '--home', home]);
    assert.match(text.stdout, /^ID\s+GROUPS\s+STATE\nalice\s+editors\s+enabled\n$/);
  });

  it('changes the password, disables and enables, with the trailing newline of stdin not part of it', async () => {
    const services = async () => openServices({ home, clock: systemClock });
    await runCliInProcess(['users', 'add', 'bob', '--password-stdin', '--home', home], { stdin: 'first-password\n' });
    assert.equal((await runCliInProcess(['users', 'passwd', 'bob', '--password-stdin', '--home', home], { stdin: 'second-password\r\n' })).code, 0);
    let s = await services();
    assert.equal(await s.users.authenticate('bob', 'first-password'), null);
    assert.equal((await s.users.authenticate('bob', 'second-password'))?.id, 'bob');
    await s.close();
    assert.equal((await runCliInProcess(['users', 'disable', 'bob', '--home', home])).code, 0);
    s = await services();
    assert.equal(await s.users.authenticate('bob', 'second-password'), null);
    await s.close();
    const enabled = await runCliInProcess(['users', 'enable', 'bob', '--json', '--home', home]);
    assert.equal(jsonOf<{ disabled: boolean }>(enabled).disabled, false);
  });

  it('manages group members and removes users', async () => {
    await runCliInProcess(['users', 'add', 'carol', '--password-stdin', '--home', home], { stdin: 'pw-correct-horse' });
    await runCliInProcess(['groups', 'add', 'authors', '--home', home]);
    assert.equal((await runCliInProcess(['groups', 'add-member', 'authors', 'carol', '--home', home])).code, 0);
    const members = async (group: string) =>
      jsonOf<{ users: Array<{ id: string }> }>(await runCliInProcess(['users', 'list', '--group', group, '--json', '--home', home])).users.map((u) => u.id);
    const memberCount = async (group: string) =>
      jsonOf<{ groups: Array<{ id: string; memberCount: number }> }>(await runCliInProcess(['groups', 'list', '--json', '--home', home])).groups.find((g) => g.id === group)?.memberCount;
    assert.deepEqual(await members('authors'), ['carol']);
    assert.equal(await memberCount('authors'), 1);
    const carolsGroups = async () =>
      jsonOf<{ users: Array<{ id: string; groups: string[] }> }>(await runCliInProcess(['users', 'list', '--json', '--home', home])).users.find((u) => u.id === 'carol')?.groups;
    assert.deepEqual(await carolsGroups(), ['authors']);

    assert.equal((await runCliInProcess(['groups', 'remove-member', 'authors', 'carol', '--home', home])).code, 0);
    assert.deepEqual(await members('authors'), [], 'remove-member took carol out of the group');
    assert.equal(await memberCount('authors'), 0);
    assert.deepEqual(await carolsGroups(), [], 'and carol no longer lists the group');

    assert.equal((await runCliInProcess(['groups', 'add-member', 'authors', 'carol', '--home', home])).code, 0);
    assert.deepEqual(await members('authors'), ['carol']);
    assert.equal((await runCliInProcess(['users', 'remove', 'carol', '--home', home])).code, 0);
    assert.deepEqual(await members('authors'), [], 'a removed user leaves its groups');
    assert.equal(await memberCount('authors'), 0);
    assert.equal(await carolsGroups(), undefined, 'and is gone');
  });

  it('refuses bad input with one line, exit 2, and writes nothing', async () => {
    const before = (await runCliInProcess(['users', 'list', '--json', '--home', home])).stdout;
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [['users', 'add', 'alice', '--password-stdin'], 'x-correct-horse', /already exists/],
      [['users', 'add', 'bad/id', '--password-stdin'], 'x-correct-horse', /may use only letters/],
      [['users', 'add', 'dora'], undefined, /--password-stdin/],
      [['users', 'add', 'dora', '--password-stdin'], '', /no password/],
      [['users', 'add', 'dora', '--password-stdin', '--group', 'nope'], 'x-correct-horse', /no group 'nope'/],
      [['users', 'add'], undefined, /missing required argument/],
      [['users', 'add', 'dora', '--colour', 'red'], undefined, /unknown option/],
      [['users', 'remove', 'ghost'], undefined, /no user 'ghost'/],
      [['groups', 'add-member', 'editors', 'ghost'], undefined, /no user 'ghost'/],
      [['users', 'frobnicate'], undefined, /unknown command/],
    ];
    for (const [args, stdin, message] of cases) {
      const result = await runCliInProcess([...args, '--home', home], { stdin });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${result.stderr}`);
    }
    assert.equal((await runCliInProcess(['users', 'list', '--json', '--home', home])).stdout, before);
  });

  it('gives a JSON error to scripts', async () => {
    const result = await runCliInProcess(['users', 'remove', 'ghost', '--json', '--home', home]);
    assert.equal(result.code, 2);
    assert.deepEqual(jsonOf(result), { error: { code: 'USER_NOT_FOUND', message: "no user 'ghost'" } });
  });
});

describe('capsule on a home that cannot be read', () => {
  it('says so and exits 2, creating nothing', async () => {
    const parent = tempDir();
    const missing = join(parent, 'nowhere');
    const result = await runCliInProcess(['users', 'list', '--home', missing]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^capsule: no Capsule home at .*nowhere; start an instance there first/);
    assert.equal(existsSync(missing), false, 'users list created no home');
    const viaEnv = await runCliInProcess(['groups', 'list'], { env: { CAPSULE_HOME: missing } });
    assert.equal(viaEnv.code, 2);
    assert.match(viaEnv.stderr, /nowhere/);
    assert.deepEqual(readdirSync(parent), [], 'nothing was written beside it either');
  });
});
