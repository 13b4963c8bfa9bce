import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';
import { authorizablePath } from '../../src/users/ids.js';
import { membershipPath, MEMBERSHIP_TYPE } from '../../src/users/memberships.js';
import { GROUPS_ROOT, USER_TYPE, USERS_ROOT } from '../../src/users/types.js';

type UsersJson = { users: Array<{ id: string; groups: string[] }>; next: string | null };

describe('capsule users list and groups list, a page at a time', () => {
  let home: string;
  // Users provisioned as an identity provider would (no password to hash): corp's in 'staff'.
  const CORP = ['amy', 'Bob', 'carl', 'dora', 'eve'];
  before(async () => {
    home = join(tempDir(), 'home');
    const services = await openServices({ home, create: true, clock: systemClock });
    for (const id of CORP) await services.users.provisionExternalUser(id, { provider: 'corp', subject: `s-${id}`, groups: ['staff'] }, { sync: true });
    await services.users.provisionExternalUser('zed', { provider: 'corp-eu', subject: 's-zed', groups: [] }, { sync: true });
    for (const id of ['editors', 'editors-eu', 'ops']) await services.users.createGroup(id);
    await services.users.createUser('admin', { password: 'admin-pw-correct-horse', groups: ['administrators'], createGroups: true });
    await services.close();
  });

  it('prints one page and a line naming the command for the next, which prints the next page', async () => {
    const first = await runCli(['users', 'list', '--limit', '2', '--home', home]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^ID\s+GROUPS\s+STATE\nBob\s+staff\s+enabled\nadmin\s+administrators\s+enabled\n/);
    assert.ok(first.stdout.endsWith(`more follow: capsule users list --limit 2 --home ${home} --after admin\n`), 'the next command names the same home');
    const second = await runCli(['users', 'list', '--limit', '2', '--after', 'admin', '--home', home]);
    assert.match(second.stdout, /^ID\s+GROUPS\s+STATE\namy\s.*\ncarl\s.*\n/);
    assert.ok(second.stdout.endsWith(`more follow: capsule users list --limit 2 --home ${home} --after carl\n`));
    const filtered = await runCli(['users', 'list', '--provider', 'corp', '--prefix', 'd e', '--limit', '1', '--home', home]);
    assert.equal(filtered.code, 0, filtered.stderr);
    assert.match(filtered.stdout, /^ID\s+GROUPS\s+STATE\n$/, 'no user begins with "d e"');
  });

  it('filters by prefix, group and provider, and prints {users, next} for scripts', async () => {
    const ids = async (args: string[]) => jsonOf<UsersJson>(await runCli(['users', 'list', ...args, '--json', '--home', home]));
    assert.deepEqual((await ids(['--provider', 'corp'])).users.map((user) => user.id), ['Bob', 'amy', 'carl', 'dora', 'eve']);
    assert.deepEqual((await ids(['--provider', 'corp-eu'])).users.map((user) => user.id), ['zed']);
    assert.deepEqual((await ids(['--group', 'staff', '--prefix', 'd'])).users.map((user) => user.id), ['dora']);
    const page = await ids(['--group', 'staff', '--limit', '2']);
    assert.deepEqual([page.users.map((user) => user.id), page.next], [['Bob', 'amy'], 'amy']);
    assert.deepEqual((await ids(['--prefix', 'a'])).users.map((user) => user.id), ['admin', 'amy']);
  });

  it('prints every page with --all, the header once, and one JSON document', async () => {
    const all = await runCli(['users', 'list', '--all', '--limit', '2', '--home', home]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trim().split('\n');
    assert.deepEqual(lines.map((line) => line.split(/\s+/)[0]), ['ID', 'Bob', 'admin', 'amy', 'carl', 'dora', 'eve', 'zed']);
    const json = jsonOf<UsersJson>(await runCli(['users', 'list', '--all', '--limit', '3', '--json', '--home', home]));
    assert.deepEqual(json.users.map((user) => user.id), ['Bob', 'admin', 'amy', 'carl', 'dora', 'eve', 'zed']);
    assert.equal(json.next, null);
    const after = jsonOf<UsersJson>(await runCli(['users', 'list', '--all', '--after', 'dora', '--limit', '1', '--json', '--home', home]));
    assert.deepEqual(after.users.map((user) => user.id), ['eve', 'zed']);
  });

  it('lists groups with their member counts, paged and filtered', async () => {
    const groups = jsonOf<{ groups: Array<{ id: string; memberCount: number }>; next: string | null }>(
      await runCli(['groups', 'list', '--limit', '3', '--json', '--home', home]),
    );
    assert.deepEqual(groups, { groups: [{ id: 'administrators', memberCount: 1 }, { id: 'editors', memberCount: 0 }, { id: 'editors-eu', memberCount: 0 }], next: 'editors-eu' });
    const text = await runCli(['groups', 'list', '--prefix', 'editors', '--home', home]);
    assert.match(text.stdout, /^GROUP\s+MEMBERS\neditors\s+0\neditors-eu\s+0\n$/);
    const rest = await runCli(['groups', 'list', '--limit', '3', '--after', 'editors-eu', '--home', home]);
    assert.match(rest.stdout, /^GROUP\s+MEMBERS\nops\s+0\nstaff\s+5\n$/);
  });

  it('refuses a bad limit and an unknown group with one line and exit 2', async () => {
    for (const [args, message] of [
      [['users', 'list', '--limit', '0'], /--limit 0: a whole number from 1 to 1000/],
      [['users', 'list', '--limit', '1001'], /--limit 1001: a whole number from 1 to 1000/],
      [['groups', 'list', '--limit', 'ten'], /--limit ten: a whole number from 1 to 1000/],
      [['users', 'list', '--group', 'nope'], /no group 'nope'/],
    ] as const) {
      const result = await runCli([...args, '--home', home]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1);
    }
  });

  it('checks --limit before it opens the home', async () => {
    const result = await runCli(['users', 'list', '--limit', '5000', '--home', join(tempDir(), 'nowhere')]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'capsule: --limit 5000: a whole number from 1 to 1000\n');
  });

  it('says how to page in --help', async () => {
    const help = await runCli(['users', 'list', '--help']);
    for (const option of ['--prefix', '--group', '--provider', '--after', '--limit', '--all', '--json']) assert.ok(help.stdout.includes(option), option);
    assert.ok((await runCli(['groups', 'list', '--help'])).stdout.includes('--after'));
  });
});

describe('capsule users list --group --provider on a big group with few users of the provider', () => {
  it('prints a page with no user that still says more follow, and --all goes on to the match', async () => {
    const home = join(tempDir(), 'home');
    const services = await openServices({ home, create: true, clock: systemClock });
    await services.users.createGroup('crowd');
    const crowd = (await services.repo.getNode(authorizablePath(GROUPS_ROOT, 'crowd')))!;
    // 1,000 local members whose ids sort before corp's zara (written at once: no password hashed).
    await services.repo.transaction(async (tx) => {
      for (let index = 0; index < 1000; index++) {
        const id = `local${String(index).padStart(4, '0')}`;
        await tx.addNode(authorizablePath(USERS_ROOT, id), { type: USER_TYPE, properties: { userId: id, disabled: false, generation: 1 } });
        await tx.addNode(membershipPath(crowd.path, id), { type: MEMBERSHIP_TYPE, properties: { member: id, group: 'crowd' } });
      }
    });
    await services.users.provisionExternalUser('zara', { provider: 'corp', subject: 's-zara', groups: ['crowd'] }, { sync: true });
    await services.close();

    const first = await runCli(['users', 'list', '--group', 'crowd', '--provider', 'corp', '--home', home]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `ID  GROUPS  STATE\nmore follow: capsule users list --group crowd --provider corp --home ${home} --after local0999\n`);
    const all = jsonOf<UsersJson>(await runCli(['users', 'list', '--group', 'crowd', '--provider', 'corp', '--all', '--json', '--home', home]));
    assert.deepEqual([all.users.map((user) => user.id), all.next], [['zara'], null]);
  });
});
