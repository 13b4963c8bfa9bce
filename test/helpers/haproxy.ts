import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';

// Debian's HAProxy in front of instances on loopback: round robin, no stickiness (no node:test
// here, so that the benchmark can use it too).

export interface Haproxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly process: ChildProcess;
  /** SIGTERM, and waits until it has exited. */
  stop(): Promise<void>;
}

/** Starts HAProxy on a free loopback port with `ports` (instances on 127.0.0.1) as its backends; resolves once it answers. */
export async function startHaproxy(dir: string, ports: readonly number[], options: { file?: string } = {}): Promise<Haproxy> {
  const port = await freePort();
  const config = join(dir, options.file ?? 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend site',
      `  bind 127.0.0.1:${port}`,
      '  default_backend publishes',
      'backend publishes',
      '  balance roundrobin',
      ...ports.map((backend, index) => `  server p${index} 127.0.0.1:${backend}`),
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (chunk) => (errors += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${errors}`);
    if (await fetch(`${url}/system/health`).then(() => true, () => false)) return { url, process: child, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`haproxy did not come up: ${errors}`);
}
