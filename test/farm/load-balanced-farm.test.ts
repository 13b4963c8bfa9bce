import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { constants, open } from 'node:fs/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CAPSULE_BIN, jsonOf } from '../helpers/cli.js';
import { login, postFormFrom, withToken } from '../helpers/http.js';
import { farmUp, initLocalFarm, isAlive, type FarmProcess, type LocalFarm } from '../helpers/local-farm.js';
import { tempDir } from '../helpers/temp.js';
import { adminToken, memberView, runIn, waitUntil, type Member } from '../helpers/remote-farm.js';

// The local development farm for real: `farm init` makes an author and two publishes, each on its
// own loopback address; `farm up` runs them and Debian's HAProxy (round robin, no stickiness) in
// front of the publishes. Every other farm command runs from a folder holding nothing but
// farm.json and admin-password, so it can reach the members over HTTP only.

const ALICE = { id: 'alice', password: 'alice-pw-correct-horse' };

let farm: LocalFarm;
let up: FarmProcess;

function oneLine(result: { code: number | null; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, pattern);
}

async function loginStatus(url: string, user: string, password: string): Promise<{ status: number; instance: string | null }> {
  const response = await fetch(`${url}/j_security_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ j_username: user, j_password: password }),
  });
  await response.arrayBuffer();
  return { status: response.status, instance: response.headers.get('x-capsule-instance') };
}

/** Logins through HAProxy until every publish named has answered one (each must be 200). */
async function loginsThroughLb(names: readonly string[], password = ALICE.password): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < names.length * 4 && seen.size < names.length; i++) {
    const answer = await loginStatus(farm.lb, ALICE.id, password);
    assert.equal(answer.status, 200, `login through HAProxy answered by ${answer.instance}`);
    seen.add(answer.instance ?? '?');
  }
  return seen;
}

const publishes = () => farm.members().filter((member) => member.role === 'publish');
const views = async (members: readonly Member[]) => Promise.all(members.map(async (member) => memberView(member, await adminToken(member, farm.adminPassword))));

describe('the local farm: an author and publishes on their own loopback addresses, HAProxy in front', { timeout: 120_000 }, () => {
  before(async () => {
    // Logins from one address here test the members; HAProxy's own login limit is in login-rate-limit.test.ts.
    farm = await initLocalFarm(2, { spare: 1, args: ['--check-interval', '300', '--check-fall', '1', '--check-rise', '1', '--login-limit', '100000'] });
    // Left down when killed: the tests below look at the farm with a publish down ('farm restart' and restarts: member-restart.test.ts).
    up = await farmUp(farm.dir, ['--no-restart']);
  });

  after(() => {
    if (up?.child.exitCode === null) up.child.kill('SIGKILL');
  });

  it('runs every member on its own address and HAProxy in front of the publishes only', async () => {
    assert.deepEqual([...up.pids().keys()].sort(), ['author', 'farm', 'haproxy', 'publish-1', 'publish-2']);
    const members = farm.members();
    assert.deepEqual(members.map((member) => member.host), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    for (const member of members) {
      const response = await fetch(`${member.url}/system/health/ready`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-capsule-instance'), member.name);
    }
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add((await fetch(`${farm.lb}/system/health/ready`)).headers.get('x-capsule-instance') ?? '?');
    assert.deepEqual([...seen].sort(), ['publish-1', 'publish-2'], 'the author is not behind the load balancer');
  });

  it('farm users add, from a folder with no home, reaches every publish by replication: the user logs in through HAProxy on each', async () => {
    // Nobody has alice yet: the publishes refuse her.
    for (const publish of publishes()) assert.equal((await loginStatus(publish.url, ALICE.id, ALICE.password)).status, 401);
    const add = await farm.operator(['farm', 'users', 'add', ALICE.id, '--password-stdin', '--group', 'editors', '--wait', '20'], ALICE.password);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^added user alice on author; replicated to publish-1, publish-2 \(outbox \d+\)$/m);
    assert.deepEqual(readdirSync(farm.operatorDir).sort(), ['admin-password', 'farm.json'], 'no home was made or needed there');
    for (const publish of publishes()) {
      const token = await login(publish.url, ALICE.id, ALICE.password);
      const session = (await (await fetch(`${publish.url}/api/session`, withToken(token))).json()) as { userId: string; groups: string[] };
      assert.equal(session.userId, ALICE.id);
      assert.deepEqual(session.groups, ['editors'], `${publish.name}: alice is an editor there`);
    }
    assert.deepEqual([...(await loginsThroughLb(['publish-1', 'publish-2']))].sort(), ['publish-1', 'publish-2']);

    // The password changes everywhere the same way.
    const passwd = await farm.operator(['farm', 'users', 'passwd', ALICE.id, '--password-stdin', '--wait', '20'], 'alice-new-correct-horse');
    assert.equal(passwd.code, 0, passwd.stderr);
    for (const publish of publishes()) {
      assert.equal((await loginStatus(publish.url, ALICE.id, 'alice-new-correct-horse')).status, 200, `${publish.name} has the new password`);
      assert.equal((await loginStatus(publish.url, ALICE.id, ALICE.password)).status, 401, `${publish.name} refuses the old one`);
    }
    assert.equal((await farm.operator(['farm', 'users', 'passwd', ALICE.id, '--password-stdin', '--wait', '20'], ALICE.password)).code, 0);
  });

  it('farm users says in one line what is wrong: the user exists, is unknown, is kept per instance, the password is wrong', async () => {
    oneLine(await farm.operator(['farm', 'users', 'add', ALICE.id, '--password-stdin'], 'x'), 2, /author \(http:\/\/127\.0\.0\.2:\d+\): user alice already exists; nothing was changed/);
    oneLine(await farm.operator(['farm', 'users', 'passwd', 'bob', '--password-stdin'], 'x'), 2, /no user bob on the author; add it with 'capsule farm users add bob'$/m);
    oneLine(await farm.operator(['farm', 'users', 'remove', 'replicator']), 2, /replicator is kept per instance and never replicated/);
    oneLine(
      await farm.operator(['farm', 'users', 'remove', ALICE.id, '--admin-password-file', join(farm.operatorDir, 'farm.json')]),
      2,
      /readable by others/,
    );
    const wrongFile = join(tempDir(), 'wrong-password');
    writeFileSync(wrongFile, 'wrong\n', { mode: 0o600 });
    oneLine(await farm.operator(['farm', 'users', 'remove', ALICE.id, '--admin-password-file', wrongFile]), 2, /author \(http:\/\/127\.0\.0\.2:\d+\) refused the login of admin/);
    assert.equal((await loginStatus(publishes()[0]!.url, ALICE.id, ALICE.password)).status, 200, 'alice is still there');
  });

  it("counts failed logins per client address behind HAProxy: one client's failures do not lock out another", async () => {
    // Every publish allows 30 failures per address a minute; 80 through round robin exceed it on both.
    const statuses: number[] = [];
    for (let i = 0; i < 80; i++) statuses.push((await postFormFrom('127.0.0.50', `${farm.lb}/j_security_check`, { j_username: `nobody-${i}`, j_password: 'guess' })).status);
    assert.ok(statuses.includes(429), 'the attacking address is throttled');
    assert.deepEqual([...new Set(statuses)].sort(), [401, 429]);
    for (let i = 0; i < 2; i++) {
      const visitor = await postFormFrom('127.0.0.51', `${farm.lb}/j_security_check`, { j_username: ALICE.id, j_password: ALICE.password });
      assert.equal(visitor.status, 200, `another client logs in on every publish (${visitor.body})`);
    }
  });

  it('two farm rotate-hmac at once: the second refuses on the lock, the first finishes, and every member has the new key', async () => {
    const before = (await views(farm.members())).map((view) => view.keys.hmac.id);
    assert.equal(new Set(before).size, 1);
    // The first run pauses right after it took the lock and staged the key on the author, until the gate (a FIFO) opens.
    const gate = join(tempDir(), 'gate');
    execFileSync('mkfifo', [gate]);
    const first = spawn(process.execPath, [CAPSULE_BIN, 'farm', 'rotate-hmac', '--dir', '.'], {
      cwd: farm.operatorDir,
      env: { ...process.env, CAPSULE_HOME: '', CAPSULE_PAUSEPOINT: 'farm-rotate:locked', CAPSULE_PAUSEPOINT_GATE: gate },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let paused!: () => void;
    const pausedHoldingTheLock = new Promise<void>((resolve) => (paused = resolve));
    first.stdout.on('data', (chunk) => (stdout += chunk));
    first.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.includes('pausepoint farm-rotate:locked reached')) paused();
    });
    const firstExit = new Promise<number | null>((resolve) => first.on('close', (code) => resolve(code)));
    await Promise.race([pausedHoldingTheLock, firstExit.then((code) => assert.fail(`the first run ended (${code}) before taking the lock: ${stderr}`))]);
    assert.match(stderr, /starting the rotation to hmac [0-9a-f]{16}/);
    try {
      const second = await farm.operator(['farm', 'rotate-hmac']);
      oneLine(second, 1, new RegExp(`the farm is locked by admin@\\S+ pid ${first.pid} [0-9a-f]{8} until .*\\(rotating to hmac [0-9a-f]{16}\\); wait for it to finish`));
    } finally {
      const opened = await open(gate, constants.O_WRONLY | constants.O_NONBLOCK);
      await firstExit;
      await opened.close();
    }
    assert.equal(await firstExit, 0, stderr);
    const [, current, previous] = /^hmac ([0-9a-f]{16}) signs on every member now \(author, publish-1, publish-2\); ([0-9a-f]{16}) is retired/m.exec(stdout) ?? [];
    assert.equal(previous, before[0]);
    assert.notEqual(current, previous);
    for (const view of await views(farm.members())) {
      assert.equal(view.keys.hmac.id, current, `${view.instance} signs with the new key`);
      assert.equal(view.keys.stagedHmac, null);
      assert.deepEqual(view.keys.retiredHmac.map((key) => key.id), [previous]);
    }
  });

  it('add-instance makes a publish with the keys from the author, finishing a run killed before farm.json listed it; farm up starts it and the new agent backfills its users', async () => {
    // A folder in the new publish's place that no earlier run finished (no agent on the author): refused, nothing changed.
    const listed = readFileSync(join(farm.dir, 'farm.json'), 'utf8');
    mkdirSync(join(farm.dir, 'publish-3'));
    const refused = await runIn(farm.dir, ['farm', 'add-instance', '--dir', farm.dir]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /publish-3 exists, and author has no agent publish-3: .*move .*publish-3 away and run it again/);
    assert.equal(readFileSync(join(farm.dir, 'farm.json'), 'utf8'), listed);
    rmdirSync(join(farm.dir, 'publish-3'));
    // Killed once the home is made and the author has its agent, before farm.json and haproxy.cfg list it.
    const killed = await runIn(farm.dir, ['farm', 'add-instance', '--dir', farm.dir], { CAPSULE_FAILPOINT: 'add-instance:agent-added' });
    assert.equal(killed.code, -1, 'killed at the crash point');
    assert.equal(readFileSync(join(farm.dir, 'farm.json'), 'utf8'), listed, 'farm.json does not list it yet');
    assert.ok(existsSync(join(farm.dir, 'publish-3')), 'its home was made');
    // It makes the new home in the farm folder; it reads no other member's home (the keys come from the author's API).
    const result = await runIn(farm.dir, ['farm', 'add-instance', '--dir', farm.dir, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const instance = jsonOf<{ name: string; url: string; message: string }>(result);
    assert.equal(instance.name, 'publish-3');
    assert.match(instance.message, /^finished adding publish-3 .*stopped before listing it/);
    assert.equal(instance.url, `http://127.0.0.5:${farm.memberPort}`);
    await waitUntil('farm up to start publish-3 and reload HAProxy', async () => /HAProxy reloaded/.test(up.output()), 30_000);
    const [authorView, newView] = await views([farm.members()[0]!, farm.members()[3]!]);
    assert.deepEqual(
      [newView!.keys.hmac.id, newView!.keys.master.id, newView!.keys.retiredHmac.map((key) => key.id)],
      [authorView!.keys.hmac.id, authorView!.keys.master.id, authorView!.keys.retiredHmac.map((key) => key.id)],
      'the same keys, retired ones included',
    );
    // Polled on the author (logins that fail would get the poller throttled): its agent for publish-3 has delivered the snapshot.
    const author = farm.members()[0]!;
    const authorToken = await adminToken(author, farm.adminPassword);
    await waitUntil('the snapshot to reach publish-3', async () => {
      const view = (await (await fetch(`${author.url}/system/farm/member`, { headers: { 'login-token': authorToken } })).json()) as {
        replication: { outboxHead: number; agents: Array<{ name: string; deliveredThrough: number }> };
      };
      const agent = view.replication.agents.find((each) => each.name === 'publish-3');
      return agent !== undefined && agent.deliveredThrough === view.replication.outboxHead;
    }, 30_000);
    const token = await login(instance.url, ALICE.id, ALICE.password);
    const session = (await (await fetch(`${instance.url}/api/session`, withToken(token))).json()) as { groups: string[] };
    assert.deepEqual(session.groups, ['editors'], 'alice and her group were backfilled');
    await waitUntil('HAProxy to send logins to publish-3', async () => (await loginsThroughLb(['publish-1', 'publish-2', 'publish-3'])).size === 3, 15_000);
    const status = await farm.operator(['farm', 'status']);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /^publish-3\s+publish\s+http:\/\/127\.0\.0\.5:\d+\s+ok/m);
  });

  it('status is green with every member up, red (exit 1) naming a publish killed with SIGKILL; HAProxy loses no request', async () => {
    const manifest = await farm.operator(['farm', 'status', '--json']);
    assert.equal(manifest.code, 0, manifest.stderr);
    assert.equal(jsonOf<{ green: boolean }>(manifest).green, true);
    const token = await login(farm.lb, ALICE.id, ALICE.password);
    process.kill(up.pids().get('publish-2')!, 'SIGKILL');
    const instances = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${farm.lb}/api/session`, withToken(token));
      await response.arrayBuffer();
      assert.equal(response.status, 200, `request ${i + 1} through HAProxy`);
      instances.add(response.headers.get('x-capsule-instance') ?? '?');
    }
    assert.deepEqual([...instances].sort(), ['publish-1', 'publish-3']);
    const red = await farm.operator(['farm', 'status']);
    assert.equal(red.code, 1, red.stdout);
    assert.match(red.stdout, /^RED: publish-2 \(http:\/\/127\.0\.0\.4:\d+\) does not answer \(connection refused\)/m);
    assert.match(red.stderr, /farm red: 1 problem/);
    // A change made meanwhile waits in the author's outbox for it; --wait says which publish lacks it.
    const waited = await farm.operator(['farm', 'users', 'add', 'carol', '--password-stdin', '--wait', '2'], 'carol-pw-correct-horse');
    oneLine(waited, 1, /carol changed on author, but not yet replicated to publish-2 \(1 queued, last error: .*\) after 2 s; it is delivered once they answer/);
    assert.equal((await loginStatus(publishes()[0]!.url, 'carol', 'carol-pw-correct-horse')).status, 200, 'the others have it');
  });

  it('SIGTERM to farm up stops every process it started', async () => {
    const pids = up.pids();
    up.child.kill('SIGTERM');
    assert.equal(await up.exited, 0, up.output().slice(-2000));
    assert.deepEqual([...pids].filter(([, pid]) => isAlive(pid)), []);
    assert.deepEqual(readdirSync(join(farm.dir, 'run')), [], 'pid files are removed');
    assert.match(up.output(), /\[publish-2\] was killed \(SIGKILL\); the load balancer sends its requests to the other publishes/);
    assert.match(up.output(), /^\[author\] \{"level":30,/m, 'piped, not a terminal: the members\' JSON lines as they wrote them');
  });
});
