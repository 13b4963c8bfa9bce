import { CommanderError } from 'commander';
import { CheckFailed } from './check-failed.js';
import { exitCodeOf, jsonOf, messageOf } from './exit-codes.js';
import type { CliIO } from './io.js';
import { run } from './program.js';
import { terminalText } from './terminal-text.js';

/** Runs one command line with `io` and returns its exit code; what failed is told on `io`'s standard error. */
export async function runCommandLine(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    await run(argv, io);
    return 0;
  } catch (error) {
    // Help already printed (asked for, or a command group given without its subcommand): nothing to add.
    const helpOrVersion = error instanceof CommanderError && (error.exitCode === 0 || error.code === 'commander.help');
    if (!helpOrVersion) {
      if (argv.includes('--json') && !(error instanceof CheckFailed)) io.out(JSON.stringify(jsonOf(error)));
      io.err(terminalText(messageOf(error)));
    }
    return exitCodeOf(error);
  }
}
