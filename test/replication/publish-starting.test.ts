import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createOutbox, readAgentState } from '../../src/replication/index.js';
import { deliverRound, type AgentRoundDeps } from '../../src/replication/agent.js';
import { createHttpTransport } from '../../src/replication/transport.js';
import { initialisedHome, startTestInstance } from '../helpers/homes.js';
import { capturedLogger } from '../helpers/logs.js';
import { freePort } from '../helpers/ports.js';
import { tempServices } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

// A farm starts its members together: the author's agents try publishes that are not listening
// yet. That is no blocked queue; a publish that answered before and then refuses is one.

const AGENT = 'publish-1';

interface Line {
  level: number;
  msg: string;
  agent?: string;
}

describe('an agent whose publish is still starting', () => {
  it('logs "waiting for publish-1 to start" at info, not "replication queue blocked"; once the publish has answered, a refusal is a blocked queue again', async (t) => {
    const author = await tempServices(await initialisedHome());
    t.after(() => author.close());
    const outbox = createOutbox(author.repo);
    const log = capturedLogger();
    const lines = () => log.lines.map((line) => JSON.parse(line) as Line);
    const round = (url: string) =>
      deliverRound(AGENT, {
        repo: author.repo,
        outbox,
        clock: author.clock,
        transport: createHttpTransport({ url, user: 'replicator', password: () => 'transport-pw' }),
        log: log.logger,
      } satisfies AgentRoundDeps);

    // Nothing listens there yet: connection refused, and the publish has never answered.
    const notYet = `http://127.0.0.1:${await freePort()}`;
    assert.equal(await round(notYet), 'blocked');
    assert.equal(await round(notYet), 'blocked');
    assert.deepEqual(
      lines().map(({ level, msg }) => ({ level, msg })),
      [
        { level: 30, msg: 'replication snapshot started' },
        { level: 30, msg: 'waiting for publish-1 to start: it refuses connections and has never answered; replication sends once it does' },
      ],
      'one info line, no warning',
    );
    assert.ok((await readAgentState(author.repo, AGENT))?.blockedSince, 'status still shows the queue waiting');

    const publish = await startTestInstance(join(tempDir(), 'publish'), { name: AGENT });
    await publish.services.users.createUser('replicator', { password: 'transport-pw', groups: ['replication-receivers'] });
    for (let i = 0; i < 10 && (await round(publish.url)) !== 'idle'; i++);
    assert.equal((await readAgentState(author.repo, AGENT))?.snapshotPending, false, 'the snapshot was delivered');
    await publish.stop();

    await author.users.createUser('bob', { password: 'bob-pw-correct-horse' });
    log.lines.length = 0;
    assert.equal(await round(publish.url), 'blocked');
    assert.deepEqual(
      lines().map(({ level, msg }) => ({ level, msg })),
      [{ level: 40, msg: 'replication queue blocked' }],
      'a publish that answered before and now refuses: warned',
    );
  });
});
