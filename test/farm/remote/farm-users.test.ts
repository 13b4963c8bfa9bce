import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { jsonOf } from '../../helpers/cli.js';
import { login, sessionStatus } from '../../helpers/http.js';
import { adminToken, runIn, startRemoteFarm, type Member, type RemoteFarm } from '../../helpers/remote-farm.js';

// `capsule farm users list | disable | enable | logout-everywhere`: on the author through its admin
// API, replicated to the publish; real instances on 127.0.0.2 (author) and 127.0.0.3 (publish-1).

const PASSWORD = 'pw-farm-user-correct-horse';

interface Listed {
  author: string;
  users: Array<{ id: string; disabled: boolean; generation: number; groups: string[] }>;
  next: string | null;
}

let farm: RemoteFarm;
let author: Member;
let publish: Member;

async function signInStatus(member: Member, user: string): Promise<number> {
  const response = await fetch(`${member.url}/j_security_check`, { method: 'POST', body: new URLSearchParams({ j_username: user, j_password: PASSWORD }) });
  await response.arrayBuffer();
  return response.status;
}

async function listed(args: readonly string[] = []): Promise<Listed> {
  return jsonOf<Listed>(await farm.cli(['farm', 'users', 'list', '--manifest', 'farm.json', '--json', ...args]));
}

async function post(member: Member, path: string, headers: Record<string, string>, body: object): Promise<Response> {
  return fetch(`${member.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('farm users list, disable, enable, logout-everywhere', () => {
  before(async () => {
    farm = await startRemoteFarm(2);
    [author, publish] = farm.members as [Member, Member];
    for (const [id, group] of [['amy', 'editors'], ['ann', 'editors'], ['bob', 'readers']] as const) {
      const add = ['farm', 'users', 'add', id, '--password-stdin', '--group', group, '--manifest', 'farm.json', '--wait', '20'];
      const added = await runIn(farm.workDir, add, { CAPSULE_ADMIN_PASSWORD: farm.adminPassword }, PASSWORD);
      assert.equal(added.code, 0, added.stderr);
    }
  });

  it('lists the author’s users a page at a time, by prefix and group, and names the next page', async () => {
    const first = await farm.cli(['farm', 'users', 'list', '--manifest', 'farm.json', '--prefix', 'a', '--limit', '2']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^ID\s+STATE\s+GENERATION\s+GROUPS\nadmin\s+enabled\s+\d+\s+administrators\namy\s+enabled\s+\d+\s+editors\n$/);
    assert.equal(first.stderr.trim(), 'more users: add --after amy for the next page');
    const second = await listed(['--prefix', 'a', '--limit', '2', '--after', 'amy']);
    assert.deepEqual(second.users.map((user) => user.id), ['ann']);
    assert.equal(second.next, null, 'the last page');
    assert.equal(second.author, 'author');
    assert.deepEqual((await listed(['--group', 'readers'])).users.map((user) => user.id), ['bob']);
    assert.deepEqual((await listed(['--prefix', 'zz'])).users, []);
    const none = await farm.cli(['farm', 'users', 'list', '--manifest', 'farm.json', '--prefix', 'zz']);
    assert.equal(none.stdout.trim(), 'no users match on author');
    const refused = await farm.cli(['farm', 'users', 'list', '--manifest', 'farm.json', '--limit', '0']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--limit 0: give 1 to 1000/);
  });

  it('disable ends the user’s tokens and sign-ins on the publish; enable lets it sign in again', async () => {
    const token = await login(publish.url, 'amy', PASSWORD);
    assert.equal(await sessionStatus(publish.url, token), 200);
    const disabled = await farm.cli(['farm', 'users', 'disable', 'amy', '--manifest', 'farm.json', '--wait', '20']);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /^disabled user amy on author; replicated to publish-1 \(outbox \d+\)$/m);
    assert.equal(await sessionStatus(publish.url, token), 401, 'the token issued before ends on the publish');
    assert.equal(await signInStatus(publish, 'amy'), 401);
    assert.equal((await listed(['--prefix', 'amy'])).users[0]?.disabled, true);

    const enabled = await farm.cli(['farm', 'users', 'enable', 'amy', '--manifest', 'farm.json', '--wait', '20']);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(enabled.stdout, /^enabled user amy on author; replicated to publish-1/m);
    assert.equal(await signInStatus(publish, 'amy'), 200);
    assert.equal(await sessionStatus(publish.url, token), 401, 'a token of before the disable stays ended');
  });

  it('logout-everywhere raises the generation on the author; the publish refuses every token issued before', async () => {
    const onPublish = await login(publish.url, 'ann', PASSWORD);
    const onAuthor = await login(author.url, 'ann', PASSWORD);
    const before = (await listed(['--prefix', 'ann'])).users[0]!.generation;
    const result = jsonOf<{ generation: number; delivered: string[]; message: string }>(
      await farm.cli(['farm', 'users', 'logout-everywhere', 'ann', '--manifest', 'farm.json', '--wait', '20', '--json']),
    );
    assert.equal(result.generation, before + 1);
    assert.deepEqual(result.delivered, ['publish-1']);
    assert.match(result.message, new RegExp(`^ended every token of user ann on author \\(token generation now ${before + 1}\\); replicated to publish-1`));
    assert.equal(await sessionStatus(publish.url, onPublish), 401);
    assert.equal(await sessionStatus(author.url, onAuthor), 401);
    assert.equal(await signInStatus(publish, 'ann'), 200, 'a new sign-in works');
  });

  it('refuses a signed-in user who is no administrator, and a wrong API key, and changes nothing', async () => {
    const bobToken = await login(author.url, 'bob', PASSWORD);
    const wrongKey = `cap_ak_${'0'.repeat(16)}_${'x'.repeat(43)}`;
    const before = (await listed(['--prefix', 'a'])).users;
    for (const [headers, status] of [[{ 'login-token': bobToken }, 403], [{ authorization: `Bearer ${wrongKey}` }, 401]] as const) {
      for (const path of ['/system/farm/users/disable', '/system/farm/users/enable', '/system/farm/users/logout-everywhere']) {
        assert.equal((await post(author, path, headers, { id: 'amy' })).status, status, path);
      }
      assert.equal((await post(author, '/system/farm/users/list', headers, {})).status, status, 'list');
    }
    assert.deepEqual((await listed(['--prefix', 'a'])).users, before, 'no user changed: no generation raised, none disabled');
    assert.equal(await signInStatus(publish, 'amy'), 200);
    const withWrongKey = await farm.cli(['farm', 'users', 'disable', 'amy', '--manifest', 'farm.json'], { CAPSULE_ADMIN_API_KEY: wrongKey });
    assert.equal(withWrongKey.code, 2, withWrongKey.stderr);
    assert.match(withWrongKey.stderr, /refused the admin API key \(HTTP 401.*nothing was changed there/);
    assert.equal((await listed(['--prefix', 'amy'])).users[0]?.disabled, false);
    // An administrator's own session still works: the refusals were the caller's, not the member's.
    assert.equal(await sessionStatus(author.url, await adminToken(author, farm.adminPassword)), 200);
  });
});
