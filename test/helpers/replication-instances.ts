import { spawn, type ChildProcess } from 'node:child_process';
import { CAPSULE_BIN, runCliInProcess } from './cli.js';
import { freePort } from './ports.js';

export const ADMIN_PASSWORD = 'admin-password';

/** `capsule start` in its own process on a chosen loopback address; restartable on the same port. */
export interface InstanceProcess {
  readonly home: string;
  readonly url: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts it (again); `env` is added to the process environment of this start only. With a
   * CAPSULE_FAILPOINT in `env` the process may kill itself before it ever answers (the point can
   * come before the listener is up): that start resolves too, and `exited()` tells the rest.
   */
  start(env?: NodeJS.ProcessEnv): Promise<void>;
  /** Resolves when the process has exited (by itself or by a signal). */
  exited(): Promise<void>;
}

export async function instanceProcess(home: string, host: string, name: string): Promise<InstanceProcess> {
  const port = await freePort();
  const url = `http://${host}:${port}`;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<void> = Promise.resolve();
  // Not node:test's `after`: called inside a `before` hook it would fire as soon as that hook ends.
  process.once('exit', () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const instance: InstanceProcess = {
    home,
    url,
    output: () => output,
    exited: () => exited,
    async start(env = {}) {
      const started = spawn(process.execPath, [CAPSULE_BIN, 'start', '--home', home, '--host', host, '--port', String(port), '--name', name], {
        env: { ...process.env, CAPSULE_HOME: '', CAPSULE_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      started.stdout!.on('data', (chunk) => (output += chunk));
      started.stderr!.on('data', (chunk) => (output += chunk));
      exited = new Promise((resolve) => started.on('exit', () => resolve()));
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (started.exitCode !== null || started.signalCode !== null) {
          if (env.CAPSULE_FAILPOINT && started.signalCode === 'SIGKILL') return;
          throw new Error(`${name} exited with ${started.exitCode ?? started.signalCode}:\n${output}`);
        }
        try {
          if ((await fetch(`${url}/system/health/live`)).status < 500) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`${name} did not answer within 30 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  await instance.start();
  return instance;
}

export async function cli(args: readonly string[], stdin?: string): Promise<string> {
  const result = await runCliInProcess(args, { stdin, env: { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' } });
  if (result.code !== 0) throw new Error(`capsule ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** Waits for `condition` with a generous bound, saying what it waited for when it gives up. */
export async function eventually<T>(what: string, condition: () => Promise<T | null | undefined | false>, boundMs = 60_000): Promise<T> {
  const deadline = Date.now() + boundMs;
  let pause = 50;
  for (;;) {
    const value = await condition().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 500);
  }
}

export async function loginStatus(url: string, user: string, password: string): Promise<number> {
  const response = await fetch(`${url}/j_security_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ j_username: user, j_password: password }),
  });
  await response.arrayBuffer();
  return response.status;
}
