import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openServices, type Services } from '../../src/instance/index.js';
import { createReceiver, readAgentState } from '../../src/replication/index.js';
import type { Repository } from '../../src/repository/index.js';
import { readReplicatedUser, USER_TYPE } from '../../src/users/index.js';
import { systemClock } from '../../src/clock.js';
import { login } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { seedUsers, seededUserId } from '../helpers/seed-users.js';
import { tempDir } from '../helpers/temp.js';
import { cli, eventually, instanceProcess, type InstanceProcess } from '../helpers/replication-instances.js';

const USERS = 3000;
const GROUPS = 3;
const PACKAGE_ITEMS = 25;
/** What the snapshot counts when it starts: the seeded users and groups (admin and administrators stay each instance's own). */
const SNAPSHOT_ITEMS = USERS + GROUPS;
const LOCAL_ON_PUBLISH = new Set(['admin', 'replicator']);

interface AgentStatusJson {
  name: string;
  queued: number;
  snapshotPending: boolean;
  snapshot: { sent: number; total: number } | null;
  blockedSince: string | null;
}

/** Every user a repository holds, as replication carries it, by id. */
async function replicatedUsers(repo: Repository, except: ReadonlySet<string>): Promise<Map<string, unknown>> {
  const users = new Map<string, unknown>();
  for (let after = ''; ; ) {
    const page = await repo.findByType(USER_TYPE, 1000, after);
    if (page.length === 0) return users;
    for (const node of page) {
      const id = node.properties.userId as string;
      if (!except.has(id)) users.set(id, await readReplicatedUser(repo, node, { localGroups: ['administrators', 'replication-receivers'] }));
    }
    after = page.at(-1)!.id;
  }
}

/**
 * A new publish backfilled from an author with a few thousand users, in packages of 25 (so the
 * snapshot spans 120 of them), each `capsule start` in its own process: the author killed right
 * after it recorded a part, the publish killed in the middle of applying one, users written on
 * the author while the snapshot is under way. In the end the publish has exactly the author's users.
 */
describe('a streamed backfill of a new publish', () => {
  let author: InstanceProcess;
  let publish: InstanceProcess;
  let authorServices: Services;
  const status = async () => (JSON.parse(await cli(['replication', 'status', '--json', '--home', author.home])) as AgentStatusJson[])[0]!;

  before(async () => {
    const root = tempDir();
    author = await instanceProcess(join(root, 'author'), '127.0.0.1', 'author');
    const bundle = join(root, 'keys.bundle');
    await cli(['keys', 'export', '--out', bundle, '--home', author.home]);
    await cli(['keys', 'import', '--in', bundle, '--home', join(root, 'publish')]);
    publish = await instanceProcess(join(root, 'publish'), '127.0.0.2', 'publish');
    await cli(['users', 'add', 'replicator', '--password-stdin', '--group', 'replication-receivers', '--home', publish.home], 'transport-pw\n');
    await author.stop();
    const seeding = await openServices({ home: author.home, hasher: fastHasher, clock: systemClock });
    await seedUsers(seeding.repo, { count: USERS, groups: GROUPS, passwordHash: await fastHasher.hash('seeded-pw-correct-horse') });
    await seeding.close();
  });
  after(async () => {
    await authorServices?.close();
    for (const instance of [author, publish]) await instance?.stop('SIGKILL');
  });

  it('goes on from where it was after SIGKILLs of the author and the publish, shows its progress, and ends with every user and every change made meanwhile', async () => {
    await cli(
      ['replication', 'add-agent', 'publish', '--url', publish.url, '--transport-user', 'replicator', '--transport-password-stdin', '--retry-delay', '1', '--package-items', String(PACKAGE_ITEMS), '--home', author.home],
      'transport-pw\n',
    );
    // The author dies right after it recorded the first part of the snapshot as delivered.
    await author.start({ CAPSULE_FAILPOINT: 'replication:snapshot-part-recorded' });
    await author.exited();
    authorServices = await openServices({ home: author.home, hasher: fastHasher, clock: systemClock });
    const stopped = (await readAgentState(authorServices.repo, 'publish'))!;
    assert.equal(stopped.snapshotPending, true);
    assert.equal(stopped.inflight, null);
    assert.equal(stopped.lastDeliveredSequence, 1);
    assert.deepEqual(stopped.snapshotCursor?.phase, 'users', 'where the snapshot stands is kept in the repository: the author holds one package, not the snapshot');
    assert.equal(stopped.snapshotSent, PACKAGE_ITEMS);

    // Progress, as the operator sees it.
    assert.deepEqual((await status()).snapshot, { sent: PACKAGE_ITEMS, total: SNAPSHOT_ITEMS });
    assert.match(await cli(['replication', 'status', '--home', author.home]), new RegExp(`snapshot ${PACKAGE_ITEMS}/${SNAPSHOT_ITEMS}`));

    // The publish dies in the middle of applying the next part (its transaction rolls back).
    await publish.stop();
    await publish.start({ CAPSULE_FAILPOINT: 'replication.receive.mid-package' });
    const outputBefore = author.output().length;
    await author.start();
    await publish.exited();
    const blocked = await eventually('the agent to report the publish unreachable', async () => {
      const now = await status();
      return now.blockedSince !== null && now;
    });
    assert.deepEqual(blocked.snapshot, { sent: PACKAGE_ITEMS, total: SNAPSHOT_ITEMS }, 'the part the publish did not apply is not counted');
    const afterRestart = (await readAgentState(authorServices.repo, 'publish'))!;
    assert.equal(afterRestart.snapshotAt, stopped.snapshotAt, 'the restarted author went on with the same snapshot');
    assert.equal(afterRestart.inflight?.pkg.sequence, 2);
    assert.ok(afterRestart.inflight!.pkg.items.length <= PACKAGE_ITEMS);
    assert.doesNotMatch(author.output().slice(outputBefore), /replication snapshot started/, 'the restarted author did not start the snapshot again');

    // The console shows the progress too.
    const admin = await login(author.url, 'admin', 'admin-password');
    const page = await (await fetch(`${author.url}/system/console/replication`, { headers: { cookie: `login-token=${admin}` } })).text();
    assert.match(page, new RegExp(`snapshot: ${PACKAGE_ITEMS} of ${SNAPSHOT_ITEMS.toLocaleString('en')} items sent`));
    assert.match(page, new RegExp(`<progress max="${SNAPSHOT_ITEMS}" value="${PACKAGE_ITEMS}">`));

    // Changes while the snapshot is under way: to a user already sent, to users not sent yet, new users.
    const onPublish = await openServices({ home: publish.home, hasher: fastHasher, clock: systemClock });
    const seeded = Array.from({ length: USERS }, (_, index) => seededUserId(index));
    const sent: string[] = [];
    for (const id of seeded) if (await onPublish.users.getUser(id)) sent.push(id);
    await onPublish.close();
    const notSent = seeded.filter((id) => !sent.includes(id));
    assert.equal(sent.length, PACKAGE_ITEMS - GROUPS, 'the groups, then the first users');
    await authorServices.users.setDisabled(sent[0]!, true);
    await authorServices.users.setDisabled(notSent[0]!, true);
    await authorServices.users.removeUser(notSent[1]!);
    await authorServices.users.createGroup('late-group');
    for (let index = 0; index < 30; index++) await authorServices.users.createUser(`late-${index}`, { password: 'late-pw-correct-horse', groups: ['late-group'] });
    await authorServices.users.addMember('late-group', sent[0]!);

    await publish.start();
    await eventually('the snapshot and the queue after it delivered', async () => {
      const now = await status();
      return !now.snapshotPending && now.queued === 0 && now.blockedSince === null;
    }, 180_000);
    const done = (await readAgentState(authorServices.repo, 'publish'))!;
    assert.equal(done.snapshotCursor, null);
    assert.equal((await status()).snapshot, null);
    assert.ok(done.lastDeliveredSequence > SNAPSHOT_ITEMS / PACKAGE_ITEMS, `the snapshot went in packages of at most ${PACKAGE_ITEMS} (${done.lastDeliveredSequence} packages)`);

    const publishServices = await openServices({ home: publish.home, hasher: fastHasher, clock: systemClock });
    try {
      const expected = await replicatedUsers(authorServices.repo, new Set(['admin']));
      const actual = await replicatedUsers(publishServices.repo, LOCAL_ON_PUBLISH);
      assert.equal(actual.size, USERS - 1 + 30);
      assert.deepEqual(actual, expected, 'the publish has exactly the users of the author, as they are now');
      assert.equal((await publishServices.users.getUser(sent[0]!))?.disabled, true);
      assert.equal(await publishServices.users.getUser(notSent[1]!), null);
      const [source] = await createReceiver({ repo: publishServices.repo, clock: systemClock }).sources();
      assert.equal(source?.lastSequence, done.lastDeliveredSequence, 'every package applied once, in order');
    } finally {
      await publishServices.close();
    }
  });
});
