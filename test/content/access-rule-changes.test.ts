import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createContentService } from '../../src/content/index.js';
import { createOutbox } from '../../src/replication/index.js';
import { tempRepository } from '../helpers/services.js';

describe('content put and access rules', () => {
  it('queues every access rule it changes, in its transaction, and nothing else', async () => {
    const repo = tempRepository();
    const outbox = createOutbox(repo);
    const content = createContentService(repo, { outbox });
    const queued = async (since: number) =>
      (await outbox.read(since, 100)).map(({ item }) => (item.type === 'access' ? `${item.path}=${JSON.stringify(item.allowedGroups)}` : item.type));

    await content.put('/content/site', { title: 'Site', club: { allowedGroups: ['members'], title: 'Club' } });
    assert.deepEqual(await queued(0), ['/content/site/club=["members"]']);

    let head = await outbox.head();
    await content.put('/content/site', { title: 'Site, edited', club: { allowedGroups: ['members'] } });
    assert.deepEqual(await queued(head), [], 'an edit, or the same rule again, queues nothing');

    await content.put('/content/site', { allowedGroups: 'staff', club: { allowedGroups: ['members', 'staff'] } });
    assert.deepEqual(await queued(head), ['/content/site=["staff"]', '/content/site/club=["members","staff"]']);

    head = await outbox.head();
    await content.put('/content/site/club', { allowedGroups: null, title: null });
    assert.deepEqual(await queued(head), ['/content/site/club=null'], 'null lifts the rule');
    assert.deepEqual((await repo.getNode('/content/site/club'))?.properties, {}, 'null removes a property');

    head = await outbox.head();
    await assert.rejects(content.put('/content/site', { allowedGroups: null, club: { allowedGroups: [7] as unknown as string[] } }), { code: 'INVALID_PROPERTY' });
    assert.deepEqual(await queued(head), [], 'a put that fails queues nothing');
    assert.equal((await repo.getNode('/content/site'))?.properties.allowedGroups, 'staff', 'and writes nothing');
  });
});
