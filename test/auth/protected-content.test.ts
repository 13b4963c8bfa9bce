import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../src/instance/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { startTestInstance } from '../helpers/homes.js';
import { login, withToken } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

describe('protected content', () => {
  let instance: RunningInstance;
  let home: string;
  let editor: string;
  let reader: string;
  let admin: string;
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
    home = instance.services.home.root;
    const file = join(tempDir(), 'site.json');
    writeFileSync(file, JSON.stringify({ title: 'Site', news: { title: 'News', item: { title: 'First' } }, members: { allowedGroups: ['editors'], title: 'Members', deeper: { title: 'Deeper' } } }));
    const imported = await runCliInProcess(['content', 'import', file, '--at', '/content/site', '--home', home]);
    assert.equal(imported.code, 0, imported.stderr);
    const put = await runCliInProcess(['content', 'put', '/content/site/public-note', '--json', '{"text":"hello","count":3,"tags":["a","b"]}', '--home', home]);
    assert.equal(put.code, 0, put.stderr);
    await instance.services.users.createGroup('editors');
    await instance.services.users.createUser('ed', { password: 'ed-pw-correct-horse', groups: ['editors'] });
    await instance.services.users.createUser('rita', { password: 'rita-pw-correct-horse' });
    editor = await login(instance.url, 'ed', 'ed-pw-correct-horse');
    reader = await login(instance.url, 'rita', 'rita-pw-correct-horse');
    admin = await login(instance.url, 'admin', 'admin-password');
  });
  after(() => instance.stop());

  const get = (path: string, token?: string) => fetch(`${instance.url}${path}`, token ? withToken(token) : {});

  it('serves a public node with its properties, and children to the requested depth', async () => {
    const zero = await get('/content/site.json');
    assert.equal(zero.status, 200);
    assert.deepEqual(await zero.json(), { 'jcr:primaryType': 'capsule:Content', title: 'Site' });
    const two = (await (await get('/content/site.2.json')).json()) as Record<string, Record<string, unknown>>;
    assert.equal((two.news!.item as Record<string, unknown>).title, 'First');
    assert.equal(two['public-note']!.count, 3);
    assert.deepEqual(two['public-note']!.tags, ['a', 'b']);
    assert.equal(two.members, undefined, 'an anonymous reader does not see the protected child');
    assert.equal((await get('/content/site/nothing.json')).status, 404);
    assert.equal((await get('/content/site.html')).status, 400);
  });

  it('serves a node with allowedGroups, or below one, only to members: 401 anonymous, 403 others', async () => {
    for (const path of ['/content/site/members.json', '/content/site/members/deeper.json']) {
      assert.equal((await get(path)).status, 401, path);
      assert.equal((await get(path, reader)).status, 403, path);
      assert.equal((await get(path, editor)).status, 200, path);
      assert.equal((await get(path, admin)).status, 200, `${path} for an administrator`);
    }
    const tree = (await (await get('/content/site.1.json', editor)).json()) as Record<string, unknown>;
    assert.ok(tree.members, 'a member sees the protected child in the tree');
  });

  it('refuses content outside /content and bad JSON from the CLI', async () => {
    const outside = await runCliInProcess(['content', 'put', '/etc/key', '--json', '{"master":"x"}', '--home', home]);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /under \/content/);
    const bad = await runCliInProcess(['content', 'put', '/content/x', '--json', '{nope', '--home', home]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not valid JSON/);
    const fraction = await runCliInProcess(['content', 'put', '/content/x', '--json', '{"n":1.5}', '--home', home]);
    assert.equal(fraction.code, 2);
  });

  it('refuses an allowedGroups that is not a group id or a list of them, writing nothing', async () => {
    for (const value of ['true', 'false', '7', '{"editors":"x"}', '[1]', '["editors",2]']) {
      const result = await runCliInProcess(['content', 'put', '/content/site/bad', '--json', `{"title":"t","allowedGroups":${value}}`, '--home', home]);
      assert.equal(result.code, 2, `${value}: ${result.stderr}`);
      assert.match(result.stderr, /allowedGroups must be a group id or a list of group ids/, value);
      assert.equal((await get('/content/site/bad.json', admin)).status, 404, `${value}: nothing was written`);
    }
  });

  it('fails closed on a malformed allowedGroups already stored: administrators only, also in trees', async () => {
    for (const [name, value] of [['flag-true', true], ['flag-false', false], ['number', 7]] as const) {
      await instance.services.repo.addNode(`/content/site/legacy-${name}`, { type: 'capsule:Content', properties: { title: name, allowedGroups: value } });
      const path = `/content/site/legacy-${name}.json`;
      assert.equal((await get(path)).status, 401, path);
      assert.equal((await get(path, reader)).status, 403, path);
      assert.equal((await get(path, editor)).status, 403, path);
      assert.equal((await get(path, admin)).status, 200, path);
    }
    const anonymousTree = (await (await get('/content/site.1.json')).json()) as Record<string, unknown>;
    const editorTree = (await (await get('/content/site.1.json', editor)).json()) as Record<string, unknown>;
    for (const tree of [anonymousTree, editorTree]) {
      assert.deepEqual(Object.keys(tree).filter((key) => key.startsWith('legacy-')), [], 'left out of the tree');
    }
  });
});
