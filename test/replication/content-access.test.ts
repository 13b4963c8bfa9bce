import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startTestInstance } from '../helpers/homes.js';
import { login, withToken } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';
import { whenCommitted } from '../helpers/commits.js';
import { cli } from '../helpers/replication-instances.js';

describe('protected content on a publish', () => {
  it('a page activated alone keeps the protection of its ancestors, follows their rule changes, and goes with a deactivated parent', async (t) => {
    const author = await startTestInstance(join(tempDir(), 'author'), { name: 'author-1' });
    t.after(() => author.stop());
    const publish = await startTestInstance(join(tempDir(), 'publish'), { name: 'publish-1' });
    t.after(() => publish.stop());
    await publish.services.users.createUser('replicator', { password: 'transport-pw', groups: ['replication-receivers'] });
    await author.services.users.createGroup('members');
    await author.services.users.createGroup('staff');
    await author.services.users.createUser('mia', { password: 'mia-pw-correct-horse', groups: ['members'] });
    await author.services.users.createUser('sam', { password: 'sam-pw-correct-horse', groups: ['staff'] });
    await author.services.config.update('capsule.replication.agent~publish-1', { url: publish.url, 'transport.user': 'replicator', 'transport.password': 'transport-pw', 'retry.delay.seconds': 1 });
    const home = author.services.home.root;
    const page = '/content/site/private/page.json';
    const status = async (url: string, token?: string) => (await fetch(`${url}${page}`, token ? withToken(token) : {})).status;
    /** Logged in once per instance: a check made on each commit must not commit anything itself. */
    const tokens = new Map<string, { mia: string; sam: string }>();
    /** The page's status on the author or the publish, for anonymous, mia (members) and sam (staff). */
    const statuses = async (url: string) => {
      if (!tokens.has(url)) tokens.set(url, { mia: await login(url, 'mia', 'mia-pw-correct-horse'), sam: await login(url, 'sam', 'sam-pw-correct-horse') });
      const { mia, sam } = tokens.get(url)!;
      return { anonymous: await status(url), mia: await status(url, mia), sam: await status(url, sam) };
    };
    /**
     * The author serves a change the CLI (another process) made once its content check runs
     * (every 500 ms; no event reaches this process), so its answers are polled, within a bound.
     */
    const onAuthor = async (expected: Record<string, number>) => {
      const deadline = Date.now() + 10_000;
      let seen = await statuses(author.url);
      while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = await statuses(author.url);
      }
      assert.deepEqual(seen, expected, 'the author serves the rule');
    };
    const published = (what: string, expected: Record<string, number>) =>
      whenCommitted(publish.services.repo, what, async () => JSON.stringify(await statuses(publish.url)) === JSON.stringify(expected));

    // The reported case: the members' folder is never activated, only a page below it.
    await cli(['content', 'put', '/content/site', '--json', JSON.stringify({ title: 'Site', private: { title: 'Members', allowedGroups: ['members'], page: { title: 'Members page' } } }), '--home', home]);
    await cli(['content', 'activate', '/content/site/private/page', '--home', home]);
    await whenCommitted(publish.services.repo, 'the page on the publish', () => publish.services.repo.getNode('/content/site/private/page'));
    const membersOnly = { anonymous: 401, mia: 200, sam: 403 };
    await onAuthor(membersOnly);
    assert.deepEqual(await statuses(publish.url), membersOnly, 'the publish protects the page as the author does');
    const anonymous = await fetch(`${publish.url}${page}`);
    assert.doesNotMatch(await anonymous.text(), /Members page/);
    assert.equal(((await (await fetch(`${publish.url}${page}`, withToken(tokens.get(publish.url)!.mia))).json()) as { title: string }).title, 'Members page');

    // The folder's rule changes on the author; the folder itself was never activated.
    await cli(['content', 'put', '/content/site/private', '--json', '{"allowedGroups":["staff"]}', '--home', home]);
    const staffOnly = { anonymous: 401, mia: 403, sam: 200 };
    await onAuthor(staffOnly);
    await published('the new rule on the publish', staffOnly);

    // The rule is lifted (null removes a property): the page is public on both.
    await cli(['content', 'put', '/content/site/private', '--json', '{"allowedGroups":null}', '--home', home]);
    const everyone = { anonymous: 200, mia: 200, sam: 200 };
    await onAuthor(everyone);
    await published('the lifted rule on the publish', everyone);

    // A parent deactivated takes the page with it from the publish, never from the author.
    await cli(['content', 'deactivate', '/content/site/private', '--home', home]);
    await published('the page gone from the publish', { anonymous: 404, mia: 404, sam: 404 });
    await onAuthor(everyone);
  });
});
