import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openServices, type Services } from '../../src/instance/index.js';
import { login } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { cli, instanceProcess, type InstanceProcess } from '../helpers/replication-instances.js';
import { systemClock } from '../../src/clock.js';

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}-${String(index).padStart(5, '0')}`);
const joining = (members: readonly string[], groups: readonly string[]) =>
  members.map((id) => ({ type: 'user', id, state: { disabled: false, generation: 0, groups } }));

/**
 * A publish (`capsule start` in its own process) applying packages as large as an agent sends
 * (2,000 items) and a user in thousands of groups: the process keeps answering while it applies,
 * a package lands whole, in order, once, and a crash midway leaves nothing of it.
 */
describe('applying large replication packages on a publish', () => {
  let publish: InstanceProcess;
  let services: Services;
  let token: string;
  const big = ids('member', 2000);

  const post = (body: unknown) =>
    fetch(`${publish.url}/bin/receive`, { method: 'POST', headers: { 'content-type': 'application/json', 'login-token': token }, body: JSON.stringify(body) });
  const outcome = async (body: unknown) => {
    const response = await post(body);
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { outcome: string }).outcome;
  };

  before(async () => {
    publish = await instanceProcess(join(tempDir(), 'publish'), '127.0.0.1', 'publish');
    await cli(['users', 'add', 'replicator', '--password-stdin', '--group', 'replication-receivers', '--home', publish.home], 'transport-pw\n');
    token = await login(publish.url, 'replicator', 'transport-pw');
    services = await openServices({ home: publish.home, hasher: fastHasher, clock: systemClock });
  });
  after(async () => {
    await services?.close();
    await publish?.stop('SIGKILL');
  });

  it('keeps answering /system/health/live while it applies 2,000 users joining one group, and all of them are members after', async () => {
    let applying = true;
    const applied = post({ format: 1, source: 'author-a', sequence: 1, items: joining(big, ['big']) }).finally(() => (applying = false));
    // Four clients ask for liveness one request after another until the package's answer comes,
    // as a load balancer's checks would; each answer that comes first is counted.
    let answeredWhileApplying = 0;
    const checker = async () => {
      while (applying) {
        const response = await fetch(`${publish.url}/system/health/live`);
        assert.equal(response.status, 200);
        await response.arrayBuffer();
        if (applying) answeredWhileApplying++;
      }
    };
    await Promise.all([checker(), checker(), checker(), checker()]);
    const response = await applied;
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { outcome: 'applied', sequence: 1, items: 2000 });
    // A package applied in one stretch leaves the checks unanswered until it is done: a handful at most (while its body arrives).
    assert.ok(answeredWhileApplying > 20, `liveness answered ${answeredWhileApplying} times while the package applied`);

    assert.deepEqual((await services.users.getGroup('big'))?.members, big);
    for (const id of [big[0]!, big[1234]!, big[1999]!]) assert.deepEqual((await services.users.getUser(id))?.groups, ['big']);
  });

  it('applies a package once: a duplicate changes nothing, and the same items again under the next sequence end in the same state', async () => {
    assert.equal(await outcome({ format: 1, source: 'author-a', sequence: 1, items: joining(big, ['big']) }), 'duplicate');
    assert.equal(await outcome({ format: 1, source: 'author-a', sequence: 2, items: joining(big, ['big']) }), 'applied');
    assert.deepEqual((await services.users.getGroup('big'))?.members, big);
    assert.deepEqual((await services.users.getUser(big[7]!))?.groups, ['big']);
  });

  it('gives a user 3,000 groups in one item, then fewer, in the order the package lists its items', async () => {
    const groups = ids('g', 3000);
    assert.equal(await outcome({ format: 1, source: 'author-a', sequence: 3, items: joining(['wide'], groups) }), 'applied');
    assert.deepEqual((await services.users.getUser('wide'))?.groups, groups);
    assert.deepEqual((await services.users.getGroup('g-02999'))?.members, ['wide']);

    const kept = groups.slice(0, 10);
    const items = [
      ...joining(['wide'], kept),
      { type: 'group', id: 'g-00005', exists: false }, // after the user item: the group is gone, not made again
      { type: 'user', id: big[0], state: null },
    ];
    assert.equal(await outcome({ format: 1, source: 'author-a', sequence: 4, items }), 'applied');
    assert.deepEqual((await services.users.getUser('wide'))?.groups, kept.filter((id) => id !== 'g-00005'));
    assert.equal(await services.users.getGroup('g-00005'), null);
    assert.deepEqual((await services.users.getGroup('g-00100'))?.members, [], 'a group the user left stays, without the user');
    assert.equal(await services.users.getUser(big[0]!), null);
    assert.deepEqual((await services.users.getGroup('big'))?.members, big.slice(1), 'a removed user leaves its groups');
  });

  it('leaves nothing of a package when the process dies halfway through it, and applies it whole when it comes again', async () => {
    const newcomers = ids('newcomer', 1000);
    const pkg = { format: 1, source: 'author-a', sequence: 5, items: joining(newcomers, ['big', 'newcomers']) };
    await publish.stop();
    await publish.start({ CAPSULE_FAILPOINT: 'replication.receive.mid-package' });
    token = await login(publish.url, 'replicator', 'transport-pw');
    await assert.rejects(post(pkg), 'the process died before it answered');
    await publish.exited();

    await publish.start();
    token = await login(publish.url, 'replicator', 'transport-pw');
    assert.equal(await services.users.getUser(newcomers[0]!), null, 'the items before the crash were not kept');
    assert.equal(await services.users.getGroup('newcomers'), null);
    assert.deepEqual((await services.users.getGroup('big'))?.members, big.slice(1));
    assert.equal(await outcome(pkg), 'applied', 'the sequence did not move: the package is applied when it comes again');
    assert.deepEqual((await services.users.getGroup('newcomers'))?.members, newcomers);
    assert.deepEqual((await services.users.getGroup('big'))?.members, [...big.slice(1), ...newcomers].sort());
  });
});
