import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { createContentService } from '../../src/content/index.js';
import { createOutbox, pruneOutbox, readAgentState, replicationStatus } from '../../src/replication/index.js';
import { deliverRound, type RoundResult } from '../../src/replication/agent.js';
import { agentStatePath } from '../../src/replication/agent-state.js';
import { OUTBOX_COUNTER, outboxPath } from '../../src/replication/outbox.js';
import { createHttpTransport } from '../../src/replication/transport.js';
import type { Services } from '../../src/instance/index.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { tempServices } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { systemClock } from '../../src/clock.js';
import { capturedLogger } from '../helpers/logs.js';

const AGENT = 'publish-1';
const SOURCE = 'publish-1.0123456789ab';

/** A publish of this version, and an author (not running: its rounds are driven here) with an agent for it. */
async function authorAndPublish(t: TestContext) {
  const publish = await startTestInstance(join(tempDir(), 'publish'), { name: 'publish-1' });
  t.after(() => publish.stop());
  await publish.services.users.createUser('replicator', { password: 'transport-pw', groups: ['replication-receivers'] });
  const author = await tempServices(await initialisedHome());
  await author.config.update(`capsule.replication.agent~${AGENT}`, { url: publish.url, 'transport.user': 'replicator', 'transport.password': 'transport-pw' });
  const transport = createHttpTransport({ url: publish.url, user: 'replicator', password: () => 'transport-pw' });
  const outbox = createOutbox(author.repo);
  /** Rounds of the upgraded author until the agent has nothing left to send (bounded). */
  const rounds = async (): Promise<RoundResult[]> => {
    const results: RoundResult[] = [];
    for (let round = 0; round < 10; round++) {
      results.push(await deliverRound(AGENT, { repo: author.repo, outbox, clock: author.clock, transport, log: capturedLogger().logger }));
      const state = await readAgentState(author.repo, AGENT);
      if (results.at(-1) === 'idle' && state && !state.snapshotPending && !state.inflight) return results;
    }
    throw new Error(`the agent did not settle: ${results.join(', ')}`);
  };
  const anonymousStatus = async (path: string) => (await fetch(`${publish.url}${path}.json`)).status;
  return { publish, author, transport, outbox, rounds, anonymousStatus };
}

/** Writes what an older version left in the author's repository: outbox items (as text) and the agent's state. */
async function plant(author: Services, items: readonly unknown[], agent: Record<string, string | number | boolean>) {
  await author.repo.transaction(async (tx) => {
    for (const item of items) {
      const seq = await tx.bumpCounter(OUTBOX_COUNTER);
      await tx.addNode(outboxPath(seq), { type: 'capsule:ReplicationItem', properties: { seq, item: typeof item === 'string' ? item : JSON.stringify(item) } });
    }
    await tx.addNode(agentStatePath(AGENT), { type: 'capsule:ReplicationAgent', properties: { source: SOURCE, deliveredItems: 0, ...agent } });
  });
}

const title = (value: string) => ({ title: { t: 'string' as const, v: value } });

describe('replication across an upgrade', () => {
  it('an upgraded author sends the activations an older version queued and wrote down, in the current format, and the publish protects them', async (t) => {
    const { publish, author, transport, rounds, anonymousStatus } = await authorAndPublish(t);
    // Content as the older version wrote it: its rule changes were not queued.
    await createContentService(author.repo, { clock: systemClock }).put('/content/site', {
      title: 'Site',
      private: { title: 'Members', allowedGroups: ['members'], page: { title: 'Members page' } },
      docs: { title: 'Docs', a: { title: 'A', b: { title: 'B' } } },
    });
    // The older version's activations: no `ancestors`, and a subtree in whatever order the backend gave.
    const page = { type: 'content', path: '/content/site/private/page', deep: false, nodes: [{ path: '/content/site/private/page', type: 'capsule:Content', properties: title('Members page') }] };
    const docs = {
      type: 'content',
      path: '/content/site/docs',
      deep: true,
      nodes: [
        { path: '/content/site/docs/a/b', type: 'capsule:Content', properties: title('B') },
        { path: '/content/site/docs/a', type: 'capsule:Content', properties: title('A') },
        { path: '/content/site/docs', type: 'capsule:Content', properties: title('Docs') },
      ],
    };
    const inFlight = { format: 1, source: SOURCE, sequence: 1, items: [page] };
    await plant(author, [page, docs], { nextSequence: 1, cursor: 0, snapshotPending: false, inflight: JSON.stringify({ pkg: inFlight, cursorAfter: 1 }) });

    // Sent as the older author sends it, the publish of this version refuses it, saying why, and changes nothing.
    const refused = await transport.send(inFlight as never);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.status, 400);
    assert.match(!refused.ok ? refused.message : '', /REPLICATION_PACKAGE_INVALID|malformed replication package/);
    assert.match(!refused.ok ? refused.message : '', /access rules of \/content, \/content\/site, \/content\/site\/private must come with \/content\/site\/private\/page; .*older author: upgrade the author too/);
    assert.equal(await publish.services.repo.getNode('/content/site/private/page'), null);

    // The upgraded author reads what the older one left: status, pruning and resync keep working.
    const [status] = await replicationStatus({ repo: author.repo, config: author.config, clock: author.clock });
    assert.equal(status!.head, 'package 1: activation of /content/site/private/page');
    assert.equal(await pruneOutbox(author.repo, author.config, createOutbox(author.repo)), 0, 'nothing delivered yet, nothing pruned');
    assert.equal((await readAgentState(author.repo, AGENT))!.inflight!.pkg.sequence, 1);

    // And sends it all without any repair by hand: the package in flight again under its number, then the queue.
    assert.deepEqual(await rounds(), ['delivered', 'delivered', 'idle']);
    assert.equal(await anonymousStatus('/content/site/private/page'), 401, 'members-only on the publish as on the author');
    assert.deepEqual((await publish.services.repo.getNode('/content/site/private'))!.properties.allowedGroups, ['members']);
    assert.equal(await anonymousStatus('/content/site/docs/a/b'), 200);
    assert.equal((await readAgentState(author.repo, AGENT))!.cursor, 2);
  });

  it('a package in flight or an outbox item that cannot be read is dropped, and a full snapshot stands for it', async (t) => {
    const { author, outbox, rounds, anonymousStatus } = await authorAndPublish(t);
    await createContentService(author.repo, { clock: systemClock }).put('/content/site', { title: 'Site', private: { title: 'Members', allowedGroups: ['members'] } });
    await outbox.activate('/content/site', true);
    // Not JSON, and an access rule for a path outside /content: neither can be sent.
    await plant(author, ['{"type":"content",', { type: 'access', path: '/etc/key', allowedGroups: [] }], {
      nextSequence: 1,
      cursor: 0,
      snapshotPending: false,
      inflight: JSON.stringify({ pkg: { format: 1, source: SOURCE, sequence: 1, items: 'not a list' }, cursorAfter: 1 }),
    });
    assert.deepEqual((await outbox.read(0, 10)).map((entry) => entry.seq), [1], 'reading stops before an item it cannot read');
    const [status] = await replicationStatus({ repo: author.repo, config: author.config, clock: author.clock });
    assert.match(status!.head!, /^package 1: the package in flight cannot be read .*; a full snapshot replaces it$/);
    assert.equal(await pruneOutbox(author.repo, author.config, outbox), 0);

    // The package in flight is dropped and the snapshot sent as package 2; the publish, which never
    // had package 1, asks for it (409) and gets the snapshot under that number.
    assert.deepEqual(await rounds(), ['delivered', 'delivered', 'idle']);
    const state = (await readAgentState(author.repo, AGENT))!;
    assert.deepEqual({ cursor: state.cursor, lastDeliveredSequence: state.lastDeliveredSequence }, { cursor: 3, lastDeliveredSequence: 1 });
    assert.equal(await anonymousStatus('/content/site'), 200);
    assert.equal(await anonymousStatus('/content/site/private'), 401);
  });
});
