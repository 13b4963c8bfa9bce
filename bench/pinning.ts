// Server on one core, load generator on the other (`taskset`): on a 2-core machine an unpinned
// autocannon competes with the server for the CPU, and the ratios then measure contention.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export const SERVER_CPU = 0;
export const LOAD_CPU = 1;

function tasksetWorks(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return cpus().length >= 2;
  } catch {
    return false;
  }
}

export const PINNED = tasksetWorks();

/** Every core: for the runs that measure a whole farm of processes rather than one server. */
export const ALL_CPUS = '0-' + String(cpus().length - 1);

/** Pins every thread of `pid` to `cpu` (a number or a taskset list; no-op where taskset or a second core is missing). */
export function pin(pid: number, cpu: number | string): void {
  if (PINNED) execFileSync('taskset', ['-a', '-pc', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** `node args…` started on `cpu` only (its threads inherit the affinity). */
export function spawnNodeOn(cpu: number, args: readonly string[], options: SpawnOptions): ChildProcess {
  return PINNED ? spawn('taskset', ['-c', String(cpu), process.execPath, ...args], options) : spawn(process.execPath, [...args], options);
}

/**
 * Resident memory of a process in MiB (VmRSS), and its peak so far (VmHWM); of the resident
 * memory, how much is the process's own (RssAnon) and how much mapped files (RssFile: SQLite maps
 * its repository file, so pages it read count here, and the kernel can drop them).
 */
export function rssOf(pid: number): { rssMiB: number; peakMiB: number; anonMiB: number; fileMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024, anonMiB: kib('RssAnon') / 1024, fileMiB: kib('RssFile') / 1024 };
}

/** CPU time a process has used so far (user + system), in seconds. */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}
