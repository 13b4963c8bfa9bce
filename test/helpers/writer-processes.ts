import { spawn } from 'node:child_process';

export interface WriterExit {
  readonly code: number | null;
  /** The last line the process printed (its result, as JSON by convention). */
  readonly lastLine: string;
}

/**
 * Runs `script` (an ES module, with tsx) once per argument list, as racing writer processes. A
 * start barrier: each prints `ready` on a line of its own where it must wait, then waits for a line
 * on stdin; every one is released once all are ready (or once one has exited, so that a failure
 * holds no one there).
 */
export function writersAtBarrier(script: string, argLists: readonly (readonly string[])[]): Promise<WriterExit[]> {
  const children = argLists.map((args) =>
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  let ready = 0;
  const release = () => {
    for (const child of children) if (child.stdin.writable) child.stdin.end('go\n');
  };
  return Promise.all(
    children.map(
      (child) =>
        new Promise<WriterExit>((resolve, reject) => {
          let out = '';
          let counted = false;
          child.stdout.on('data', (chunk) => {
            out += chunk;
            if (!counted && out.startsWith('ready\n')) {
              counted = true;
              if (++ready === children.length) release();
            }
          });
          child.on('error', reject);
          child.on('close', (code) => {
            release();
            resolve({ code, lastLine: out.trim().split('\n').pop() ?? '' });
          });
        }),
    ),
  );
}

/** What a writer script runs at the barrier (inlined into its source). */
export const WAIT_AT_BARRIER = `async () => {
  process.stdout.write('ready\\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
}`;
