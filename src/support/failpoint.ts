import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Crash points for the crash-safety tests: when CAPSULE_FAILPOINT names this point, the
 * process kills itself on the spot (SIGKILL: no cleanup, no flush), as a power cut would.
 */
export function failpoint(name: string): void {
  if (process.env.CAPSULE_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}

/**
 * Pause points for race tests: when CAPSULE_PAUSEPOINT names this point, the process says so on
 * standard error and waits there (synchronously) until the test opens the FIFO that
 * CAPSULE_PAUSEPOINT_GATE names for writing: every process paused there goes on at once, and
 * while the test keeps it open a process passes straight through.
 */
export function pausepoint(name: string): void {
  if (process.env.CAPSULE_PAUSEPOINT !== name) return;
  const gate = process.env.CAPSULE_PAUSEPOINT_GATE;
  if (!gate) throw new Error(`CAPSULE_PAUSEPOINT=${name} needs CAPSULE_PAUSEPOINT_GATE, a FIFO that the test opens to let it go on`);
  writeSync(2, `pausepoint ${name} reached by PID ${process.pid}\n`);
  closeSync(openSync(gate, 'r')); // opening a FIFO to read blocks until it has a writer
}
