import { runCommandLine } from './command-line.js';
import { processIO } from './io.js';

const code = await runCommandLine(process.argv.slice(2), processIO());
if (code !== 0) process.exitCode = code;
