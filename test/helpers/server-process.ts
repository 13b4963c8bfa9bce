import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { CAPSULE_BIN } from './cli.js';
import { freePort } from './ports.js';

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `capsule start` in its own process and waits until `/system/health` answers. */
export async function startServerProcess(
  options: { home: string; args?: string[]; env?: NodeJS.ProcessEnv; port?: number; portFromEnv?: boolean; waitMs?: number },
): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const portArgs = options.portFromEnv ? [] : ['--port', String(port)];
  const portEnv = options.portFromEnv ? { CAPSULE_PORT: String(port) } : {};
  const child = spawn(process.execPath, [CAPSULE_BIN, 'start', '--home', options.home, ...portArgs, ...(options.args ?? [])], {
    env: { ...process.env, CAPSULE_HOME: '', ...portEnv, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`capsule start exited with ${child.exitCode ?? child.signalCode}:\n${output}`);
    try {
      const response = await fetch(`${url}/system/health`);
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`capsule start did not answer within the time allowed:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    port,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
