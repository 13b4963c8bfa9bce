import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createContentService } from '../../src/content/index.js';
import { createOutbox, createReceiver, parsePackage, type ReplicationItem, type ReplicationPackage } from '../../src/replication/index.js';
import { tempServices } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';

/** A publish that applied the author's /content/site (deep), with /content/site/private for members only. */
async function publishWithSite() {
  const author = await tempServices(join(tempDir(), 'author'));
  const publish = await tempServices(join(tempDir(), 'publish'));
  const outbox = createOutbox(author.repo);
  await createContentService(author.repo, { clock: systemClock, outbox }).put('/content/site', {
    title: 'Site',
    public: { title: 'Public' },
    private: { title: 'Members', allowedGroups: ['members'] },
  });
  await outbox.activate('/content/site', true);
  const receiver = createReceiver({ repo: publish.repo, clock: publish.clock });
  const items = (await outbox.read(0, 100)).map((entry) => entry.item);
  assert.equal((await receiver.receive(parsePackage({ format: 1, source: 'author', sequence: 1, items }))).outcome, 'applied');
  const content = createContentService(publish.repo, { clock: systemClock });
  const state = async () => ({ nodes: await publish.repo.getSubtree('/content'), sources: await receiver.sources() });
  return { publish, receiver, content, state };
}

const site = [
  { path: '/content', allowedGroups: null },
  { path: '/content/site', allowedGroups: null },
];

describe('the receiver and content items', () => {
  it('refuses an item whose nodes lie outside the path it activates, and changes nothing on the publish', async () => {
    const { receiver, content, state } = await publishWithSite();
    const before = await state();
    // Claims to activate the public page, and carries the members' page without its rule.
    const item: ReplicationItem = {
      type: 'content',
      path: '/content/site/public',
      deep: true,
      nodes: [
        { path: '/content/site/public', type: 'capsule:Content', properties: { title: { t: 'string', v: 'Public' } } },
        { path: '/content/site/private', type: 'capsule:Content', properties: { title: { t: 'string', v: 'Open to all' } } },
      ],
      ancestors: site,
    };
    const pkg: ReplicationPackage = { format: 1, source: 'author', sequence: 2, items: [item] };

    assert.throws(() => parsePackage(pkg), (error: Error & { code?: string }) => error.code === 'REPLICATION_PACKAGE_INVALID' && /items\.0: nodes: content node \/content\/site\/private is outside the activated \/content\/site\/public/.test(error.message));
    // The receiver checks again: a library caller may hand it a package that was never parsed.
    await assert.rejects(receiver.receive(pkg), (error: Error & { code?: string }) => error.code === 'REPLICATION_PACKAGE_INVALID' && /outside the activated/.test(error.message));
    assert.deepEqual(await state(), before, 'no node and no sequence changed');
    await assert.rejects(content.read('/content/site/private', 0, null), { code: 'UNAUTHENTICATED' });
  });

  it('refuses an activation that lacks an ancestor’s rule, skips a parent, or omits its own node, and changes nothing', async () => {
    const { receiver, content, state } = await publishWithSite();
    const before = await state();
    const page = { path: '/content/site/private/page', type: 'capsule:Content', properties: { title: { t: 'string' as const, v: 'Page' } } };
    const bad: Array<[string, ReplicationItem, RegExp]> = [
      ['no ancestors', { type: 'content', path: '/content/site/private/page', deep: false, nodes: [page] }, /access rules of \/content, \/content\/site, \/content\/site\/private/],
      [
        'the protected parent left out of the ancestors',
        { type: 'content', path: '/content/site/private/page', deep: false, nodes: [page], ancestors: site },
        /access rules of \/content, \/content\/site, \/content\/site\/private \(in that order\)/,
      ],
      [
        'a child without its parent',
        { type: 'content', path: '/content/site/private', deep: true, nodes: [{ ...page, path: '/content/site/private' }, { ...page, path: '/content/site/private/a/b' }], ancestors: site },
        /\/content\/site\/private\/a\/b comes without its parent/,
      ],
      [
        'the activated node missing',
        { type: 'content', path: '/content/site/private', deep: true, nodes: [], ancestors: site },
        /the activated \/content\/site\/private is not among them/,
      ],
    ];
    for (const [what, item, message] of bad) {
      const pkg: ReplicationPackage = { format: 1, source: 'author', sequence: 2, items: [item] };
      const refused = (error: Error & { code?: string }) => error.code === 'REPLICATION_PACKAGE_INVALID' && message.test(error.message);
      assert.throws(() => parsePackage(pkg), refused, what);
      await assert.rejects(receiver.receive(pkg), refused, what);
    }
    assert.deepEqual(await state(), before, 'no node and no sequence changed');
    await assert.rejects(content.read('/content/site/private', 0, null), { code: 'UNAUTHENTICATED' });
  });

  it('makes an ancestor it lacks as a folder with the author’s rule, and applies a rule change to a node it has', async () => {
    const { receiver, content } = await publishWithSite();
    const pkg = (sequence: number, items: ReplicationItem[]) => parsePackage({ format: 1, source: 'author', sequence, items });
    await receiver.receive(
      pkg(2, [
        {
          type: 'content',
          path: '/content/club/room/page',
          deep: false,
          nodes: [{ path: '/content/club/room/page', type: 'capsule:Content', properties: { title: { t: 'string', v: 'Page' } } }],
          ancestors: [
            { path: '/content', allowedGroups: null },
            { path: '/content/club', allowedGroups: ['members'] },
            { path: '/content/club/room', allowedGroups: null },
          ],
        },
      ]),
    );
    await assert.rejects(content.read('/content/club/room/page', 0, null), { code: 'UNAUTHENTICATED' });
    await assert.rejects(content.read('/content/club/room/page', 0, { userId: 'x', groups: ['staff'] }), { code: 'FORBIDDEN' });
    assert.deepEqual(await content.read('/content/club', 0, { userId: 'm', groups: ['members'] }), { 'jcr:primaryType': 'capsule:Folder', allowedGroups: ['members'] }, 'an ancestor holds the rule and nothing else');

    await receiver.receive(pkg(3, [{ type: 'access', path: '/content/club', allowedGroups: null }, { type: 'access', path: '/content/nowhere', allowedGroups: ['x'] }]));
    assert.equal((await content.read('/content/club/room/page', 0, null)).title, 'Page', 'the rule was lifted on the author');
    assert.equal(await content.read('/content/nowhere', 0, null).catch((error: Error & { code?: string }) => error.code), 'NODE_NOT_FOUND', 'a rule for a node it lacks makes no node');

    // The folder activated itself takes the author's type, and keeps what is below it.
    await receiver.receive(
      pkg(4, [{ type: 'content', path: '/content/club', deep: false, nodes: [{ path: '/content/club', type: 'capsule:Content', properties: { title: { t: 'string', v: 'Club' } } }], ancestors: [{ path: '/content', allowedGroups: null }] }]),
    );
    assert.deepEqual(await content.read('/content/club', 0, null), { 'jcr:primaryType': 'capsule:Content', title: 'Club' });
    assert.equal((await content.read('/content/club/room/page', 0, null)).title, 'Page');
  });

  it('refuses, from a caller that never parsed them, a rule or an activation for a path outside /content, and changes nothing', async () => {
    const { publish, receiver, state } = await publishWithSite();
    await publish.users.createGroup('staff');
    const before = { ...(await state()), outside: await publish.repo.getSubtree('/home'), etc: await publish.repo.getSubtree('/etc') };
    const groupPath = (await publish.repo.findByProperty('groupId', 'staff'))[0]!.path;
    const bad: ReplicationItem[] = [
      { type: 'access', path: groupPath, allowedGroups: ['x'] },
      { type: 'access', path: '/etc/key', allowedGroups: [] },
      { type: 'content', path: '/etc/key', deep: true, nodes: [{ path: '/etc/key', type: 'capsule:Content', properties: {} }], ancestors: [{ path: '/etc', allowedGroups: ['x'] }] },
      { type: 'content', path: '/content/../etc', deep: true, nodes: [{ path: '/content/../etc', type: 'capsule:Content', properties: {} }], ancestors: [{ path: '/content', allowedGroups: null }] },
    ];
    for (const item of bad) {
      const pkg: ReplicationPackage = { format: 1, source: 'author', sequence: 2, items: [item] };
      await assert.rejects(receiver.receive(pkg), (error: Error & { code?: string }) => error.code === 'REPLICATION_PACKAGE_INVALID' && /path under \/content|'\.' or '\.\.'/.test(error.message), JSON.stringify(item));
    }
    assert.deepEqual({ ...(await state()), outside: await publish.repo.getSubtree('/home'), etc: await publish.repo.getSubtree('/etc') }, before, 'no node and no sequence changed');
  });
});
