import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jsonOf, runCli } from '../helpers/cli.js';
import { startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

/** True when this process can listen on the port, so nothing else does. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('capsule stop', () => {
  it("stops the home's instance, waits until it has exited, and leaves its port and lock free", async () => {
    const home = join(tempDir(), 'home');
    const server = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: 'a-long-operator-password' } });
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', resolve));

    const result = await runCli(['stop', '--home', home, '--json']);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(jsonOf(result), { stopped: true, pid: server.child.pid, home });
    assert.equal(server.child.exitCode ?? (await exited), 0, 'the instance exited by itself, cleanly');
    assert.equal(existsSync(join(home, 'instance.lock')), false);
    assert.equal(await portIsFree(server.port), true);
    assert.match(server.output(), /instance stopped/);
  });

  it('says no instance is running for a home without one, with exit 1', async () => {
    const home = join(tempDir(), 'home');
    mkdirSync(home);
    const result = await runCli(['stop', '--home', home]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `capsule: no instance is running for the home ${home}; nothing to stop\n`);
    assert.equal(result.stdout, '');
  });

  it("never signals a stranger whose PID a stale lock file names (the instance crashed, the PID was reused)", async () => {
    const home = join(tempDir(), 'home');
    mkdirSync(home);
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(home, 'instance.lock'), `${stranger.pid}\n`);
      const result = await runCli(['stop', '--home', home, '--json']);
      assert.equal(result.code, 1);
      assert.deepEqual(jsonOf(result), { error: { code: 'INSTANCE_NOT_RUNNING', message: `no instance is running for the home ${home}; nothing to stop` } });
      assert.equal(stranger.exitCode, null);
      assert.equal(stranger.signalCode, null, 'the stranger got no signal');
      assert.doesNotThrow(() => process.kill(stranger.pid!, 0), 'the stranger still runs');
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it("never follows a lock file that is a link to another program's pidfile, which that program holds open", async () => {
    const home = join(tempDir(), 'home');
    mkdirSync(home);
    const pidfile = join(tempDir(), 'daemon.pid');
    // A daemon that writes its PID into its pidfile and keeps the file open, as many do.
    const daemon = spawn(process.execPath, ['-e', `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(pidfile)},'w');fs.writeSync(fd,process.pid+'\\n');console.log('ready');setInterval(()=>{},1<<30)`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve) => daemon.stdout!.once('data', resolve));
      symlinkSync(pidfile, join(home, 'instance.lock'));
      const result = await runCli(['stop', '--home', home]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /is not a regular file \(a link\?\)/);
      assert.equal(daemon.signalCode, null, 'the daemon got no signal');
      assert.doesNotThrow(() => process.kill(daemon.pid!, 0), 'the daemon still runs');
    } finally {
      daemon.kill('SIGKILL');
    }
  });

  it("leaves another home's instance alone", async () => {
    const other = await startServerProcess({ home: join(tempDir(), 'other'), env: { CAPSULE_ADMIN_PASSWORD: 'a-long-operator-password' } });
    const home = join(tempDir(), 'home');
    mkdirSync(home);
    writeFileSync(join(home, 'instance.lock'), `${other.child.pid}\n`); // a copied home, or a PID reused by another instance
    const result = await runCli(['stop', '--home', home]);
    assert.equal(result.code, 1);
    assert.equal((await fetch(`${other.url}/system/health`)).status, 200);
    assert.equal(await other.stop(), 0);
  });

  it('refuses a --timeout that is not a number of seconds, with exit 2, and signals nothing', async () => {
    const home = join(tempDir(), 'home');
    const server = await startServerProcess({ home, env: { CAPSULE_ADMIN_PASSWORD: 'a-long-operator-password' } });
    const result = await runCli(['stop', '--home', home, '--timeout', 'soon']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, "capsule: --timeout 'soon' is not a number of seconds from 1 to 3600\n");
    assert.equal((await fetch(`${server.url}/system/health`)).status, 200);
    assert.equal(await server.stop(), 0);
  });
});
