import { CommanderError } from 'commander';
import { CheckFailed } from './check-failed.js';
import { exitCodeOf, jsonOf, messageOf } from './exit-codes.js';
import { processIO } from './io.js';
import { run } from './program.js';

const argv = process.argv.slice(2);
const io = processIO();
try {
  await run(argv, io);
} catch (error) {
  process.exitCode = exitCodeOf(error);
  const helpOrVersion = error instanceof CommanderError && error.exitCode === 0;
  if (!helpOrVersion) {
    if (argv.includes('--json') && !(error instanceof CheckFailed)) io.out(JSON.stringify(jsonOf(error)));
    io.err(messageOf(error));
  }
}
