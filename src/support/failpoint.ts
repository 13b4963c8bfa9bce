/**
 * Crash points for the crash-safety tests: when CAPSULE_FAILPOINT names this point, the
 * process kills itself on the spot (SIGKILL: no cleanup, no flush), as a power cut would.
 */
export function failpoint(name: string): void {
  if (process.env.CAPSULE_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}
