import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createOutbox, createReceiver, readAgentState, requestResync } from '../../src/replication/index.js';
import { deliverRound } from '../../src/replication/agent.js';
import { createHttpTransport } from '../../src/replication/transport.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { freePort } from '../helpers/ports.js';
import { tempServices } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { capturedLogger } from '../helpers/logs.js';

const AGENT = 'publish-1';

describe('a resync requested while the last part of a snapshot waits to be sent', () => {
  it('is not lost: the part goes, then a whole snapshot again', async (t) => {
    const publish = await startTestInstance(join(tempDir(), 'publish'), { name: 'publish-1' });
    t.after(() => publish.stop());
    await publish.services.users.createUser('replicator', { password: 'transport-pw', groups: ['replication-receivers'] });
    const author = await tempServices(await initialisedHome());
    await author.users.createUser('alice', { password: 'alice-pw-correct-horse' });
    await author.config.update(`capsule.replication.agent~${AGENT}`, { url: publish.url, 'transport.user': 'replicator', 'transport.password': 'transport-pw' });
    const deps = { repo: author.repo, outbox: createOutbox(author.repo), clock: author.clock, log: capturedLogger().logger };
    const down = createHttpTransport({ url: `http://127.0.0.9:${await freePort()}`, user: 'replicator', password: () => 'transport-pw' });
    const up = createHttpTransport({ url: publish.url, user: 'replicator', password: () => 'transport-pw' });

    // The snapshot's one (so last) part is written down, and the publish cannot be reached.
    assert.equal(await deliverRound(AGENT, { ...deps, transport: down }), 'blocked');
    assert.equal((await readAgentState(author.repo, AGENT))?.inflight?.snapshotFinal, true);
    await requestResync(author.repo, author.config, AGENT);

    const results = [];
    for (let round = 0; round < 5; round++) results.push(await deliverRound(AGENT, { ...deps, transport: up }));
    const state = (await readAgentState(author.repo, AGENT))!;
    assert.equal(state.snapshotPending, false, results.join(', '));
    const [source] = await createReceiver({ repo: publish.services.repo, clock: publish.services.clock }).sources();
    assert.equal(source?.lastSequence, 2, 'the part written down before the resync, then the resync\'s snapshot');
    assert.ok(await publish.services.users.getUser('alice'));
  });
});
