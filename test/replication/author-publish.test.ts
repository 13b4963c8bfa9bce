import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openServices, type Services } from '../../src/instance/index.js';
import { createReceiver } from '../../src/replication/index.js';
import { login, sessionStatus } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { ADMIN_PASSWORD, cli, eventually, instanceProcess, loginStatus, type InstanceProcess } from '../helpers/replication-instances.js';
import { systemClock } from '../../src/clock.js';

interface AgentStatusJson {
  name: string;
  queued: number;
  head: string | null;
  lastError: string | null;
  blockedSince: string | null;
  lastDeliveredSequence: number;
  snapshotPending: boolean;
}

/**
 * An author and two publishes, each `capsule start` in its own process and home, on 127.0.0.1,
 * 127.0.0.2 and 127.0.0.3 (three machines as far as HTTP can tell). The publishes got the
 * author's keys by bundle; users reach them only by replication.
 */
describe('replication from an author to two publishes', () => {
  let author: InstanceProcess;
  const publishes: InstanceProcess[] = [];
  const publishServices: Services[] = [];
  let authorServices: Services;

  const status = async () => JSON.parse(await cli(['replication', 'status', '--json', '--home', author.home])) as AgentStatusJson[];
  const userOn = (index: number, id: string) => publishServices[index]!.users.getUser(id);

  before(async () => {
    const root = tempDir();
    author = await instanceProcess(join(root, 'author'), '127.0.0.1', 'author');
    await cli(['config', 'set', 'capsule.auth.token', 'token.encapsulated=true', '--home', author.home]);
    const bundle = join(root, 'keys.bundle');
    await cli(['keys', 'export', '--out', bundle, '--home', author.home]);
    for (const [index, host] of ['127.0.0.2', '127.0.0.3'].entries()) {
      const home = join(root, `publish-${index + 1}`);
      await cli(['keys', 'import', '--in', bundle, '--home', home]);
      const publish = await instanceProcess(home, host, `publish-${index + 1}`);
      publishes.push(publish);
      await cli(['users', 'add', 'replicator', '--password-stdin', '--group', 'replication-receivers', '--home', home], 'transport-pw\n');
      publishServices.push(await openServices({ home, hasher: fastHasher, clock: systemClock }));
      await cli(
        ['replication', 'add-agent', `publish-${index + 1}`, '--url', publish.url, '--transport-user', 'replicator', '--transport-password-stdin', '--retry-delay', '1', '--home', author.home],
        'transport-pw\n',
      );
    }
    authorServices = await openServices({ home: author.home, hasher: fastHasher, clock: systemClock });
  });
  after(async () => {
    for (const services of [...publishServices, authorServices]) await services?.close();
    for (const instance of [author, ...publishes]) await instance?.stop('SIGKILL');
  });

  it('keeps the transport password encrypted and never prints it', async () => {
    const shown = await cli(['config', 'get', 'capsule.replication.agent~publish-1', '--json', '--home', author.home]);
    assert.ok(!shown.includes('transport-pw'));
    assert.match(String(authorServices.config.stored('capsule.replication.agent~publish-1')?.['transport.password']), /^\{cap1:/);
  });

  it('a user added on the author logs in on both publishes, with its groups; admin stays each instance\'s own', async () => {
    await cli(['groups', 'add', 'editors', '--home', author.home]);
    await cli(['users', 'add', 'alice', '--password-stdin', '--group', 'editors', '--home', author.home], 'alice-pw-correct-horse\n');
    for (const [index, publish] of publishes.entries()) {
      await eventually(`alice on publish-${index + 1}`, () => userOn(index, 'alice'));
      assert.equal(await loginStatus(publish.url, 'alice', 'alice-pw-correct-horse'), 200);
      const token = await login(publish.url, 'alice', 'alice-pw-correct-horse');
      const session = (await (await fetch(`${publish.url}/api/session`, { headers: { 'login-token': token } })).json()) as { groups: string[] };
      assert.deepEqual(session.groups, ['editors']);
      assert.equal(await loginStatus(publish.url, 'admin', ADMIN_PASSWORD), 200, "the publish's own admin is untouched");
      assert.deepEqual((await userOn(index, 'admin'))?.groups, ['administrators']);
    }
  });

  it('logout-everywhere on the author ends the user\'s encapsulated tokens on every publish', async () => {
    await eventually('alice on both publishes', async () => (await userOn(0, 'alice')) && (await userOn(1, 'alice')));
    const token = await login(author.url, 'alice', 'alice-pw-correct-horse');
    for (const publish of publishes) assert.equal(await sessionStatus(publish.url, token), 200, 'an author token works offline on a publish');
    await cli(['users', 'logout-everywhere', 'alice', '--home', author.home]);
    for (const [index, publish] of publishes.entries()) {
      await eventually(`alice's token refused on publish-${index + 1}`, async () => (await sessionStatus(publish.url, token)) === 401);
    }
    const fresh = await login(author.url, 'alice', 'alice-pw-correct-horse');
    for (const publish of publishes) assert.equal(await sessionStatus(publish.url, fresh), 200, 'a token of the new generation works');
  });

  it('a publish that was down receives everything, in order, when it is back', async () => {
    const [, down] = publishes as [InstanceProcess, InstanceProcess];
    await down.stop('SIGTERM');
    await cli(['users', 'add', 'bob', '--password-stdin', '--home', author.home], 'bob-pw-1-correct-horse\n');
    await cli(['users', 'passwd', 'bob', '--password-stdin', '--home', author.home], 'bob-pw-2-correct-horse\n');
    await cli(['users', 'add', 'carol', '--password-stdin', '--home', author.home], 'carol-pw-correct-horse\n');
    await cli(['users', 'disable', 'carol', '--home', author.home]);
    await cli(['groups', 'add-member', 'editors', 'bob', '--home', author.home]);
    await cli(['users', 'remove', 'alice', '--home', author.home]);
    await eventually('publish-1 to have all of it', async () => !(await userOn(0, 'alice')) && (await userOn(0, 'carol'))?.disabled === true);
    const blocked = await eventually('publish-2 reported blocked', async () => (await status()).find((agent) => agent.name === 'publish-2' && agent.blockedSince));
    assert.match(blocked.lastError ?? '', /unreachable/);
    assert.ok(blocked.queued > 0);

    await down.start();
    await eventually('publish-2 to catch up', async () => (await status()).find((agent) => agent.name === 'publish-2' && agent.queued === 0 && !agent.blockedSince));
    assert.equal(await userOn(1, 'alice'), null, 'the removal arrived');
    assert.equal((await userOn(1, 'carol'))?.disabled, true, 'disabled after being added: in order');
    assert.deepEqual((await userOn(1, 'bob'))?.groups, ['editors']);
    assert.equal(await loginStatus(down.url, 'bob', 'bob-pw-2-correct-horse'), 200, 'the later password won');
    assert.equal(await loginStatus(down.url, 'bob', 'bob-pw-1-correct-horse'), 401);
  });

  it('SIGKILL of the author during delivery loses nothing and applies nothing twice', async (t) => {
    const count = 300;
    const ids = Array.from({ length: count }, (_, index) => `load-${String(index).padStart(3, '0')}`);
    // Written straight into the author's repository (as a CLI would): every change goes through the outbox.
    for (const id of ids) await authorServices.users.createUser(id, { password: 'load-pw-correct-horse' });
    for (const id of ids.slice(0, 50)) await authorServices.users.incrementGeneration(id);
    await eventually('delivery to have begun', async () => (await userOn(0, 'load-000')) !== null, 60_000);
    await author.stop('SIGKILL');
    const before = await Promise.all(ids.map((id) => userOn(0, id)));
    const delivered = before.filter(Boolean).length;

    await author.start();
    // Done when the author records every outbox item as applied by both publishes. The last user
    // arriving is not the end: the generation bumps come after it in the outbox, in later packages
    // when a round read the outbox while they were being written.
    const agents = await eventually('the queues to drain', async () => {
      const all = await status();
      return all.every((agent) => agent.queued === 0 && !agent.snapshotPending) && all;
    }, 120_000);
    for (const index of [0, 1]) {
      for (const [position, id] of ids.entries()) {
        const user = await userOn(index, id);
        assert.ok(user, `${id} on publish-${index + 1}`);
        assert.equal(user.generation, position < 50 ? 1 : 0, `${id}'s generation on publish-${index + 1}`);
      }
    }
    // Every package the author counts as sent is the publish's last applied one: none skipped, none applied as another.
    for (const [index, agent] of agents.entries()) {
      const sources = await createReceiver({ repo: publishServices[index]!.repo, clock: { now: () => 0 } }).sources();
      assert.equal(sources.length, 1, 'one stream per agent');
      assert.equal(sources[0]!.lastSequence, agent.lastDeliveredSequence);
    }
    t.diagnostic(`the kill came after ${delivered} of ${count} users had arrived on publish-1`);
  });

  for (const point of ['replication:written-down', 'replication:applied']) {
    it(`a crash at ${point} loses nothing and applies nothing twice`, async () => {
      const id = `crash-${point.split(':')[1]}`;
      await author.stop('SIGTERM');
      await author.start({ CAPSULE_FAILPOINT: point });
      await cli(['users', 'add', id, '--password-stdin', '--home', author.home], 'crash-pw-correct-horse\n');
      await author.exited(); // the agent that got there first killed the author at the point
      const inFlight = (await status()).filter((agent) => agent.head?.startsWith('package'));
      assert.ok(inFlight.length > 0, 'the package is written down in the repository, not lost with the process');
      const appliedBefore = await Promise.all([0, 1].map(async (index) => (await userOn(index, id)) !== null));
      if (point === 'replication:written-down') assert.ok(appliedBefore.includes(false), 'killed before sending');
      else assert.ok(appliedBefore.includes(true), 'killed after a publish applied it');

      // A change made while the author is down: a package rebuilt with it under the same number would be taken for the one applied.
      await cli(['users', 'add', `${id}-later`, '--password-stdin', '--home', author.home], 'crash-pw-correct-horse\n');
      await author.start();
      for (const index of [0, 1]) {
        await eventually(`${id} on publish-${index + 1}`, () => userOn(index, id));
        await eventually(`${id}-later on publish-${index + 1}`, () => userOn(index, `${id}-later`));
      }
      const agents = await eventually('the queues to drain', async () => {
        const all = await status();
        return all.every((agent) => agent.queued === 0 && agent.head === null) && all;
      });
      for (const [index, agent] of agents.entries()) {
        const [source] = await createReceiver({ repo: publishServices[index]!.repo, clock: { now: () => 0 } }).sources();
        assert.equal(source!.lastSequence, agent.lastDeliveredSequence, `publish-${index + 1} applied exactly the packages the author recorded`);
      }
      assert.equal(await loginStatus(publishes[0]!.url, id, 'crash-pw-correct-horse'), 200);
    });
  }
});
