import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CAPSULE_BIN, jsonOf, runCli } from '../helpers/cli.js';
import { login, postFormFrom, tokenOf, withToken } from '../helpers/http.js';
import { freePortRange } from '../helpers/port-range.js';
import { tempDir } from '../helpers/temp.js';

// The publish farm of the second seed, for real: `capsule farm up` runs three instances and
// Debian's HAProxy (round robin, no sticky sessions) on loopback ports.

const PUBLISHERS = 3;
const ALICE = { id: 'alice', password: 'alice-pw' };

interface FarmProcess {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `capsule farm up` in its own process, once it says the farm is up. */
async function farmUp(dir: string): Promise<FarmProcess> {
  const child = spawn(process.execPath, [CAPSULE_BIN, 'farm', 'up', '--dir', dir], {
    env: { ...process.env, CAPSULE_HOME: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!/^farm up: /m.test(output)) {
    if (child.exitCode !== null) throw new Error(`capsule farm up exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`capsule farm up did not come up:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output, exited };
}

function pidsOf(dir: string): Map<string, number> {
  const runDir = join(dir, 'run');
  return new Map(readdirSync(runDir).map((file) => [file.replace(/\.pid$/, ''), Number(readFileSync(join(runDir, file), 'utf8'))]));
}

interface Answer {
  readonly status: number;
  readonly instance: string | null;
  /** A new token the instance set (a refresh, or a re-issue under the current key). */
  readonly renewed: string | null;
}

async function session(url: string, token: string): Promise<Answer> {
  const response = await fetch(`${url}/api/session`, withToken(token));
  await response.arrayBuffer();
  return { status: response.status, instance: response.headers.get('x-capsule-instance'), renewed: tokenOf(response) };
}

async function sessions(url: string, token: string, count: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await session(url, token));
  return answers;
}

function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;
}

describe('a publish farm behind HAProxy without sticky sessions', { timeout: 60_000 }, () => {
  let dir: string;
  let lb: string;
  let farm: FarmProcess;
  let pids: Map<string, number>;

  before(async () => {
    dir = join(tempDir(), 'farm');
    const port = await freePortRange(PUBLISHERS + 1);
    lb = `http://127.0.0.1:${port}`;
    const init = await runCli(['farm', 'init', '--dir', dir, '--publishers', String(PUBLISHERS), '--port', String(port), '--check-interval', '500', '--check-fall', '1', '--check-rise', '1']);
    assert.equal(init.code, 0, init.stderr);
    const add = await runCli(['farm', 'users', 'add', ALICE.id, '--password-stdin', '--dir', dir], { stdin: ALICE.password });
    assert.equal(add.code, 0, add.stderr);
    farm = await farmUp(dir);
    pids = pidsOf(dir);
  });

  after(async () => {
    // A safety net for a failed test: every process this file started is stopped by its pid.
    if (farm?.child.exitCode === null) farm.child.kill('SIGKILL');
    for (const pid of pids?.values() ?? []) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('starts every instance and HAProxy, with pid files, and logs in through the load balancer; 30 requests all answer 200 and reach every instance', async () => {
    assert.deepEqual([...pids.keys()].sort(), ['farm', 'haproxy', 'publish-1', 'publish-2', 'publish-3']);
    const token = await login(lb, ALICE.id, ALICE.password);
    assert.ok(token.includes('.'), 'an encapsulated token (JWS), not a stateful one');
    const answers = await sessions(lb, token, 30);
    assert.deepEqual(answers.map((answer) => answer.status), Array(30).fill(200));
    assert.deepEqual(new Set(answers.map((answer) => answer.instance)), new Set(['publish-1', 'publish-2', 'publish-3']));
  });

  it("counts failed logins per client address behind HAProxy: one client's failures do not lock out another", async () => {
    // Every instance allows 30 failures per address a minute; 100 through round robin exceed it on all three.
    const attacker = '127.0.0.5';
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      statuses.push((await postFormFrom(attacker, `${lb}/j_security_check`, { j_username: `nobody-${i}`, j_password: 'guess' })).status);
    }
    assert.ok(statuses.includes(429), 'the attacking address is throttled');
    assert.deepEqual([...new Set(statuses)].sort(), [401, 429]);
    for (let i = 0; i < 3; i++) {
      const visitor = await postFormFrom('127.0.0.6', `${lb}/j_security_check`, { j_username: ALICE.id, j_password: ALICE.password });
      assert.equal(visitor.status, 200, `another client logs in on every instance (${visitor.body})`);
    }
  });

  it('rotate-hmac under load loses no request: the new key is staged everywhere before any instance signs with it', async () => {
    const before = jsonOf<{ instances: Array<{ hmac: string }> }>(await runCli(['farm', 'status', '--dir', dir, '--json']));
    const oldKid = before.instances[0]!.hmac;
    let token = await login(lb, ALICE.id, ALICE.password);
    const rotation = runCli(['farm', 'rotate-hmac', '--dir', dir, '--json']);
    let rotated = false;
    void rotation.finally(() => (rotated = true));

    const answers: Answer[] = [];
    const kidsUsed = new Set<string>();
    let afterRotation = 0;
    for (let i = 0; i < 3000 && afterRotation < 30; i++) {
      if (i % 10 === 9) token = await login(lb, ALICE.id, ALICE.password); // fresh tokens, signed by whichever key signs there now
      kidsUsed.add(kidOf(token));
      const answer = await session(lb, token);
      answers.push(answer);
      if (answer.renewed) token = answer.renewed;
      if (rotated) afterRotation++;
    }

    const result = await rotation;
    assert.equal(result.code, 0, result.stderr);
    const { current, previous } = jsonOf<{ current: string; previous: string }>(result);
    assert.equal(previous, oldKid);
    assert.notEqual(current, oldKid);
    assert.ok(answers.length >= 40, `${answers.length} requests ran during and after the rotation`);
    assert.deepEqual(answers.filter((answer) => answer.status !== 200), [], 'no request failed');
    assert.ok(kidsUsed.has(oldKid) && kidsUsed.has(current), 'tokens of both keys were used through the load balancer');

    const status = await runCli(['farm', 'status', '--dir', dir, '--json']);
    assert.equal(status.code, 0, status.stdout);
    const after = jsonOf<{ instances: Array<{ hmac: string; loaded: { hmac: string } }> }>(status);
    assert.deepEqual(after.instances.map((instance) => [instance.hmac, instance.loaded.hmac]), Array(PUBLISHERS).fill([current, current]));
  });

  it('loses no request when an instance is killed with SIGKILL', async () => {
    const token = await login(lb, ALICE.id, ALICE.password);
    process.kill(pids.get('publish-2')!, 'SIGKILL');
    const answers = await sessions(lb, token, 30);
    assert.deepEqual(answers.map((answer) => answer.status), Array(30).fill(200));
    assert.deepEqual(new Set(answers.map((answer) => answer.instance)), new Set(['publish-1', 'publish-3']));
    const status = await runCli(['farm', 'status', '--dir', dir]);
    assert.equal(status.code, 0, 'a stopped instance with the right keys keeps the farm green');
    assert.match(status.stdout, /^publish-2 .* down /m);
  });

  it('with stateful tokens (encapsulated off) only the instance that issued a token accepts it: the problem the seed solves', async () => {
    for (const name of ['publish-1', 'publish-2', 'publish-3']) {
      const set = await runCli(['config', 'set', 'capsule.auth.token', 'token.encapsulated=false', '--home', join(dir, name)]);
      assert.equal(set.code, 0, set.stderr);
    }
    const running = ['publish-1', 'publish-3'].map((name) => `http://127.0.0.1:${Number(new URL(lb).port) + Number(name.slice(-1))}`);
    for (const url of running) {
      // Each running instance applies the change within a poll interval.
      let token = await login(url, ALICE.id, ALICE.password);
      for (let attempt = 0; attempt < 50 && token.includes('.'); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        token = await login(url, ALICE.id, ALICE.password);
      }
      assert.ok(!token.includes('.'), `${url} issues stateful tokens`);
    }

    const response = await fetch(`${lb}/j_security_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: ALICE.id, j_password: ALICE.password }),
    });
    assert.equal(response.status, 200);
    const issuer = response.headers.get('x-capsule-instance');
    const token = tokenOf(response)!;
    const answers = await sessions(lb, token, 30);
    const byIssuer = answers.filter((answer) => answer.instance === issuer);
    const elsewhere = answers.filter((answer) => answer.instance !== issuer);
    assert.ok(byIssuer.length > 0 && elsewhere.length > 0, 'round robin sends requests to both instances');
    assert.deepEqual(new Set(byIssuer.map((answer) => answer.status)), new Set([200]));
    assert.deepEqual(new Set(elsewhere.map((answer) => answer.status)), new Set([401]), 'without sticky sessions the other instance refuses the token');
  });

  it('SIGTERM to farm up stops every process it started', async () => {
    farm.child.kill('SIGTERM');
    assert.equal(await farm.exited, 0, farm.output().slice(-2000));
    const survivors = [...pids].filter(([, pid]) => isAlive(pid));
    assert.deepEqual(survivors, []);
    assert.deepEqual(readdirSync(join(dir, 'run')), [], 'pid files are removed');
    assert.match(farm.output(), /\[publish-2\] was killed \(SIGKILL\)/);
  });
});
