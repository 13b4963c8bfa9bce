import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAdminKeyStore } from '../../src/auth/index.js';
import { startInstance, type RunningInstance } from '../../src/instance/index.js';
import { login, withToken } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { seedLocalMembers } from '../helpers/seed-users.js';

interface UsersBody {
  users: Array<{ id: string; groups: string[]; disabled: boolean; generation: number }>;
  next: string | null;
}
interface ErrorBody {
  error: { code: string; message: string };
}

describe('GET /api/users and /api/groups: pages in the admin API scope', () => {
  let instance: RunningInstance;
  let admin: string;
  let editor: string;

  before(async () => {
    instance = await startInstance({ home: join(tempDir(), 'home'), port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    const { users } = instance.services;
    await users.createUser('editor', { password: 'editor-pw-correct-horse', groups: ['editors'], createGroups: true });
    for (const id of ['amy', 'Bob', 'carl']) await users.provisionExternalUser(id, { provider: 'corp', subject: `s-${id}`, groups: ['editors'] }, { sync: true });
    await users.provisionExternalUser('dan', { provider: 'corp-eu', subject: 's-dan', groups: [] }, { sync: true });
    admin = await login(instance.url, 'admin', 'admin-password');
    editor = await login(instance.url, 'editor', 'editor-pw-correct-horse');
  });
  after(() => instance.stop());

  const get = (path: string, token: string | null = admin, init: RequestInit = {}) => fetch(`${instance.url}${path}`, token ? { ...withToken(token), ...init } : init);
  const ids = async (path: string) => {
    const response = await get(path);
    assert.equal(response.status, 200, path);
    const body = (await response.json()) as UsersBody;
    return [body.users.map((user) => user.id), body.next];
  };

  it('pages users in id order, filtered by prefix, group and provider', async () => {
    assert.deepEqual(await ids('/api/users'), [['Bob', 'admin', 'amy', 'carl', 'dan', 'editor'], null]);
    assert.deepEqual(await ids('/api/users?limit=2'), [['Bob', 'admin'], 'admin']);
    assert.deepEqual(await ids('/api/users?limit=2&after=admin'), [['amy', 'carl'], 'carl']);
    assert.deepEqual(await ids('/api/users?provider=corp'), [['Bob', 'amy', 'carl'], null]);
    assert.deepEqual(await ids('/api/users?group=editors&prefix=c'), [['carl'], null]);
    assert.deepEqual(await ids('/api/users?group=editors&provider=corp&limit=1&after=Bob'), [['amy'], 'amy']);
    assert.deepEqual(await ids(`/api/users?prefix=${encodeURIComponent('a%')}`), [[], null], 'a prefix is not a pattern');
    const response = await get('/api/users?prefix=editor');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await response.json(), { users: [{ id: 'editor', groups: ['editors'], disabled: false, generation: 0 }], next: null });
  });

  it('pages groups with their member counts', async () => {
    const response = await get('/api/groups?limit=1');
    assert.deepEqual(await response.json(), { groups: [{ id: 'administrators', memberCount: 1 }], next: 'administrators' });
    assert.deepEqual(await (await get('/api/groups?after=administrators&limit=1')).json(), { groups: [{ id: 'editors', memberCount: 4 }], next: 'editors' });
  });

  it('answers a bad query with 400 and a message that names the field', async () => {
    for (const [query, message] of [
      ['limit=0', /^limit: a whole number from 1 to 1000$/],
      ['limit=1001', /^limit: a whole number from 1 to 1000$/],
      ['limit=ten', /^limit: a whole number from 1 to 1000$/],
      ['limit=', /^limit: a whole number from 1 to 1000$/],
      [`prefix=${'x'.repeat(129)}`, /^prefix: at most 128 characters$/],
      ['colour=red', /^colour: not a filter of this list \(prefix, group, provider, after, limit\)$/],
      ['limit=1&limit=2', /^limit: /],
    ] as const) {
      const response = await get(`/api/users?${query}`);
      assert.equal(response.status, 400, query);
      const body = (await response.json()) as ErrorBody;
      assert.equal(body.error.code, 'INVALID_ARGUMENT');
      assert.match(body.error.message, message, query);
    }
    const unknownGroup = await get('/api/users?group=nobody');
    assert.equal(unknownGroup.status, 404);
    assert.equal(((await unknownGroup.json()) as ErrorBody).error.code, 'GROUP_NOT_FOUND');
    assert.equal((await get('/api/groups?group=editors')).status, 400, 'groups take no group filter');
  });

  it('refuses a signed-in user who is not an administrator (403) and an anonymous caller (401)', async () => {
    for (const path of ['/api/users', '/api/users?provider=corp', '/api/groups']) {
      const refused = await get(path, editor);
      assert.equal(refused.status, 403, path);
      const body = await refused.text();
      assert.equal((JSON.parse(body) as ErrorBody).error.code, 'FORBIDDEN');
      assert.ok(!body.includes('amy'), 'no user named in the refusal');
      assert.equal((await get(path, null)).status, 401, `${path} anonymous`);
    }
  });

  it("refuses a read another site started, even with the administrator's token, naming no user", async () => {
    for (const path of ['/api/users', '/api/groups']) {
      for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }] as Array<Record<string, string>>) {
        const refused = await get(path, null, { headers: { cookie: `login-token=${admin}`, ...headers } });
        const body = await refused.text();
        assert.equal(refused.status, 403, `${path} ${JSON.stringify(headers)}`);
        assert.equal((JSON.parse(body) as ErrorBody).error.code, 'FORBIDDEN');
        assert.ok(!body.includes('amy') && !body.includes('editors'), 'nothing of the list in the refusal');
      }
      assert.equal((await get(path, null, { headers: { cookie: `login-token=${admin}`, 'sec-fetch-site': 'same-origin' } })).status, 200, `${path} same-origin`);
    }
  });

  it("answers an operator's API key", async () => {
    const { key } = await createAdminKeyStore({ repo: instance.services.repo, clock: instance.services.clock }).create('lists');
    const response = await get('/api/users?limit=1', null, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as UsersBody).users.map((user) => user.id), ['Bob']);
  });

  it('answers a short page with a next for group and provider on a big group with few users of the provider: only next null ends the list', async () => {
    const { repo, users } = instance.services;
    await users.createGroup('crowd');
    await seedLocalMembers(repo, 'crowd', 1000); // ids that sort before corp's zoe
    await users.provisionExternalUser('zoe', { provider: 'corp', subject: 's-zoe', groups: ['crowd'] }, { sync: true });
    assert.deepEqual(await ids('/api/users?group=crowd&provider=corp&limit=10'), [[], 'local0999']);
    assert.deepEqual(await ids('/api/users?group=crowd&provider=corp&limit=10&after=local0999'), [['zoe'], null]);
  });
});
