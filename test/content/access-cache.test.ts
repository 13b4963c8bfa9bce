import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixedClock } from '../../src/clock.js';
import { createContentService, type ContentJson, type ContentService, type Reader } from '../../src/content/index.js';
import { isCapsuleError } from '../../src/errors.js';
import type { Repository } from '../../src/repository/index.js';
import { repositoryBackends } from '../helpers/postgres.js';

// The content service keeps the nodes it read (the node and its ancestors, for access checks)
// and the responses it made from them until the content tree changes. These tests fail if it
// serves a decision or a response from before a change: each runs through `read` (nodes kept)
// and through `readSerialized` (responses kept too).

type ContentReads = Pick<ContentService, 'read'>;
const VIAS: ReadonlyArray<{ name: string; reads: (content: ContentService) => ContentReads }> = [
  { name: 'read', reads: (content) => content },
  {
    name: 'readSerialized',
    reads: (content) => ({
      read: async (path, depth, reader) => JSON.parse(await content.readSerialized(path, depth, reader)) as ContentJson,
    }),
  },
];

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

for (const backend of repositoryBackends()) for (const via of VIAS) describe(`content access decisions stay fresh (${backend.name}, ${via.name})`, () => {
  it('sees a change to allowedGroups on any ancestor at once, whoever in this process writes it', async () => {
    const repo = await backend.open();
    await site(repo);
    const clock = fixedClock(Date.parse('2026-12-01T00:00:00Z')); // never advances: only the commit can tell the cache
    const writer = createContentService(repo, { clock });
    const content = via.reads(writer);
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
    await writer.put('/content/site', { title: 'Site' });
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
    const content = via.reads(createContentService(repo, { clock: fixedClock(0) }));
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
    const content = via.reads(createContentService(repo, { clock, changeCheckMs: 500 }));
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

describe('kept responses', () => {
  it('answers a repeated reading at once, per group set, and a change of the tree at once too', async () => {
    const [backend] = repositoryBackends();
    const repo = await backend!.open();
    await repo.addNode('/content/site', { type: 'capsule:Content', properties: { title: 'Site' } });
    await repo.addNode('/content/site/open', { type: 'capsule:Content', properties: { title: 'Open' } });
    await repo.addNode('/content/site/inner', { type: 'capsule:Content', properties: { allowedGroups: ['members'] } });
    const content = createContentService(repo, { clock: fixedClock(0) });

    const first = content.readSerialized('/content/site', 1, MEMBER);
    assert.ok(first instanceof Promise, 'nothing is kept before the first reading');
    const member = JSON.parse(await first) as ContentJson;
    assert.ok(member.inner && member.open);
    const again = content.readSerialized('/content/site', 1, MEMBER);
    assert.equal(typeof again, 'string', 'the same reading for the same groups is answered without a promise');
    assert.deepEqual(JSON.parse(again as string), member);

    // Another group set, or nobody, is its own response: a member's page is never shown to them.
    const outsider = JSON.parse(await content.readSerialized('/content/site', 1, OUTSIDER)) as ContentJson;
    assert.equal(outsider.inner, undefined);
    assert.ok(outsider.open);
    const anonymous = JSON.parse(await content.readSerialized('/content/site', 1, null)) as ContentJson;
    assert.equal(anonymous.inner, undefined);
    assert.ok(typeof content.readSerialized('/content/site', 1, null) === 'string');
    assert.equal(JSON.parse(content.readSerialized('/content/site', 1, MEMBER) as string).inner !== undefined, true);

    // A refusal is not kept, and a write empties the kept responses as it commits.
    await assert.rejects(Promise.resolve(content.readSerialized('/content/site/inner', 0, null)), (error) => isCapsuleError(error, 'UNAUTHENTICATED'));
    await assert.rejects(Promise.resolve(content.readSerialized('/content/site/inner', 0, null)), (error) => isCapsuleError(error, 'UNAUTHENTICATED'));
    await repo.setProperties('/content/site/open', { title: 'Changed' });
    const changed = content.readSerialized('/content/site', 1, null);
    assert.ok(changed instanceof Promise, 'read again after the change');
    assert.equal((JSON.parse(await changed) as { open: { title: string } }).open.title, 'Changed');
  });

  it('keeps one response for every depth past the deepest, and no more characters than allowed', async () => {
    const [backend] = repositoryBackends();
    const repo = await backend!.open();
    await repo.addNode('/content/site', { type: 'capsule:Content', properties: { title: 'Site' } });
    await repo.addNode('/content/big', { type: 'capsule:Content', properties: { body: 'x'.repeat(500) } });
    const content = createContentService(repo, { clock: fixedClock(0), maxResponseChars: 400 });

    await content.readSerialized('/content/site', 11, null);
    assert.equal(typeof content.readSerialized('/content/site', 12, null), 'string', 'depth 12 shows what depth 11 showed: one kept response');
    assert.equal(typeof content.readSerialized('/content/site', 999, null), 'string');

    // A response over the budget is answered every time and never kept; the others stay kept.
    const big = JSON.parse(await content.readSerialized('/content/big', 0, null)) as ContentJson;
    assert.equal((big.body as string).length, 500);
    assert.ok(content.readSerialized('/content/big', 0, null) instanceof Promise, 'too large to keep');
    assert.equal(typeof content.readSerialized('/content/site', 10, null), 'string', 'the small one is still kept');
  });
});
