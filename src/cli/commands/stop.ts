import { setTimeout as pause } from 'node:timers/promises';
import type { Command } from 'commander';
import { CapsuleError } from '../../errors.js';
import { resolveHome } from '../../instance/home.js';
import { stopRunningInstance } from '../../instance/running-instance.js';
import { printJson, type CliIO } from '../io.js';
import { homeOption, jsonOption, type HomeOptions, type JsonOption } from '../with-home.js';

interface StopCommandOptions extends HomeOptions, JsonOption {
  readonly timeout: string;
}

const DEFAULT_TIMEOUT_SECONDS = 60;

function parseTimeout(text: string): number {
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || seconds < 1 || seconds > 3600) {
    throw new CapsuleError('INVALID_ARGUMENT', `--timeout '${text}' is not a number of seconds from 1 to 3600`);
  }
  return seconds * 1000;
}

/** Stops the instance running on a home, as Ctrl-C in its terminal would, and waits until it has exited. */
export async function stop(options: StopCommandOptions, io: CliIO): Promise<void> {
  const timeoutMs = parseTimeout(options.timeout);
  const home = resolveHome(options.home, io.env);
  const { pid } = await stopRunningInstance(home, { timeoutMs, pause: (ms) => pause(ms), now: () => performance.now() });
  if (options.json) printJson(io, { stopped: true, pid, home });
  else io.out(`stopped the instance of ${home} (PID ${pid}); its port and its lock are free`);
}

export function registerStopCommand(program: Command, io: CliIO): void {
  jsonOption(
    homeOption(
      program
        .command('stop')
        .description("stop the instance running on a home (SIGTERM to the PID in its lock file, once checked to be that home's instance) and wait until it has exited"),
    ),
  )
    .option('--timeout <seconds>', 'how long to wait for it to finish what it is doing', String(DEFAULT_TIMEOUT_SECONDS))
    .action((options: StopCommandOptions) => stop(options, io));
}
