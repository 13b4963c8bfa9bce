import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findHaproxy } from '../../src/farm/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { postFormFrom } from '../helpers/http.js';
import { farmUp, initLocalFarm, type FarmProcess, type LocalFarm } from '../helpers/local-farm.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/remote-farm.js';
import { tempDir } from '../helpers/temp.js';

// HAProxy's own limit on login POSTs per client address (`--login-limit`): across every publish,
// before a member sees the guess. The members' limit (30 failures a minute each) is above it here.

const LIMIT = 5;
const guess = (from: string, lb: string, i: number) => postFormFrom(from, `${lb}/j_security_check`, { j_username: `nobody-${i}`, j_password: 'guess' });

describe('the local farm behind HAProxy with --login-limit', { timeout: 120_000 }, () => {
  let farm: LocalFarm;
  let up: FarmProcess;
  before(async () => {
    farm = await initLocalFarm(2, { args: ['--login-limit', String(LIMIT)] });
    up = await farmUp(farm.dir);
  });
  after(() => {
    if (up?.child.exitCode === null) up.child.kill('SIGKILL');
  });

  it('answers 429 from HAProxy to the login POST after the limit from one address, while its other requests and other addresses go through', async () => {
    for (let i = 0; i < LIMIT; i++) assert.equal((await guess('127.0.0.60', farm.lb, i)).status, 401, `guess ${i} reaches a publish`);
    const refused = await guess('127.0.0.60', farm.lb, LIMIT);
    assert.equal(refused.status, 429);
    assert.deepEqual(JSON.parse(refused.body), { error: { code: 'TOO_MANY_REQUESTS', message: 'too many logins from your address; try again in a minute' } }, 'HAProxy answered');

    const page = await fetch(`${farm.lb}/system/health/ready`);
    assert.equal(page.status, 200, 'other requests of the same address still reach the publishes');
    assert.ok(['publish-1', 'publish-2'].includes(page.headers.get('x-capsule-instance') ?? ''));
    assert.equal((await guess('127.0.0.61', farm.lb, 0)).status, 401, 'another address still reaches a publish');
  });

  it('writes the limit into farm.json and haproxy.cfg, which HAProxy accepts', () => {
    const config = readFileSync(join(farm.dir, 'haproxy.cfg'), 'utf8');
    assert.match(config, /stick-table type ipv6 size 1m expire 2m store http_req_rate\(1m\)\n/);
    assert.match(config, /http-request track-sc0 src,ipmask\(32,64\) table login_attempts if login_post login_path/);
    assert.match(config, new RegExp(`sc0_http_req_rate\\(login_attempts\\) gt ${LIMIT} }`));
    assert.doesNotMatch(config, /^peers/m, 'one load balancer');
    assert.equal((JSON.parse(readFileSync(join(farm.dir, 'farm.json'), 'utf8')) as { local: { loginsPerMinute: number } }).local.loginsPerMinute, LIMIT);
  });
});

function manifestFile(): string {
  const file = join(tempDir(), 'farm.json');
  writeFileSync(
    file,
    JSON.stringify({
      format: 'capsule-farm/2',
      members: [
        { name: 'author', role: 'author', url: 'http://127.0.0.2:4502' },
        { name: 'publish-1', role: 'publish', url: 'http://127.0.0.3:4502' },
      ],
    }),
  );
  return file;
}

/** `haproxy -c` as the node named (its -L), with HAProxy's warnings. */
function haproxyCheck(text: string, localPeer: string): string {
  const file = join(tempDir(), 'haproxy.cfg');
  writeFileSync(file, text);
  return execFileSync(findHaproxy(process.env), ['-c', '-L', localPeer, '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('capsule farm haproxy-config: the login limit', () => {
  it('shares the counts between the HAProxy nodes named by --haproxy-peer, in a configuration HAProxy accepts on each node', async () => {
    const peers = ['lb-1=127.0.0.1:10001', 'lb-2=[::1]:10002'];
    const result = await runCliInProcess(['farm', 'haproxy-config', '--manifest', manifestFile(), '--login-limit', '12', ...peers.flatMap((peer) => ['--haproxy-peer', peer])]);
    assert.equal(result.code, 0, result.stderr);
    const text = result.stdout;
    assert.match(text, /^peers capsule\n {4}peer lb-1 127\.0\.0\.1:10001\n {4}peer lb-2 \[::1\]:10002\n/m);
    assert.match(text, /store http_req_rate\(1m\) peers capsule\n/);
    assert.match(text, /gt 12 }/);
    assert.match(text, /haproxy -W -db -L NAME -f haproxy\.cfg/);
    for (const name of ['lb-1', 'lb-2']) assert.doesNotMatch(haproxyCheck(text, name), /WARNING|ALERT/, `as ${name}`);
  });

  it('writes the default limit of 30 without peers, and no rule with --login-limit 0', async () => {
    const manifest = manifestFile();
    const defaults = await runCliInProcess(['farm', 'haproxy-config', '--manifest', manifest]);
    assert.equal(defaults.code, 0, defaults.stderr);
    assert.match(defaults.stdout, /sc0_http_req_rate\(login_attempts\) gt 30 }/);
    assert.doesNotMatch(defaults.stdout, /peers/);
    assert.doesNotMatch(haproxyCheck(defaults.stdout, 'any'), /WARNING|ALERT/);
    const off = await runCliInProcess(['farm', 'haproxy-config', '--manifest', manifest, '--login-limit', '0']);
    assert.equal(off.code, 0, off.stderr);
    assert.doesNotMatch(off.stdout, /stick-table|track-sc0|429/);
  });

  it('refuses a bad limit, a lone peer, a peer named twice or written wrong, with one line, exit 2 and no file', async () => {
    const manifest = manifestFile();
    const out = join(tempDir(), 'haproxy.cfg');
    const cases: Array<[string[], RegExp]> = [
      [['--login-limit', '-1'], /--login-limit '-1': give a whole number/],
      [['--login-limit', '100001'], /--login-limit 100001: give a whole number of login POSTs/],
      [['--haproxy-peer', 'lb-1=10.0.0.1:10000'], /name every HAProxy node, this one included \(two at least\)/],
      [['--haproxy-peer', 'lb-1=10.0.0.1:10000', '--haproxy-peer', 'lb-1=10.0.0.2:10000'], /lb-1 is named twice/],
      [['--haproxy-peer', 'lb-1 10.0.0.1', '--haproxy-peer', 'lb-2=10.0.0.2:10000'], /--haproxy-peer 'lb-1 10\.0\.0\.1': give NAME=HOST:PORT/],
      [['--haproxy-peer', 'lb-1=10.0.0.1:70000', '--haproxy-peer', 'lb-2=10.0.0.2:10000'], /give NAME=HOST:PORT/],
    ];
    for (const [args, message] of cases) {
      const result = await runCliInProcess(['farm', 'haproxy-config', '--manifest', manifest, '--out', out, ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(existsSync(out), false);
    }
  });

  it('farm init refuses a bad --login-limit and makes no farm', async () => {
    const dir = join(tempDir(), 'farm');
    const result = await runCliInProcess(['farm', 'init', '--dir', dir, '--publishers', '1', '--login-limit', 'many']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--login-limit 'many': give a whole number/);
    assert.equal(existsSync(dir), false);
  });
});

/** One line of HAProxy's stats socket (`show table NAME`), answered in full. */
function statsCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const client = connect(socket, () => client.end(`${command}\n`));
    client.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    client.on('end', () => resolve(answer));
    client.on('error', reject);
  });
}

describe('two HAProxy nodes named by --haproxy-peer', { timeout: 60_000 }, () => {
  const nodes: ChildProcess[] = [];
  after(() => {
    for (const node of nodes) node.kill('SIGKILL');
  });

  it('share the login counts: the POSTs one node counted make the other answer 429', async () => {
    const [lb1, lb2, peer1, peer2] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    // No publish answers: HAProxy counts a login POST before it picks a server (503 here).
    const result = await runCliInProcess(['farm', 'haproxy-config', '--manifest', manifestFile(), '--login-limit', String(LIMIT), '--haproxy-peer', `lb-1=127.0.0.1:${peer1}`, '--haproxy-peer', `lb-2=127.0.0.1:${peer2}`]);
    assert.equal(result.code, 0, result.stderr);
    const dir = tempDir();
    const start = (name: string, port: number) => {
      const socket = join(dir, `${name}.sock`);
      const text = result.stdout.replace('bind 127.0.0.1:8080', `bind 127.0.0.1:${port}`);
      // The test reads the second node's table through its stats socket.
      const file = join(dir, `${name}.cfg`);
      writeFileSync(file, `${text}\nglobal\n    stats socket ${socket} mode 600 level admin\n`);
      nodes.push(spawn(findHaproxy(process.env), ['-W', '-db', '-L', name, '-f', file], { stdio: 'ignore' }));
      return { url: `http://127.0.0.1:${port}`, socket };
    };
    const first = start('lb-1', lb1);
    const second = start('lb-2', lb2);
    const counted = async () => /http_req_rate\(60000\)=(\d+)/.exec(await statsCommand(second.socket, 'show table login_attempts'));
    await waitUntil('both nodes to listen', async () => (await fetch(`${first.url}/`)).status > 0 && (await fetch(`${second.url}/`)).status > 0);

    for (let i = 0; i < LIMIT; i++) assert.notEqual((await guess('127.0.0.70', first.url, i)).status, 429, `guess ${i} through lb-1`);
    // The peers push their updates on their own: no event to wait for but the table itself.
    await waitUntil('lb-2 to hold the count lb-1 sent', async () => Number((await counted())?.[1]) >= LIMIT, 20_000);
    const refused = await guess('127.0.0.70', second.url, LIMIT);
    assert.equal(refused.status, 429, 'lb-2 refuses the guess after the ones lb-1 let through');
    assert.notEqual((await guess('127.0.0.71', second.url, 0)).status, 429, 'another address still goes through lb-2');
  });
});
