import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { createContentService, type Reader } from '../../src/content/index.js';
import { isCapsuleError } from '../../src/errors.js';
import type { Repository } from '../../src/repository/index.js';
import { repositoryBackends } from '../helpers/postgres.js';

// The content service keeps the nodes it read (the node and its ancestors, for access checks)
// until the content tree changes. These tests fail if it serves a decision from before a change.

const MEMBER: Reader = { userId: 'mia', groups: ['members'] };
const OUTSIDER: Reader = { userId: 'otto', groups: ['others'] };

async function allowed(read: Promise<unknown>): Promise<boolean | string> {
  try {
    await read;
    return true;
  } catch (error) {
    if (isCapsuleError(error, 'FORBIDDEN') || isCapsuleError(error, 'UNAUTHENTICATED')) return false;
    if (isCapsuleError(error, 'NODE_NOT_FOUND')) return 'missing';
    throw error;
  }
}

async function site(repo: Repository): Promise<void> {
  await repo.addNode('/content/site/section/page', { type: 'capsule:Content', properties: { title: 'Page' } });
}

for (const backend of repositoryBackends()) describe(`content access decisions stay fresh (${backend.name})`, () => {
  it('sees a change to allowedGroups on any ancestor at once, whoever in this process writes it', async () => {
    const repo = await backend.open();
    await site(repo);
    const clock = fixedClock(Date.parse('2026-12-01T00:00:00Z')); // never advances: only the commit can tell the cache
    const content = createContentService(repo, { clock });
    const page = '/content/site/section/page';
    assert.equal(await allowed(content.read(page, 0, null)), true);

    // Protecting the section through the repository directly (as replication does): at once.
    await repo.setProperties('/content/site/section', { allowedGroups: ['members'] });
    assert.equal(await allowed(content.read(page, 0, null)), false, 'anonymous refused at once');
    assert.equal(await allowed(content.read(page, 0, OUTSIDER)), false);
    assert.equal(await allowed(content.read(page, 0, MEMBER)), true);

    // Narrowing the grandparent's groups, in a transaction of several writes.
    await repo.transaction(async (tx) => {
      await tx.setProperties('/content/site', { allowedGroups: ['editors'] });
      await tx.addNode('/content/site/other');
    });
    assert.equal(await allowed(content.read(page, 0, MEMBER)), false, 'the member of the section is no editor');

    // Through the content service, and lifting both.
    await content.put('/content/site', { title: 'Site' });
    await repo.setProperties('/content/site', { allowedGroups: null });
    await repo.setProperties('/content/site/section', { allowedGroups: null });
    assert.equal(await allowed(content.read(page, 0, null)), true, 'public again at once');

    // Removing and re-creating a node, and a child that appears under a cached parent.
    await repo.removeNode('/content/site/section');
    assert.equal(await allowed(content.read(page, 0, null)), 'missing');
    await repo.addNode(page, { type: 'capsule:Content', properties: { allowedGroups: ['members'] } });
    assert.equal(await allowed(content.read(page, 0, null)), false);
    const before = await content.read('/content/site', 1, null);
    await repo.addNode('/content/site/news', { type: 'capsule:Content', properties: { title: 'News' } });
    const after = await content.read('/content/site', 1, null);
    assert.equal(before.news, undefined);
    assert.deepEqual(after.news, { 'jcr:primaryType': 'capsule:Content', title: 'News' });
  });

  it('does not keep what a transaction wrote when it rolled back', async () => {
    const repo = await backend.open();
    await site(repo);
    const content = createContentService(repo, { clock: fixedClock(0) });
    const page = '/content/site/section/page';
    await assert.rejects(
      repo.transaction(async (tx) => {
        await tx.setProperties('/content/site', { allowedGroups: ['members'] });
        throw new Error('changed my mind');
      }),
    );
    assert.equal(await allowed(content.read(page, 0, null)), true);
  });

  it('sees a change made by another process within the change-check interval', async () => {
    const location = await backend.location();
    const repo = await backend.open(location);
    await site(repo);
    const other = await backend.reopen(location); // another process: its commits are not this one's
    const clock = fixedClock(Date.parse('2026-12-01T00:00:00Z'));
    const content = createContentService(repo, { clock, changeCheckMs: 500 });
    const page = '/content/site/section/page';
    assert.equal(await allowed(content.read(page, 0, null)), true);
    await other.setProperties('/content/site', { allowedGroups: ['members'] });
    clock.advance(500);
    assert.equal(await allowed(content.read(page, 0, null)), false, 'refused once the interval has passed');
    await other.setProperties('/content/site', { allowedGroups: null });
    clock.advance(500);
    assert.equal(await allowed(content.read(page, 0, null)), true, 'and public again');
  });
});
