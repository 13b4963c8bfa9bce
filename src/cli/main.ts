import { CommanderError } from 'commander';
import { CheckFailed } from './check-failed.js';
import { exitCodeOf, jsonOf, messageOf } from './exit-codes.js';
import { processIO } from './io.js';
import { run } from './program.js';
import { terminalText } from './terminal-text.js';

const argv = process.argv.slice(2);
const io = processIO();
try {
  await run(argv, io);
} catch (error) {
  process.exitCode = exitCodeOf(error);
  // Help already printed (asked for, or a command group given without its subcommand): nothing to add.
  const helpOrVersion = error instanceof CommanderError && (error.exitCode === 0 || error.code === 'commander.help');
  if (!helpOrVersion) {
    if (argv.includes('--json') && !(error instanceof CheckFailed)) io.out(JSON.stringify(jsonOf(error)));
    io.err(terminalText(messageOf(error)));
  }
}
