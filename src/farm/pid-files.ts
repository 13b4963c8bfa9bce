import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../support/atomic-file.js';
import type { FarmPaths } from './local-farm.js';

/** `D/run/<name>.pid`: written by `farm up` for each process it runs, removed when it ends. */
export function pidFile(paths: FarmPaths, name: string): string {
  return join(paths.runDir, `${name}.pid`);
}

export function writePidFile(paths: FarmPaths, name: string, pid: number): void {
  mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(pidFile(paths, name), `${pid}\n`, 0o644);
}

export function removePidFile(paths: FarmPaths, name: string): void {
  rmSync(pidFile(paths, name), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the file when that process still runs; null when there is no file or the process ended. */
export function livePid(paths: FarmPaths, name: string): number | null {
  let text: string;
  try {
    text = readFileSync(pidFile(paths, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // not running under `farm up`
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
}

/** `D/run/<name>.restart`: `farm restart NAME` asks the running `farm up` to restart a member. */
function restartFile(paths: FarmPaths, name: string): string {
  return join(paths.runDir, `${name}.restart`);
}

export function requestRestart(paths: FarmPaths, name: string): void {
  mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(restartFile(paths, name), `${name}\n`, 0o644);
}

/** The members a restart was asked for, each request removed as it is taken. */
export function takeRestartRequests(paths: FarmPaths): string[] {
  let files: string[];
  try {
    files = readdirSync(paths.runDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const names = files.filter((file) => file.endsWith('.restart')).map((file) => file.slice(0, -'.restart'.length));
  for (const name of names) rmSync(restartFile(paths, name), { force: true });
  return names;
}
