/**
 * Crash points for the crash-safety tests: when CAPSULE_FAILPOINT names this point, the
 * process kills itself on the spot (SIGKILL: no cleanup, no flush), as a power cut would.
 */
export function failpoint(name: string): void {
  if (process.env.CAPSULE_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}

/**
 * Pause points for race tests: when CAPSULE_PAUSEPOINT names this point, the process waits
 * there for 300 ms (synchronously), so that a test can make two processes interleave.
 */
export function pausepoint(name: string): void {
  if (process.env.CAPSULE_PAUSEPOINT === name) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
}
