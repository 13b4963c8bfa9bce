import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOutbox, createReceiver, readAgentState, requestResync, type ReplicationPackage } from '../../src/replication/index.js';
import { deliverRound } from '../../src/replication/agent.js';
import { createPartPrefetch } from '../../src/replication/part-prefetch.js';
import type { DeliveryAnswer, Transport } from '../../src/replication/transport.js';
import type { Repository } from '../../src/repository/index.js';
import { USER_TYPE } from '../../src/users/index.js';
import { initialisedHome } from '../helpers/homes.js';
import { tempServices } from '../helpers/services.js';
import { capturedLogger } from '../helpers/logs.js';

const AGENT = 'publish-1';
const USERS = 40;
const PACKAGE_ITEMS = 10;

/** The author's repository, telling each read of users by where it starts (`after`). */
function watchedReads(repo: Repository): { repo: Repository; reads: string[]; readOf(after: string): Promise<void> } {
  const reads: string[] = [];
  const waiting = new Map<string, () => void>();
  const watched = Object.create(repo) as Repository;
  watched.findByType = async (type, limit, after) => {
    if (type === USER_TYPE) {
      reads.push(after ?? '');
      waiting.get(after ?? '')?.();
    }
    return repo.findByType(type, limit, after);
  };
  // Bounded, so that an author that does not read ahead fails the test instead of hanging it.
  const readOf = (after: string) =>
    new Promise<void>((resolve, reject) => {
      const bound = setTimeout(() => reject(new Error(`the part after ${after} was not read while the package was held`)), 30_000);
      waiting.set(after, () => {
        clearTimeout(bound);
        resolve();
      });
    });
  return { repo: watched, reads, readOf };
}

/** A transport into a real receiver (the publish's repository, in this process) that holds each package until let go. */
function heldTransport(publishRepo: Repository): Transport & { sent: ReplicationPackage[]; release(): void } {
  const receiver = createReceiver({ repo: publishRepo, clock: { now: () => Date.now() } });
  let release = () => {};
  const sent: ReplicationPackage[] = [];
  return {
    sent,
    release: () => release(),
    async send(pkg): Promise<DeliveryAnswer> {
      sent.push(pkg);
      await new Promise<void>((resolve) => (release = resolve));
      const result = await receiver.receive(pkg);
      return { ok: true, outcome: result.outcome === 'duplicate' ? 'duplicate' : 'applied' };
    },
  };
}

/** An author with USERS users whose reads are watched, a fresh publish behind a held transport, and an agent's round dependencies with a prefetch. */
async function authorAndPublish() {
  const author = await tempServices(await initialisedHome());
  const publish = await tempServices(await initialisedHome());
  for (let index = 0; index < USERS; index++) await author.users.createUser(`user-${String(index).padStart(3, '0')}`, { password: 'user-pw-correct-horse' });
  const watched = watchedReads(author.repo);
  const transport = heldTransport(publish.repo);
  const deps = { repo: watched.repo, outbox: createOutbox(author.repo), clock: author.clock, log: capturedLogger().logger, transport, packageItems: PACKAGE_ITEMS, prefetch: createPartPrefetch() };
  return { author, publish, watched, transport, deps };
}

describe('reading the next part of a snapshot while the current one is sent', () => {
  it('reads it during the send, sends it without reading it again, and the publish ends with every user once', async () => {
    const { author, publish, watched, transport, deps } = await authorAndPublish();

    for (let round = 0; ; round++) {
      assert.ok(round < 20, 'the snapshot ends');
      const sending = deliverRound(AGENT, deps);
      // Wait until the package is on its way; then, unless it is the last part, for the read of the next one.
      await waitUntil(() => transport.sent.length === round + 1);
      const state = (await readAgentState(author.repo, AGENT))!;
      const next = state.inflight?.snapshotNext ? (JSON.parse(state.inflight.snapshotNext) as { phase: string; after: string }) : null;
      const readsBefore = watched.reads.length;
      if (next?.phase === 'users') await watched.readOf(next.after); // the event: the next part read while this one is held
      transport.release();
      assert.equal(await sending, 'delivered');
      if (next?.phase === 'users') assert.ok(watched.reads.length > readsBefore, 'the next part was read during the send');
      if (!(await readAgentState(author.repo, AGENT))!.snapshotPending) break;
    }
    // Each part of the users read once: the round that sends a part read ahead does not read it again.
    assert.equal(new Set(watched.reads).size, watched.reads.length, `no read repeated: ${watched.reads.join(' ')}`);
    const ids = transport.sent.flatMap((pkg) => pkg.items.filter((item) => item.type === 'user').map((item) => (item as { id: string }).id));
    assert.equal(ids.length, USERS, 'every user sent once');
    assert.equal(new Set(ids).size, USERS);
    for (const id of ids) assert.ok(await publish.users.getUser(id), `${id} on the publish`);
  });

  it('drops what it read ahead when a resync starts the snapshot again', async () => {
    const { author, watched, transport, deps } = await authorAndPublish();

    await author.config.update(`capsule.replication.agent~${AGENT}`, { url: 'http://127.0.0.1:9', 'transport.user': 'replicator', 'transport.password': 'transport-pw' });
    const first = deliverRound(AGENT, deps);
    await waitUntil(() => transport.sent.length === 1);
    const next = JSON.parse((await readAgentState(author.repo, AGENT))!.inflight!.snapshotNext!) as { after: string };
    await watched.readOf(next.after);
    transport.release();
    assert.equal(await first, 'delivered');
    await requestResync(author.repo, author.config, AGENT);

    const second = deliverRound(AGENT, deps);
    await waitUntil(() => transport.sent.length === 2);
    const sentAgain = transport.sent[1]!;
    assert.deepEqual(sentAgain.items, transport.sent[0]!.items, 'the resync sends the first part again, not the part read ahead');
    transport.release();
    assert.equal(await second, 'delivered');
  });
});

describe('a part read ahead', () => {
  it('is read once for a position however often a blocked package is sent again, and taken only for that position', async () => {
    const prefetch = createPartPrefetch();
    let reads = 0;
    const read = async () => {
      reads++;
      return { items: [], next: null };
    };
    for (let retry = 0; retry < 5; retry++) prefetch.start('at 7, after u-10', read);
    assert.deepEqual(await prefetch.take('at 7, after u-10'), { items: [], next: null });
    assert.equal(reads, 1);
    prefetch.start('at 7, after u-20', read);
    assert.equal(prefetch.take('at 8, after u-20'), null, 'another snapshot position: dropped');
    assert.equal(prefetch.take('at 7, after u-20'), null, 'and gone');
  });
});

/** Turns of the event loop until `condition` holds (each round writes and sends within a few turns). */
async function waitUntil(condition: () => boolean): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn > 100_000) throw new Error('gave up waiting');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
