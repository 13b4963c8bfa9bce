import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createContentService } from '../../src/content/index.js';
import { createOutbox } from '../../src/replication/index.js';
import { tempRepository } from '../helpers/services.js';
import { systemClock } from '../../src/clock.js';

describe('content put and access rules', () => {
  it('queues every access rule it changes on a node that may be on a publish, in its transaction, and nothing else', async () => {
    const repo = tempRepository();
    const outbox = createOutbox(repo);
    const content = createContentService(repo, { clock: systemClock, outbox });
    const queued = async (since: number) =>
      (await outbox.read(since, 100)).map(({ item }) => (item.type === 'access' ? `${item.path}=${JSON.stringify(item.allowedGroups)}` : item.type));

    await content.put('/content/site', { title: 'Site', club: { allowedGroups: ['members'], title: 'Club', page: { title: 'Page' } }, drafts: { title: 'Drafts' } });
    assert.deepEqual(await queued(0), [], 'nothing was activated: no path or group leaves the author');
    await outbox.activate('/content/site/club/page', false);

    let head = await outbox.head();
    await content.put('/content/site', { title: 'Site, edited', club: { allowedGroups: ['members'] } });
    assert.deepEqual(await queued(head), [], 'an edit, or the same rule again, queues nothing');

    await content.put('/content/site', { allowedGroups: 'staff', club: { allowedGroups: ['members', 'staff'] }, drafts: { allowedGroups: ['editors'] } });
    assert.deepEqual(await queued(head), ['/content/site=["staff"]', '/content/site/club=["members","staff"]'], 'the page’s ancestors are on publishes; the unpublished drafts are not');

    // Deactivating the page leaves the folders above it on publishes: they still follow the author.
    await outbox.deactivate('/content/site/club/page');
    head = await outbox.head();
    await content.put('/content/site/club', { allowedGroups: null, title: null });
    assert.deepEqual(await queued(head), ['/content/site/club=null'], 'null lifts the rule');
    assert.deepEqual((await repo.getNode('/content/site/club'))?.properties, {}, 'null removes a property');

    // Below a subtree activated deep, every node may be on a publish.
    await outbox.activate('/content/site/drafts', true);
    head = await outbox.head();
    await content.put('/content/site/drafts', { allowedGroups: null, old: { allowedGroups: ['editors'] } });
    assert.deepEqual(await queued(head), ['/content/site/drafts=null', '/content/site/drafts/old=["editors"]']);

    head = await outbox.head();
    await assert.rejects(content.put('/content/site', { allowedGroups: null, club: { allowedGroups: [7] as unknown as string[] } }), { code: 'INVALID_PROPERTY' });
    assert.deepEqual(await queued(head), [], 'a put that fails queues nothing');
    assert.equal((await repo.getNode('/content/site'))?.properties.allowedGroups, 'staff', 'and writes nothing');
  });
});
