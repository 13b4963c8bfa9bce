import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CAPSULE_BIN = fileURLToPath(new URL('../../bin/capsule', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly stdin?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs `bin/capsule` as a user would, in its own process. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAPSULE_BIN, ...args], {
      env: { ...process.env, CAPSULE_HOME: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/**
 * The variables a command reads only through the environment `main` hands it (CliIO.env), so
 * that an in-process run sees the test's values. Others (failpoints, CAPSULE_LOG_LEVEL, the
 * variables references name) are read from this process's environment somewhere: runCli.
 */
const PASSED_THROUGH = new Set(['CAPSULE_HOME', 'CAPSULE_KEYS_PASSPHRASE', 'CAPSULE_REPOSITORY_URL', 'CAPSULE_ADMIN_PASSWORD', 'PGPASSWORD']);

/**
 * Runs a command line in this process, through the same entry as `bin/capsule` (src/cli/command-line.ts),
 * with standard input, output and environment of its own: what runCli gives (exit code and
 * output) without starting Node. For commands that end when their work ends; `start`, `farm up`,
 * failpoints and signals need runCli.
 */
export async function runCliInProcess(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  // A variable the test unsets (undefined) and this process lacks reads the same either way.
  const foreign = Object.entries(options.env ?? {})
    .filter(([name, value]) => !PASSED_THROUGH.has(name) && (value !== undefined || process.env[name] !== undefined))
    .map(([name]) => name);
  if (foreign.length > 0) throw new Error(`runCliInProcess: ${foreign.join(', ')} may be read from process.env, not the command's environment; use runCli`);
  if ((args[0] === 'start' || (args[0] === 'farm' && args[1] === 'up')) && !args.includes('--help')) throw new Error(`runCliInProcess: '${args.join(' ')}' keeps running; use runCli`);
  // An instance this process runs on that home holds SQLite's write lock across awaits, and a
  // command here would wait for it synchronously (the busy timeout blocks the event loop), so the
  // instance could never finish: 'database is locked' after 10 s. Such a command runs in its own process.
  if (homeServedHere(args, options.env)) return runCli(args, options);
  // Loaded on first use: files that only spawn the CLI do not load all of it.
  const { runCommandLine } = await import('../../src/cli/command-line.js');
  let stdout = '';
  let stderr = '';
  const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  const code = await runCommandLine(args, {
    out: (text) => void (stdout += line(text)),
    err: (text) => void (stderr += line(text)),
    readStdin: async () => options.stdin ?? '',
    env: { ...process.env, CAPSULE_HOME: '', ...options.env },
    stdinIsTTY: false,
  });
  return { code, stdout, stderr };
}

/** Parses a command's JSON output, failing with the command's own words when it is not JSON. */
export function jsonOf<T = unknown>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
  }
}

/** True when the command's home is locked by an instance running in this very process. */
function homeServedHere(args: readonly string[], env: NodeJS.ProcessEnv | undefined): boolean {
  const at = args.indexOf('--home');
  const home = at >= 0 ? args[at + 1] : (args.find((arg) => arg.startsWith('--home='))?.slice('--home='.length) ?? env?.CAPSULE_HOME);
  if (!home) return false;
  try {
    return Number(readFileSync(join(home, 'instance.lock'), 'utf8').trim()) === process.pid;
  } catch {
    return false;
  }
}
