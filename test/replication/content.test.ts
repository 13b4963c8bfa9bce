import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createOutbox, createReceiver, readAgentState } from '../../src/replication/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login, withToken } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';
import { whenCommitted } from '../helpers/commits.js';
import { cli } from '../helpers/replication-instances.js';

describe('content activation', () => {
  it('activate sends a node or subtree to the publish, deactivate removes it, and a new agent gets what is active', async (t) => {
    const author = await startTestInstance(join(tempDir(), 'author'), { name: 'author-1' });
    t.after(() => author.stop());
    const publishes = [];
    for (const name of ['publish-1', 'publish-2']) {
      const publish = await startTestInstance(join(tempDir(), name), { name });
      t.after(() => publish.stop());
      await publish.services.users.createUser('replicator', { password: 'transport-pw', groups: ['replication-receivers'] });
      publishes.push(publish);
    }
    const [first, second] = publishes as [typeof author, typeof author];
    const agent = (publish: typeof author) => ({ url: publish.url, 'transport.user': 'replicator', 'transport.password': 'transport-pw', 'retry.delay.seconds': 1 });
    await author.services.config.update('capsule.replication.agent~publish-1', agent(first));
    await author.services.users.createGroup('members');
    await author.services.users.createUser('mia', { password: 'mia-pw-correct-horse', groups: ['members'] });
    const { repo } = author.services;
    const home = author.services.home.root;
    await author.stop(); // the CLI writes the author's home as an operator would; the running author is started again below
    await cli(['content', 'put', '/content/site', '--json', JSON.stringify({ title: 'Home', news: { title: 'News' }, private: { title: 'Members', allowedGroups: ['members'] } }), '--home', home]);
    await cli(['content', 'put', '/content/draft', '--json', '{"title":"Not yet"}', '--home', home]);
    await cli(['content', 'activate', '/content/site', '--deep', '--home', home]);
    const restarted = await startTestInstance(home, { name: 'author-1' });
    t.after(() => restarted.stop());
    void repo;

    const read = async (url: string, path: string, token?: string) => {
      const response = await fetch(`${url}${path}`, token ? withToken(token) : {});
      return { status: response.status, body: response.status === 200 ? ((await response.json()) as Record<string, unknown>) : null };
    };
    await whenCommitted(first.services.repo, 'the site on publish-1', async () => (await read(first.url, '/content/site/news.json')).status === 200);
    assert.equal((await read(first.url, '/content/site.json')).body?.title, 'Home');
    assert.equal((await read(first.url, '/content/draft.json')).status, 404, 'what is not activated stays on the author');
    assert.equal((await read(first.url, '/content/site/private.json')).status, 401, 'allowedGroups travels with the node');
    const token = await login(first.url, 'mia', 'mia-pw-correct-horse');
    assert.equal((await read(first.url, '/content/site/private.json', token)).body?.title, 'Members', 'a replicated member reads it on the publish');

    // A change is published only when activated again: the edit queues nothing for the agent to send.
    const outbox = createOutbox(restarted.services.repo);
    const queued = await outbox.head();
    await restarted.services.repo.setProperties('/content/site', { title: 'Home, edited' });
    assert.equal(await outbox.head(), queued, 'an edit alone is not queued');
    assert.equal((await read(first.url, '/content/site.json')).body?.title, 'Home');
    await cli(['content', 'activate', '/content/site', '--home', home]);
    await whenCommitted(first.services.repo, 'the edit on publish-1', async () => (await read(first.url, '/content/site.json')).body?.title === 'Home, edited');
    assert.equal((await read(first.url, '/content/site/news.json')).status, 200, 'activating the node alone leaves its children');

    // A new agent is first sent what is active (and the users), then the queue.
    await restarted.services.config.update('capsule.replication.agent~publish-2', agent(second));
    await whenCommitted(second.services.repo, 'the site on publish-2', async () => (await read(second.url, '/content/site/news.json')).status === 200);
    assert.ok(await second.services.users.getUser('mia'));

    await cli(['content', 'deactivate', '/content/site/news', '--home', home]);
    for (const publish of [first, second]) {
      await whenCommitted(publish.services.repo, 'news removed', async () => (await read(publish.url, '/content/site/news.json')).status === 404);
      assert.equal((await read(publish.url, '/content/site.json')).status, 200);
    }
    assert.equal((await read(restarted.url, '/content/site/news.json')).status, 200, 'deactivation leaves the author its content');
    // A resync sends what is active now: the deactivated child stays away.
    const sent = (await readAgentState(restarted.services.repo, 'publish-2'))!.lastDeliveredSequence;
    await cli(['replication', 'resync', 'publish-2', '--home', home]);
    // The snapshot is applied on publish-2 (its commit), as the package after the last one sent.
    await whenCommitted(second.services.repo, 'the resync applied', async () => {
      const [source] = await createReceiver({ repo: second.services.repo, clock: second.services.clock }).sources();
      return source !== undefined && source.lastSequence > sent;
    });
    assert.equal((await read(second.url, '/content/site.json')).body?.title, 'Home, edited');
    assert.equal((await read(second.url, '/content/site/private.json', await login(second.url, 'mia', 'mia-pw-correct-horse'))).status, 200);
    assert.equal((await read(second.url, '/content/site/news.json')).status, 404, 'a resync does not bring back what was deactivated');
    const bad = await cli(['content', 'activate', '/etc/key', '--home', home]).then(() => 'exit 0', (error: Error) => error.message);
    assert.match(bad, /exited 2: .*content lives under \/content/);
    assert.equal((await readAgentState(restarted.services.repo, 'publish-1'))?.blockedSince, null);
  });
});
