import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAPSULE_BIN, runCli } from './cli.js';
import { freePort } from './ports.js';
import { tempDir } from './temp.js';
import { freePortOnAll, membersOf, runIn, type Member } from './remote-farm.js';
import type { CliResult } from './cli.js';

// The local development farm as a user makes it: `farm init`, then `farm up` in its own process.

export interface LocalFarm {
  readonly dir: string;
  /** HAProxy, on 127.0.0.1. */
  readonly lb: string;
  readonly adminPassword: string;
  readonly memberPort: number;
  /** farm.json's members as they are now (add-instance adds to them). */
  members(): Member[];
  /** A folder with nothing but copies of farm.json and admin-password: the farm commands run there with `--dir .`. */
  readonly operatorDir: string;
  /** `capsule ARGS --dir <operator folder>` run in the operator folder (no home, no CAPSULE_HOME). */
  operator(args: readonly string[], stdin?: string, env?: NodeJS.ProcessEnv): Promise<CliResult>;
}

/** `farm init` of an author and `publishers` publishes on 127.0.0.2, 127.0.0.3, … (room left for `spare` more). */
export async function initLocalFarm(publishers: number, options: { spare?: number; args?: readonly string[] } = {}): Promise<LocalFarm> {
  const dir = join(tempDir(), 'farm');
  const hosts = Array.from({ length: publishers + 1 + (options.spare ?? 0) }, (_, index) => `127.0.0.${index + 2}`);
  const memberPort = await freePortOnAll(hosts);
  const port = await freePort();
  const init = await runCli(['farm', 'init', '--dir', dir, '--publishers', String(publishers), '--port', String(port), '--member-port', String(memberPort), ...(options.args ?? [])]);
  if (init.code !== 0) throw new Error(init.stderr);
  const operatorDir = tempDir('capsule-operator-');
  const refreshOperator = () => {
    for (const file of ['farm.json', 'admin-password']) copyFileSync(join(dir, file), join(operatorDir, file));
  };
  refreshOperator();
  return {
    dir,
    lb: `http://127.0.0.1:${port}`,
    adminPassword: readFileSync(join(dir, 'admin-password'), 'utf8').trim(),
    memberPort,
    members: () => membersOf(dir),
    operatorDir,
    operator: (args, stdin = '', env = {}) => {
      refreshOperator(); // add-instance changes the farm's farm.json
      return runIn(operatorDir, [...args, '--dir', '.'], env, stdin);
    },
  };
}

export interface FarmProcess {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
  /** The pids `farm up` wrote into DIR/run, by process name. */
  pids(): Map<string, number>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `capsule farm up` in its own process, once it says the farm is up; its processes are killed when the test process exits. */
export async function farmUp(dir: string, args: readonly string[] = []): Promise<FarmProcess> {
  const child = spawn(process.execPath, [CAPSULE_BIN, 'farm', 'up', '--dir', dir, ...args], { env: { ...process.env, CAPSULE_HOME: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const pids = () => {
    const runDir = join(dir, 'run');
    if (!existsSync(runDir)) return new Map<string, number>();
    return new Map(readdirSync(runDir).map((file) => [file.replace(/\.pid$/, ''), Number(readFileSync(join(runDir, file), 'utf8'))]));
  };
  const seen = new Set<number>();
  process.once('exit', () => {
    // A safety net for a failed test: every process of this farm is stopped by its pid.
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const pid of seen) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  const deadline = Date.now() + 40_000;
  while (!/^farm up: /m.test(output)) {
    if (child.exitCode !== null) throw new Error(`capsule farm up exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`capsule farm up did not come up:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const remember = () => {
    const current = pids();
    for (const pid of current.values()) seen.add(pid);
    return current;
  };
  remember();
  return { child, output: () => output, exited, pids: remember };
}

export { isAlive };
