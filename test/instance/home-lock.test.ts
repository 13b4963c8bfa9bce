import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { it } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import { constants, open } from 'node:fs/promises';
import { CAPSULE_BIN } from '../helpers/cli.js';
import { startTestInstance } from '../helpers/homes.js';
import { startServerProcess } from '../helpers/server-process.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';

const ENV = { CAPSULE_ADMIN_PASSWORD: 'admin-password' };

/** `capsule start` expected to give up: its exit and output, or a failure (and a kill) if it keeps running. */
function startExpectingRefusal(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CAPSULE_BIN, 'start', ...args], { env: { ...process.env, CAPSULE_HOME: '', ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the second capsule start is running on the same home'));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

it('refuses a second capsule start on a home a running instance holds, naming its PID; takes over the lock of a killed one', { timeout: 60_000 }, async () => {
  const home = join(tempDir(), 'home');
  const first = await startServerProcess({ home, env: ENV });
  const lockFile = join(home, 'instance.lock');
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(first.child.pid));

  const second = await startExpectingRefusal(['--home', home, '--port', String(await freePort())]);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, new RegExp(`^capsule: the home .* is in use by a running instance \\(PID ${first.child.pid}\\); stop it first`, 'm'));
  assert.equal((await fetch(`${first.url}/system/health/live`)).status, 200, 'the first instance runs on');

  await first.stop('SIGKILL'); // no chance to remove its lock
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(first.child.pid));
  const third = await startServerProcess({ home, env: ENV });
  assert.match(third.output(), new RegExp(`took over the lock of this home from PID ${first.child.pid}, which is no longer running`));
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(third.child.pid));
  assert.equal(await third.stop('SIGTERM'), 0);
  assert.equal(existsSync(lockFile), false, 'a clean stop removes the lock');
});

it('treats a lock that names no process as stale, and locks in-process instances too', async () => {
  const home = join(tempDir(), 'home');
  const instance = await startTestInstance(home);
  await assert.rejects(startTestInstance(home), (error: Error & { code?: string }) => error.code === 'HOME_IN_USE' && error.message.includes(`PID ${process.pid}, this process`));
  await instance.stop();
  writeFileSync(join(home, 'instance.lock'), 'not a pid\n');
  const again = await startTestInstance(home);
  await again.stop();
  assert.equal(existsSync(join(home, 'instance.lock')), false);
});

it('of several starts racing to take over a stale lock, exactly one wins', { timeout: 60_000 }, async () => {
  const home = join(tempDir(), 'home');
  mkdirSync(home);
  const dead = spawn('true');
  await new Promise((resolve) => dead.on('exit', resolve));
  // The start barrier: each racer stops where it has seen the stale lock, until this opens the FIFO.
  const gate = join(tempDir(), 'gate');
  execFileSync('mkfifo', [gate]);
  const RACERS = 6;
  for (let round = 0; round < 3; round++) {
    writeFileSync(join(home, 'instance.lock'), `${dead.pid}\n`);
    let paused = 0;
    let allPaused!: () => void;
    const everyonePaused = new Promise<void>((resolve) => (allPaused = resolve));
    const racers = Array.from({ length: RACERS }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/lock-holder.ts', import.meta.url)), home], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, CAPSULE_PAUSEPOINT: 'lock:stale-seen', CAPSULE_PAUSEPOINT_GATE: gate },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        const before = stderr.includes('pausepoint lock:stale-seen reached');
        stderr += chunk.toString();
        if (!before && stderr.includes('pausepoint lock:stale-seen reached') && ++paused === RACERS) allPaused();
      });
      const outcome = new Promise<string>((resolve) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
      });
      const exited = new Promise<string>((resolve) => child.on('exit', (code) => resolve(`exit ${code}: ${stderr}`)));
      return { child, outcome, exited };
    });
    await everyonePaused;
    // Opened for writing, the FIFO lets every paused racer go at once, and stays open through the round.
    const opened = await open(gate, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      const outcomes = await Promise.all(racers.map((racer) => racer.outcome));
      assert.equal(outcomes.filter((outcome) => outcome === 'won').length, 1, `round ${round}: ${outcomes.join(', ')}`);
      assert.ok(outcomes.every((outcome) => outcome === 'won' || outcome === 'refused HOME_IN_USE'), outcomes.join(', '));
      // Every racer has answered while the winner still holds the lock: now it may let go.
      for (const racer of racers) racer.child.stdin.end();
      await Promise.all(racers.map((racer) => racer.exited));
    } finally {
      await opened.close();
    }
  }
});
