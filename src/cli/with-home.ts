import type { Command } from 'commander';
// Not instance/index.js: that would load the HTTP server into every short command.
import { systemClock } from '../clock.js';
import { resolveHome } from '../instance/home.js';
import { openServices, type Services } from '../instance/services.js';
import type { CliIO } from './io.js';

export interface HomeOptions {
  readonly home?: string;
}

export interface JsonOption {
  readonly json?: boolean;
}

/** Opens the home's services for one command and always closes them. */
export async function withHome<T>(options: HomeOptions, io: CliIO, work: (services: Services) => Promise<T>): Promise<T> {
  // CAPSULE_REPOSITORY_URL only lends its password, and only when it names the home's repository.
  const services = await openServices({
    home: resolveHome(options.home, io.env),
    clock: systemClock,
    repositoryUrl: io.env.CAPSULE_REPOSITORY_URL,
    env: io.env,
    onWarning: (message) => io.err(`capsule: warning: ${message}`),
  });
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

export function homeOption(command: Command): Command {
  return command.option('--home <dir>', 'the instance home (default: $CAPSULE_HOME or ./capsule-home)');
}

export function jsonOption(command: Command): Command {
  return command.option('--json', 'print JSON for scripts');
}
