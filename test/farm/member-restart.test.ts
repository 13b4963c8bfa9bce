import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { farmUp, initLocalFarm, isAlive, type FarmProcess, type LocalFarm } from '../helpers/local-farm.js';
import { waitUntil } from '../helpers/remote-farm.js';
import { runCli } from '../helpers/cli.js';

// `farm up` starts a member that stopped unasked again; `farm restart NAME` restarts one on request.
// Real processes: the author, a publish and HAProxy under `farm up --pretty`.

async function isReady(url: string): Promise<boolean> {
  const response = await fetch(`${url}/system/health/ready`);
  await response.arrayBuffer();
  return response.status === 200;
}

describe('restarting members of a running local farm', { timeout: 180_000 }, () => {
  let farm: LocalFarm;
  let up: FarmProcess;
  before(async () => {
    farm = await initLocalFarm(1);
    up = await farmUp(farm.dir, ['--pretty']);
  });
  after(() => {
    if (up?.child.exitCode === null) up.child.kill('SIGKILL');
  });
  const urlOf = (name: string) => farm.members().find((member) => member.name === name)!.url;

  it('writes readable lines with --pretty: time, level, member, message', () => {
    assert.match(up.output(), /^\d\d:\d\d:\d\d\.\d{3} INFO  \[author\] instance started url=/m);
    assert.match(up.output(), /^\d\d:\d\d:\d\d\.\d{3} INFO  \[publish-1\] instance started url=/m);
    assert.doesNotMatch(up.output(), /^\[(author|publish-1)\] \{/m, 'no raw JSON line of a member');
  });

  it("the publish logs the author's replication login with the author's address (127.0.0.2), not the load balancer's", async () => {
    const replicatorLogin = /^\S+ INFO  \[publish-1\] login .*event=login outcome=success userId=replicator clientAddress=(\S+)/m;
    await waitUntil('the author to log in to publish-1', async () => replicatorLogin.test(up.output()));
    assert.equal(replicatorLogin.exec(up.output())?.[1], '127.0.0.2');
    // The session's line is written after the login's, by another step of the same sign-in: wait for it too.
    const sessionCreated = /\[publish-1\] session created .*user=replicator .*method=transport .*address=(\S+)$/m;
    await waitUntil('publish-1 to log the session', async () => sessionCreated.test(up.output()));
    assert.equal(sessionCreated.exec(up.output())?.[1], '127.0.0.2');
  });

  it('starts a publish killed with SIGKILL again, after a back-off, and says so', async () => {
    const killed = up.pids().get('publish-1')!;
    process.kill(killed, 'SIGKILL');
    await waitUntil('publish-1 to run again', async () => {
      const pid = up.pids().get('publish-1');
      return pid !== undefined && pid !== killed && /^farm: publish-1 runs again/m.test(up.output()) && (await isReady(urlOf('publish-1')));
    }, 60_000);
    assert.match(up.output(), /\[publish-1\] was killed \(SIGKILL\); the load balancer sends its requests to the other publishes\n/);
    assert.match(up.output(), /^farm: restarting publish-1 in 1 s \(1 of at most 5 restarts in a row\)$/m);
    assert.match(up.output(), /^farm: publish-1 runs again on http:\/\/127\.0\.0\.3:\d+ \(pid \d+\)$/m);
  });

  it('leaves down a publish stopped with capsule stop (exit 0), and says how to start it; farm restart NAME starts it', async () => {
    const publish = farm.members().find((member) => member.name === 'publish-1')!;
    const stoppedPid = up.pids().get('publish-1')!;
    const restartsBefore = up.output().match(/^farm: restarting publish-1 in /gm)?.length ?? 0;
    const stop = await runCli(['stop', '--home', publish.home]);
    assert.equal(stop.code, 0, stop.stderr);
    // The supervisor decides on the exit in the same step that writes the exit line: once it is
    // written, a restart would already have been announced.
    await waitUntil('farm up to see publish-1 exit', async () => /\[publish-1\] exited with code 0/.test(up.output()));
    assert.match(up.output(), /^farm: publish-1 was stopped \(exit 0\): not restarted; 'capsule farm restart publish-1 --dir \S+' starts it again$/m);
    assert.equal(up.output().match(/^farm: restarting publish-1 in /gm)?.length ?? 0, restartsBefore, 'no restart scheduled');
    assert.equal(up.pids().get('publish-1'), undefined, 'no process of publish-1');
    assert.equal(isAlive(stoppedPid), false);

    const restarted = await runCli(['farm', 'restart', 'publish-1', '--dir', farm.dir]);
    assert.equal(restarted.code, 0, restarted.stderr);
    const pid = up.pids().get('publish-1')!;
    assert.equal(restarted.stdout.trim(), `restarted publish-1 (pid ${pid}; it was down); ready on ${publish.url}`);
    assert.match(up.output(), /^farm: starting publish-1 for 'farm restart'$/m);
    assert.equal(await isReady(publish.url), true);
  });

  it('farm restart NAME: a new process, ready, and the others untouched', async () => {
    const before = up.pids();
    const result = await runCli(['farm', 'restart', 'author', '--dir', farm.dir]);
    assert.equal(result.code, 0, result.stderr);
    const after = up.pids();
    const [old, now] = [before.get('author')!, after.get('author')!];
    assert.notEqual(now, old);
    assert.equal(result.stdout.trim(), `restarted author (pid ${now}; pid ${old} before); ready on ${urlOf('author')}`);
    assert.equal(await isReady(urlOf('author')), true);
    assert.equal(isAlive(old), false, 'the old process has ended');
    for (const name of ['publish-1', 'haproxy', 'farm']) assert.equal(after.get(name), before.get(name), `${name} untouched`);
    assert.match(up.output(), /^farm: author stopped \(exited with code 0\) for 'farm restart'; starting it again$/m);
    assert.doesNotMatch(up.output(), /restarting author in/, 'a restart asked for is no crash');
  });

  it('refuses a member the farm does not have, or a farm that does not run, restarting nothing', async () => {
    const before = up.pids();
    const unknown = await runCli(['farm', 'restart', 'publish-9', '--dir', farm.dir]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no member publish-9 in .*farm\.json \(its members: author, publish-1\); nothing was restarted/);
    assert.deepEqual(up.pids(), before);
  });
});
