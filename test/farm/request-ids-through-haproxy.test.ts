import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findHaproxy } from '../../src/farm/index.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/remote-farm.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

// The configuration `capsule farm haproxy-config` writes, run by the real HAProxy in front of a real
// instance that trusts it: HAProxy makes the request id, logs it, and the instance logs the same one.

describe('request ids through the HAProxy configuration capsule writes', { timeout: 120_000 }, () => {
  let instance: ServerProcess;
  let haproxy: ChildProcess;
  let haproxyOutput = '';
  let lb: string;

  // Set up in the test: startServerProcess stops its process in an `after` hook, which in a `before` would run at once.
  const setUp = async () => {
    const home = join(tempDir(), 'home');
    mkdirSync(join(home, 'config'), { recursive: true });
    // As `farm init` writes it for a member behind the load balancer.
    writeFileSync(join(home, 'config', 'capsule.http.json'), JSON.stringify({ 'proxies.trusted': ['127.0.0.1'] }));
    instance = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password-correct-horse' } });

    const dir = tempDir();
    const manifest = join(dir, 'farm.json');
    writeFileSync(manifest, JSON.stringify({ format: 'capsule-farm/2', members: [{ name: 'publish-1', role: 'publish', url: instance.url }] }));
    const lbPort = await freePort();
    const config = join(dir, 'haproxy.cfg');
    const written = await runCli(['farm', 'haproxy-config', '--manifest', manifest, '--bind', `127.0.0.1:${lbPort}`, '--out', config]);
    assert.equal(written.code, 0, written.stderr);
    haproxy = spawn(findHaproxy(process.env), ['-W', '-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout!.on('data', (chunk) => (haproxyOutput += chunk));
    haproxy.stderr!.on('data', (chunk) => (haproxyOutput += chunk));
    lb = `http://127.0.0.1:${lbPort}`;
    await waitUntil('HAProxy to pass a request to the instance', async () => (await fetch(`${lb}/system/health/ready`)).status === 200);
  };
  after(async () => {
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((resolve) => haproxy.once('exit', resolve));
      haproxy.kill('SIGTERM');
      await exited;
    }
    await instance?.stop();
  });

  it('HAProxy makes the id (a client’s own is dropped), logs it, and the instance logs the same id', async () => {
    await setUp();
    const response = await fetch(`${lb}/j_security_check?code=a-secret-sign-in-code`, {

      method: 'POST',
      headers: { 'x-request-id': 'a-client-chose-this', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ j_username: 'nobody', j_password: 'wrong-password' }),
    });
    await response.arrayBuffer();
    assert.equal(response.status, 401);
    const id = response.headers.get('x-request-id') ?? '';
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a UUID');
    assert.notEqual(id, 'a-client-chose-this');

    await waitUntil('HAProxy to log the request', async () => haproxyOutput.includes(`id=${id}`));
    const haproxyLine = haproxyOutput.split('\n').find((line) => line.includes(`id=${id}`))!;
    assert.match(haproxyLine, /publish\/publish-1 .* 401 .*POST \/j_security_check HTTP\/1\.1 id=/);
    assert.ok(!haproxyOutput.includes('a-secret-sign-in-code'), 'no query string in HAProxy\'s log');

    await waitUntil('the instance to log the failed login', async () => instance.output().includes(id));
    const instanceLines = instance
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { reqId?: string; event?: string; userId?: string });
    const login = instanceLines.find((line) => line.reqId === id);
    assert.ok(login, 'a line of the instance carries the id HAProxy made');
    assert.equal(instanceLines.some((line) => line.reqId === 'a-client-chose-this'), false, "the client's id reaches no log");
  });
});
