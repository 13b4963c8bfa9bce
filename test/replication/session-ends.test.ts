import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { openServices, type Services } from '../../src/instance/index.js';
import { OUTBOX_COUNTER, replicationStatus } from '../../src/replication/index.js';
import { login, sessionStatus, withToken } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { ADMIN_PASSWORD, cli, eventually, instanceProcess, type InstanceProcess } from '../helpers/replication-instances.js';

const ALICE_PASSWORD = 'alice-pw-correct-horse';

/**
 * An author and a publish, each `capsule start` in its own process and home (127.0.0.1 and
 * 127.0.0.2), neither with a farm store: each keeps its sessions in its own repository. Tokens are
 * encapsulated and the keys shared, so a token issued on the author works on the publish, which
 * hears of the session's end only by replication.
 */
describe('session ends replicate from an author to a publish without a farm store', () => {
  let author: InstanceProcess;
  let publish: InstanceProcess;
  let authorServices: Services;

  /** Resolves once every agent has delivered every outbox item written so far (the author's own record). */
  async function delivered(): Promise<void> {
    await authorServices.config.refresh(); // agents added by the CLI since
    const head = await authorServices.repo.readCounter(OUTBOX_COUNTER);
    await eventually(`the publishes to have outbox item ${head}`, async () => {
      const agents = await replicationStatus({ ...authorServices, clock: systemClock });
      return agents.length > 0 && agents.every((agent) => !agent.snapshotPending && agent.deliveredThrough >= head);
    });
  }
  const sessionIdOf = async (token: string) => {
    const { sessions } = (await (await fetch(`${author.url}/api/sessions`, withToken(token))).json()) as { sessions: Array<{ id: string; current: boolean }> };
    return sessions.find((session) => session.current)!.id;
  };

  let root: string;
  before(async () => {
    root = tempDir();
    author = await instanceProcess(join(root, 'author'), '127.0.0.1', 'author');
    await cli(['config', 'set', 'capsule.auth.token', 'token.encapsulated=true', '--home', author.home]);
    await cli(['keys', 'export', '--out', join(root, 'keys.bundle'), '--home', author.home]);
    publish = await addPublish('publish', '127.0.0.2');
    await cli(['users', 'add', 'alice', '--password-stdin', '--home', author.home], `${ALICE_PASSWORD}\n`);
    authorServices = await openServices({ home: author.home, hasher: fastHasher, clock: systemClock });
    await delivered();
  });
  const later: InstanceProcess[] = [];
  after(async () => {
    await authorServices?.close();
    for (const instance of [author, publish, ...later]) await instance?.stop('SIGKILL');
  });

  /** A publish with the author's keys, encapsulated tokens and a transport user, and the author's agent for it. */
  async function addPublish(name: string, host: string): Promise<InstanceProcess> {
    const home = join(root, name);
    await cli(['keys', 'import', '--in', join(root, 'keys.bundle'), '--home', home]);
    const started = await instanceProcess(home, host, name);
    await cli(['config', 'set', 'capsule.auth.token', 'token.encapsulated=true', '--home', home]);
    await cli(['users', 'add', 'replicator', '--password-stdin', '--group', 'replication-receivers', '--home', home], 'transport-pw\n');
    await cli(
      ['replication', 'add-agent', name, '--url', started.url, '--transport-user', 'replicator', '--transport-password-stdin', '--retry-delay', '1', '--home', author.home],
      'transport-pw\n',
    );
    return started;
  }

  it('a session revoked on the author is refused on the publish once delivered, and after the publish restarts; another session of the user is not', async () => {
    const revoked = await login(author.url, 'alice', ALICE_PASSWORD);
    const kept = await login(author.url, 'alice', ALICE_PASSWORD);
    for (const token of [revoked, kept]) assert.equal(await sessionStatus(publish.url, token), 200, "an author's token works on the publish");
    const admin = await login(author.url, 'admin', ADMIN_PASSWORD);

    const sid = await sessionIdOf(revoked);
    const response = await fetch(`${author.url}/api/users/alice/sessions/${sid}`, { method: 'DELETE', headers: { 'login-token': admin } });
    assert.equal(response.status, 200, await response.text());
    assert.equal(await sessionStatus(author.url, revoked), 401, 'refused on the author at once');

    await delivered();
    // The publish's registry hears the end from its store's push, a moment after the package committed.
    await eventually('the revoked token refused on the publish', async () => (await sessionStatus(publish.url, revoked)) === 401);
    assert.equal(await sessionStatus(publish.url, kept), 200, "alice's other session is untouched");

    await publish.stop('SIGTERM');
    await publish.start();
    assert.equal(await sessionStatus(publish.url, revoked), 401, 'still refused after a restart: the end is recorded in the publish\'s store');
    assert.equal(await sessionStatus(publish.url, kept), 200);
  });

  it("'capsule sessions revoke-all' on the author's home reaches the publish too", async () => {
    const token = await login(author.url, 'alice', ALICE_PASSWORD);
    assert.equal(await sessionStatus(publish.url, token), 200);
    await cli(['sessions', 'revoke-all', '--user', 'alice', '--home', author.home]);
    await delivered();
    await eventually('every session of alice refused on the publish', async () => (await sessionStatus(publish.url, token)) === 401);
    const fresh = await login(author.url, 'alice', ALICE_PASSWORD);
    assert.equal(await sessionStatus(publish.url, fresh), 200, 'a session begun after works');
  });

  it('a publish added after an end is sent it with its first snapshot', async () => {
    const ended = await login(author.url, 'alice', ALICE_PASSWORD);
    const kept = await login(author.url, 'alice', ALICE_PASSWORD);
    const admin = await login(author.url, 'admin', ADMIN_PASSWORD);
    const response = await fetch(`${author.url}/api/users/alice/sessions/${await sessionIdOf(ended)}`, { method: 'DELETE', headers: { 'login-token': admin } });
    assert.equal(response.status, 200, await response.text());
    await delivered();

    const added = await addPublish('publish-late', '127.0.0.3');
    later.push(added);
    await delivered();
    assert.equal(await sessionStatus(added.url, kept), 200, 'alice arrived, and her other session works');
    await eventually('the ended session refused on the new publish', async () => (await sessionStatus(added.url, ended)) === 401);
  });
});
