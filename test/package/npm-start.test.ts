import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

test("SIGTERM to 'npm start' (the README's first command) stops the instance and frees its port and lock", async () => {
  const home = join(tempDir(), 'home');
  const port = await freePort();
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: root,
    env: { ...process.env, CAPSULE_HOME: home, CAPSULE_PORT: String(port), CAPSULE_ADMIN_PASSWORD: 'a-long-operator-password' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const started = new Promise<void>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk;
      if (/instance started/.test(output)) resolve();
    };
    npm.stdout.on('data', read);
    npm.stderr.on('data', read);
    npm.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  const lockFile = join(home, 'instance.lock');
  after(() => {
    // On a failure, the orphaned instance would outlive the test.
    const pid = existsSync(lockFile) ? Number(readFileSync(lockFile, 'utf8')) : NaN;
    if (Number.isSafeInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
  });
  await started;

  npm.kill('SIGTERM');
  await exited;

  assert.match(output, /instance stopped/);
  assert.equal(existsSync(lockFile), false, 'the lock is free');
  assert.equal(await portIsFree(port), true, 'the port is free');
});
