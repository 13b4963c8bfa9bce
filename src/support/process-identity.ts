import { readdirSync, readFileSync, statSync } from 'node:fs';

/**
 * What /proc says about another process (Linux). A PID alone names a process only while it
 * lives; once it exits, the PID may be given to a stranger. These let a caller check a PID is
 * still the process it means before signalling it.
 */

/** The answer when /proc cannot say (another system, or another user's process). */
export type Unknowable = { readonly unknown: 'no-proc' | 'other-user' };

/** True when the process has the file at `path` open (the same file, not just the same name). */
export function holdsOpen(pid: number, path: string): boolean | Unknowable {
  let file: { dev: number; ino: number };
  try {
    file = statSync(path);
  } catch {
    return false; // no such file: nobody holds it
  }
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return statOrNull('/proc/self') === null ? { unknown: 'no-proc' } : false;
    if (code === 'EACCES' || code === 'EPERM') return { unknown: 'other-user' };
    throw error;
  }
  return fds.some((fd) => {
    const target = statOrNull(`/proc/${pid}/fd/${fd}`);
    return target !== null && target.dev === file.dev && target.ino === file.ino;
  });
}

/**
 * When the process started (clock ticks since boot, /proc/PID/stat field 22), or null when no
 * live process has that PID. A PID with another start time is another process.
 */
export function startTimeOf(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z') return null; // exited; only its parent has not read its status yet
  return fields[19] ?? null;
}

function statOrNull(path: string): { dev: number; ino: number } | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** The real user id a live process runs as (/proc/PID/status `Uid:`), or null when none has that PID. */
export function userOf(pid: number): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
  return uid === undefined ? null : Number(uid);
}
