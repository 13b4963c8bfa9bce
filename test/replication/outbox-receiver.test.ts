import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createOutbox, createReceiver, parsePackage, type ReplicationPackage } from '../../src/replication/index.js';
import { createUserManager } from '../../src/users/index.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { fastHasher, tempServices } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

describe('the outbox', () => {
  it('records every user and group change in the same transaction, and never admin, administrators or a change that failed', async () => {
    const services = await tempServices();
    const outbox = createOutbox(services.repo);
    const start = await outbox.head();
    await services.users.createGroup('administrators');
    await services.users.createUser('admin', { password: 'admin-pw-correct-horse', groups: ['administrators'] });
    await services.users.createGroup('editors');
    await services.users.createUser('alice', { password: 'alice-pw-correct-horse', groups: ['editors'] });
    await services.users.incrementGeneration('alice');
    await services.users.createUser('admin2', { password: 'x-correct-horse', groups: ['administrators'] });
    await services.users.setPassword('admin', 'new-admin-pw'); // admin stays local
    await assert.rejects(services.users.createUser('bob', { password: 'bob-pw-correct-horse', groups: ['no-such-group'] }), { code: 'GROUP_NOT_FOUND' });
    await services.users.removeMember('editors', 'alice');
    await services.users.removeUser('admin2');

    const entries = await outbox.read(start, 100);
    assert.deepEqual(entries.map((entry) => entry.seq), entries.map((_, index) => start + index + 1), 'sequence numbers without gaps');
    const summary = entries.map(({ item }) =>
      item.type === 'user' ? `user ${item.id} ${item.state ? `gen=${item.state.generation} groups=${item.state.groups.join('+')}` : 'removed'}` : item.type === 'group' ? `group ${item.id} ${item.exists}` : 'path' in item ? item.path : item.type,
    );
    assert.deepEqual(summary, [
      'group editors true',
      'user alice gen=0 groups=editors',
      'user alice gen=1 groups=editors',
      'user admin2 gen=0 groups=', // membership of administrators is not replicated
      'user alice gen=1 groups=',
      'user admin2 removed',
    ]);
    const first = entries[1]!.item;
    assert.ok(first.type === 'user' && first.state?.passwordHash?.startsWith('$argon2id$'), 'the password hash travels, never the password');
  });

  it('refuses to activate what no package could carry, and queues nothing for it', async () => {
    const services = await tempServices();
    const outbox = createOutbox(services.repo);
    await services.repo.addNode('/content/big', { type: 'capsule:Content', properties: { blob: 'x'.repeat(4.5 * 1024 * 1024) } });
    const before = await outbox.head();
    await assert.rejects(outbox.activate('/content/big', false), (error: Error & { code?: string }) => error.code === 'INVALID_ARGUMENT' && /children one by one/.test(error.message));
    assert.equal(await outbox.head(), before);
    await services.repo.addNode('/content/small', { type: 'capsule:Content', properties: { title: 'ok' } });
    assert.equal(await outbox.activate('/content/small', false), before + 1);
  });

  it('a user manager without an outbox records nothing (a publish applying packages writes none)', async () => {
    const services = await tempServices();
    const outbox = createOutbox(services.repo);
    const before = await outbox.head();
    const plain = createUserManager({ repo: services.repo, hasher: fastHasher });
    await plain.createUser('carol', { password: 'pw-correct-horse' });
    assert.equal(await outbox.head(), before);
  });
});

describe('the receiver', () => {
  async function authorAndPublish() {
    const author = await tempServices(join(tempDir(), 'author'));
    const publish = await tempServices(join(tempDir(), 'publish'));
    return { author, publish, outbox: createOutbox(author.repo), receiver: createReceiver({ repo: publish.repo, clock: publish.clock }) };
  }

  it('applies packages in order, once: a duplicate changes nothing, a gap is refused with what it expected', async () => {
    const { author, publish, outbox, receiver } = await authorAndPublish();
    const start = await outbox.head();
    await author.users.createGroup('editors');
    await author.users.createUser('alice', { password: 'alice-pw-correct-horse', groups: ['editors'] });
    const items = (await outbox.read(start, 100)).map((entry) => entry.item);
    const pkg = (sequence: number, list = items): ReplicationPackage => parsePackage({ format: 1, source: 'author-a', sequence, items: list });

    assert.deepEqual(await receiver.receive(pkg(2)), { outcome: 'gap', sequence: 2, expected: 1 });
    assert.equal(await publish.users.getUser('alice'), null, 'nothing of a refused package is applied');
    assert.equal((await receiver.receive(pkg(1))).outcome, 'applied');
    assert.ok(await publish.users.authenticate('alice', 'alice-pw-correct-horse'), 'alice logs in on the publish with her own password');
    assert.deepEqual((await publish.users.getUser('alice'))?.groups, ['editors']);

    await publish.users.setDisabled('alice', true); // a local change the duplicate must not undo
    assert.deepEqual(await receiver.receive(pkg(1)), { outcome: 'duplicate', sequence: 1, lastApplied: 1 });
    assert.equal((await publish.users.getUser('alice'))?.disabled, true, 'a package applied twice changes nothing the second time');
  });

  it('never applies half a package: an item that fails rolls back the items before it and the sequence', async () => {
    const { publish, receiver } = await authorAndPublish();
    await publish.users.createUser('clash', { password: 'pw-correct-horse' });
    const pkg = parsePackage({
      format: 1,
      source: 'author-b',
      sequence: 1,
      items: [
        { type: 'user', id: 'dave', state: { disabled: false, generation: 0, groups: [] } },
        { type: 'group', id: 'clash', exists: true }, // a user of that id exists here
      ],
    });
    await assert.rejects(receiver.receive(pkg), { code: 'USER_EXISTS' });
    assert.equal(await publish.users.getUser('dave'), null);
    assert.deepEqual(await receiver.sources(), []);
  });

  it("never changes the publish's own accounts: a transport login cannot take over a local administrator or receiver", async () => {
    const { publish, receiver } = await authorAndPublish();
    await publish.users.createGroup('administrators').catch(() => undefined);
    await publish.users.createGroup('replication-receivers').catch(() => undefined);
    await publish.users.createUser('ops', { password: 'ops-pw-correct-horse', groups: ['administrators'] });
    await publish.users.createUser('replicator', { password: 'rep-pw-correct-horse', groups: ['replication-receivers'] });
    const before = { ops: await publish.users.getUser('ops'), replicator: await publish.users.getUser('replicator') };
    let sequence = 0;
    for (const state of [{ passwordHash: '$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA', disabled: false, generation: 0, groups: [] }, { disabled: true, generation: 9, groups: [] }, null]) {
      for (const id of ['ops', 'replicator']) {
        const pkg = parsePackage({ format: 1, source: 'author-c', sequence: sequence + 1, items: [{ type: 'user', id, state }] });
        await assert.rejects(receiver.receive(pkg), (error: Error & { code?: string }) => error.code === 'REPLICATION_PACKAGE_INVALID' && /this publish's own account/.test(error.message), `${id} ${JSON.stringify(state)}`);
      }
    }
    assert.deepEqual(await publish.users.getUser('ops'), before.ops, 'the local administrator is untouched');
    assert.deepEqual(await publish.users.getUser('replicator'), before.replicator);
    assert.ok(await publish.users.authenticate('ops', 'ops-pw-correct-horse'), 'its password still works');
  });

  it('refuses packages that name what is never replicated, or are malformed', () => {
    const base = { format: 1, source: 's', sequence: 1 };
    const bad = [
      { ...base, items: [{ type: 'user', id: 'admin', state: null }] },
      { ...base, items: [{ type: 'user', id: 'eve', state: { disabled: false, generation: 0, groups: ['administrators'] } }] },
      { ...base, items: [{ type: 'group', id: 'replication-receivers', exists: true }] },
      { ...base, items: [{ type: 'content', path: '/etc/key', deep: false, nodes: null }] },
      { ...base, sequence: 0, items: [] },
      { ...base, items: [{ type: 'user', id: '../x', state: null }] },
      // a receiver must not be able to plant a user or a token under /content
      { ...base, items: [{ type: 'content', path: '/content/x', deep: false, ancestors: [{ path: '/content', allowedGroups: null }], nodes: [{ path: '/content/x', type: 'capsule:Token', properties: {} }] }] },
      { ...base, items: [{ type: 'content', path: '/content/x', deep: false, ancestors: [{ path: '/content', allowedGroups: null }], nodes: [{ path: '/content/x', type: 'capsule:User', properties: { userId: { t: 'string', v: 'admin' } } }] }] },
    ];
    for (const body of bad) assert.throws(() => parsePackage(body), { code: 'REPLICATION_PACKAGE_INVALID' }, JSON.stringify(body));
  });
});

describe('POST /bin/receive', () => {
  it('answers 401 to anonymous, 403 to a non-receiver, 4xx with a reason to bad packages, and changes nothing', async (t) => {
    const publish = await startTestInstance(join(tempDir(), 'publish'));
    t.after(() => publish.stop());
    await publish.services.users.createUser('mallory', { password: 'mallory-pw-correct-horse' });
    await publish.services.users.createUser('replicator', { password: 'replicator-pw', groups: ['replication-receivers'] });
    const good = { format: 1, source: 'author-c', sequence: 1, items: [{ type: 'user', id: 'zed', state: { disabled: false, generation: 0, groups: [] } }] };
    const post = (body: unknown, token?: string, contentType = 'application/json') =>
      fetch(`${publish.url}/bin/receive`, {
        method: 'POST',
        headers: { 'content-type': contentType, ...(token ? { 'login-token': token } : {}) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });

    assert.equal((await post(good)).status, 401);
    const mallory = await login(publish.url, 'mallory', 'mallory-pw-correct-horse');
    const forbidden = await post(good, mallory);
    assert.equal(forbidden.status, 403);
    assert.match(((await forbidden.json()) as { error: { message: string } }).error.message, /replication-receivers/);
    assert.equal(await publish.services.users.getUser('zed'), null);

    const token = await login(publish.url, 'replicator', 'replicator-pw');
    const malformed = await post('{"format":1,', token);
    assert.equal(malformed.status, 400);
    const wrongShape = await post({ ...good, items: [{ type: 'user', id: 'zed', state: { disabled: 'no' } }] }, token);
    assert.equal(wrongShape.status, 400);
    assert.match(((await wrongShape.json()) as { error: { message: string } }).error.message, /items\.0\.state/);
    const oversized = await post({ ...good, items: [], padding: 'x'.repeat(5 * 1024 * 1024) }, token);
    assert.equal(oversized.status, 413);
    const gap = await post({ ...good, sequence: 3 }, token);
    assert.equal(gap.status, 409);
    const gapBody = (await gap.json()) as { expected: number; error: { message: string } };
    assert.equal(gapBody.expected, 1);
    assert.match(gapBody.error.message, /expected package 1/);
    assert.equal(await publish.services.users.getUser('zed'), null, 'no refused package changed anything');

    const applied = await post(good, token);
    assert.equal(applied.status, 200);
    assert.equal(((await applied.json()) as { outcome: string }).outcome, 'applied');
    assert.ok(await publish.services.users.getUser('zed'));
    assert.equal(((await (await post(good, token)).json()) as { outcome: string }).outcome, 'duplicate');
  });
});
