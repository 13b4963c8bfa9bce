import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOutbox, pruneOutbox, readAgentState } from '../../src/replication/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { tempServices } from '../helpers/services.js';

describe('capsule replication (command line)', () => {
  it('says in one line what is wrong, exits 2, and changes nothing', async () => {
    const home = await initialisedHome();
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [['replication', 'add-agent', 'p1', '--transport-user', 'r', '--transport-password-stdin'], 'pw-correct-horse\n', /--url/],
      [['replication', 'add-agent', 'p1', '--url', 'http://127.0.0.2:4503', '--transport-user', 'r'], undefined, /--transport-password-stdin/],
      [['replication', 'add-agent', 'p1', '--url', 'ftp://x', '--transport-user', 'r', '--transport-password-stdin'], 'pw-correct-horse\n', /url/i],
      [['replication', 'add-agent', 'bad name', '--url', 'http://127.0.0.2:4503', '--transport-user', 'r', '--transport-password-stdin'], 'pw-correct-horse\n', /not an agent name/],
      [['replication', 'retry', 'nobody'], undefined, /no replication agent 'nobody'/],
      [['replication', 'resync', 'nobody'], undefined, /no replication agent 'nobody'/],
      [['content', 'activate', '/content/missing'], undefined, /no content at \/content\/missing/],
    ];
    for (const [args, stdin, message] of cases) {
      const result = await runCliInProcess([...args, '--home', home], { stdin });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
    }
    const status = await runCliInProcess(['replication', 'status', '--json', '--home', home]);
    assert.equal(status.code, 0);
    assert.deepEqual(JSON.parse(status.stdout), []);
  });

  it('add-agent keeps the password encrypted; status, resync and remove act on it', async () => {
    const home = await initialisedHome();
    const added = await runCliInProcess(['replication', 'add-agent', 'p1', '--url', 'http://127.0.0.2:4503/', '--transport-user', 'r', '--transport-password-stdin', '--home', home], { stdin: 'secret-pw-correct-horse\n' });
    assert.equal(added.code, 0, added.stderr);
    const config = await runCliInProcess(['config', 'get', 'capsule.replication.agent~p1', '--json', '--home', home]);
    assert.ok(!config.stdout.includes('secret-pw-correct-horse'));
    const twice = await runCliInProcess(['replication', 'add-agent', 'p1', '--url', 'http://127.0.0.2:4503', '--transport-user', 'r', '--transport-password-stdin', '--home', home], { stdin: 'x\n' });
    assert.equal(twice.code, 2);
    const status = JSON.parse((await runCliInProcess(['replication', 'status', '--json', '--home', home])).stdout) as Array<{ name: string; url: string; snapshotPending: boolean; head: string }>;
    assert.deepEqual(status.map(({ name, url, snapshotPending, head }) => ({ name, url, snapshotPending, head })), [
      { name: 'p1', url: 'http://127.0.0.2:4503', snapshotPending: true, head: 'full snapshot' },
    ]);
    assert.equal((await runCliInProcess(['replication', 'resync', 'p1', '--home', home])).code, 0);
    assert.equal((await runCliInProcess(['replication', 'remove', 'p1', '--home', home])).code, 0);
    assert.deepEqual(JSON.parse((await runCliInProcess(['replication', 'status', '--json', '--home', home])).stdout), []);
  });
});

describe('outbox pruning', () => {
  it('removes what every agent has, nothing while an agent has not started, and everything when there are no agents', async () => {
    const services = await tempServices(await initialisedHome());
    const { repo, config, users } = services;
    const outbox = createOutbox(repo);
    for (const id of ['a', 'b', 'c', 'd']) await users.createUser(id, { password: 'pw-correct-horse' });
    const head = await outbox.head();
    await config.update('capsule.replication.agent~p1', { url: 'http://127.0.0.2:1', 'transport.user': 'r', 'transport.password': 'pw-correct-horse' });
    assert.equal(await pruneOutbox(repo, config, outbox), 0, 'an agent without a position holds everything');
    await repo.addNode('/var/replication/agents/p1', { type: 'capsule:ReplicationAgent', properties: { source: 'p1.x', nextSequence: 3, cursor: head - 2, snapshotPending: false } });
    assert.ok(await readAgentState(repo, 'p1'));
    assert.equal(await pruneOutbox(repo, config, outbox), head - 2);
    assert.deepEqual((await outbox.read(head - 2, 10)).map((entry) => entry.seq), [head - 1, head], 'what the agent still needs stays');
    await config.delete('capsule.replication.agent~p1');
    assert.equal(await pruneOutbox(repo, config, outbox), 2);
    assert.deepEqual(await outbox.read(0, 10), []);
  });
});
