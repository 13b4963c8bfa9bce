import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../src/instance/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';
import { seedLocalMembers } from '../helpers/seed-users.js';

/** The ids of the user rows a Users page shows, in order. */
const rowsOf = (page: string) => [...page.matchAll(/<tr id="[^"]*" data-user="([^"]+)"/g)].map((match) => match[1]!);
const hrefOf = (page: string, text: string) => new RegExp(`<a href="([^"]+)"[^>]*>${text}</a>`).exec(page)?.[1]?.replaceAll('&amp;', '&') ?? null;

describe('the console Users page: a page at a time, searched by id prefix, group and provider', () => {
  let instance: RunningInstance;
  let admin: string;
  let bob: string;
  // 60 users of provider corp (no password to hash), 'staff' holding every third; bob, a local non-administrator.
  const CORP = Array.from({ length: 60 }, (_, index) => `u${String(index).padStart(2, '0')}`);
  before(async () => {
    instance = await startTestInstance(join(tempDir(), 'home'));
    const { users } = instance.services;
    for (const [index, id] of CORP.entries()) await users.provisionExternalUser(id, { provider: 'corp', subject: `s-${id}`, groups: index % 3 === 0 ? ['staff'] : [] }, { sync: true });
    await users.createUser('bob', { password: 'bob-password' });
    admin = await login(instance.url, 'admin', 'admin-password');
    bob = await login(instance.url, 'bob', 'bob-password');
  });
  after(() => instance.stop());

  const get = async (path: string, token = admin) => {
    const response = await fetch(`${instance.url}${path}`, { headers: { cookie: `login-token=${token}` } });
    return { status: response.status, page: await response.text() };
  };
  const post = (fields: Record<string, string>) =>
    fetch(`${instance.url}/system/console/users`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `login-token=${admin}`, 'content-type': 'application/x-www-form-urlencoded', origin: instance.url },
      body: new URLSearchParams(fields),
    });

  it('shows one page of 50 in id order with the counts, a Next link to the rest and a First link back', async () => {
    const { page } = await get('/system/console/users');
    assert.deepEqual(rowsOf(page), ['admin', 'bob', ...CORP.slice(0, 48)]);
    assert.match(page, /62 users, 3 groups\./);
    const next = hrefOf(page, 'Next');
    assert.equal(next, '/system/console/users?after=u47');
    assert.equal(hrefOf(page, 'First'), null, 'the first page has no First link');
    const second = (await get(next!)).page;
    assert.deepEqual(rowsOf(second), CORP.slice(48));
    assert.equal(hrefOf(second, 'Next'), null, 'the last page has no Next link');
    assert.equal(hrefOf(second, 'First'), '/system/console/users');
  });

  it('the Components page shows the counts of users and groups', async () => {
    const { page } = await get('/system/console/components');
    assert.match(page, /<dt>Users<\/dt><dd>62<\/dd><dt>Groups<\/dt><dd>3<\/dd>/);
  });

  it('searches by id prefix, group and provider, and keeps the search in the Next link', async () => {
    assert.deepEqual(rowsOf((await get('/system/console/users?prefix=u1')).page), CORP.filter((id) => id.startsWith('u1')));
    assert.deepEqual(rowsOf((await get('/system/console/users?provider=corp&prefix=u5&after=u55')).page), ['u56', 'u57', 'u58', 'u59']);
    const staff = CORP.filter((_, index) => index % 3 === 0);
    const { page } = await get('/system/console/users?group=staff');
    assert.deepEqual(rowsOf(page), staff);
    assert.match(page, /id="search-group" name="group" value="staff"/, 'the form shows the search');
    assert.deepEqual(rowsOf((await get('/system/console/users?provider=nobody')).page), []);
    const unknown = (await get('/system/console/users?group=nope')).page;
    assert.deepEqual(rowsOf(unknown), []);
    assert.match(unknown, /class="notice error"[^>]*>[^<]*no group (&#39;|')nope/);
    const escaped = (await get('/system/console/users?prefix=%3Cscript%3Ex')).page;
    assert.ok(!escaped.includes('<script>x'), 'the search is shown escaped');
    const manyPages = (await get('/system/console/users?provider=corp')).page;
    assert.equal(hrefOf(manyPages, 'Next'), '/system/console/users?provider=corp&after=u49');
    assert.match(page, /<tr data-group="staff"><td><code>staff<\/code><\/td><td><a href="\/system\/console\/users\?group=staff">20 members<\/a>/, 'a group shows its member count, linked to its members');
  });

  it('offers no Delete on your own row, and refuses deleting yourself before asking, changing nothing', async () => {
    const { page } = await get('/system/console/users');
    assert.match(page, /aria-label="Delete bob"/);
    assert.doesNotMatch(page, /aria-label="Delete admin"/);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const before = await instance.services.users.getUser('admin');
    const refused = await post({ csrf, action: 'remove', user: 'admin' });
    assert.equal(refused.status, 400);
    const answer = await refused.text();
    assert.match(answer, /you cannot delete yourself/);
    assert.doesNotMatch(answer, /Delete user admin\?/, 'no confirmation asked');
    assert.deepEqual(await instance.services.users.getUser('admin'), before);
  });

  it('refuses a signed-in user who is not an administrator, search or not', async () => {
    for (const path of ['/system/console/users?prefix=u', '/system/console/users?group=staff&after=u03']) {
      const { status, page } = await get(path, bob);
      assert.equal(status, 403, path);
      assert.doesNotMatch(page, /u03|u06/);
    }
  });

  it('adds a user to any group by its id, one beyond the first page of groups too; an unknown group is refused, nothing changed; without the CSRF token, refused', async () => {
    const { users } = instance.services;
    for (let index = 0; index < 55; index++) await users.createGroup(`team${String(index).padStart(2, '0')}`);
    const { page } = await get('/system/console/users?prefix=bob');
    assert.match(page, /<input type="text" name="group" list="group-choices" aria-label="Group for bob"/);
    const choices = /<datalist id="group-choices">(.*?)<\/datalist>/s.exec(page)?.[1] ?? '';
    assert.ok(choices.includes('<option value="administrators">'), 'the first page of groups is suggested');
    assert.ok(!choices.includes('team54'), 'a group past the first page is not suggested');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;

    const without = await post({ action: 'add-member', user: 'bob', group: 'team54' });
    assert.equal(without.status, 403, 'no CSRF token');
    assert.deepEqual((await users.getUser('bob'))?.groups, []);

    const unknown = await post({ csrf, action: 'add-member', user: 'bob', group: 'team99' });
    assert.equal(unknown.status, 400);
    assert.match(await unknown.text(), /class="notice error"[^>]*>[^<]*no group (&#39;|')team99(&#39;|'): check its id, or create it under Groups first; bob was not changed/);
    assert.deepEqual((await users.getUser('bob'))?.groups, []);

    const added = await post({ csrf, action: 'add-member', user: 'bob', group: 'team54' });
    assert.equal(added.status, 303);
    assert.match(added.headers.get('location') ?? '', /done=added&subject=bob/);
    assert.deepEqual((await users.getUser('bob'))?.groups, ['team54']);
  });

  it('a search by group and provider that examined its share of members without a match shows an empty page that says more may follow, and Next finds the match', async () => {
    const { repo, users } = instance.services;
    await users.createGroup('crowd');
    await seedLocalMembers(repo, 'crowd', 1000); // ids that sort before corp's u00
    await users.addMember('crowd', 'u00');
    const first = (await get('/system/console/users?group=crowd&provider=corp')).page;
    assert.deepEqual(rowsOf(first), []);
    assert.doesNotMatch(first, /No user matches/);
    assert.match(first, /id="short-page">More may follow/);
    const next = hrefOf(first, 'Next');
    assert.equal(next, '/system/console/users?group=crowd&provider=corp&after=local0999');
    const second = (await get(next!)).page;
    assert.deepEqual(rowsOf(second), ['u00']);
    assert.equal(hrefOf(second, 'Next'), null);
    assert.doesNotMatch(second, /id="short-page"/);
  });
});
