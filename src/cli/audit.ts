import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { isCapsuleError } from '../errors.js';
import { resolveHome } from '../instance/home.js';
import { AUDIT_LOGGER_NAME } from '../instance/logger.js';
import type { CliIO } from './io.js';

/** The file in a home where the CLI's changes are recorded, one JSON line each (mode 0600). */
export const CLI_AUDIT_FILE = 'audit.log';

/** Commands that change nothing: not recorded. Everything else (users, groups, config, keys, oauth, oidc) is. */
const READ_ONLY = new Set(['list', 'get', 'status', 'fingerprint', 'doctor', 'check', 'start', 'info', 'token', 'help']);

export interface CliAudit {
  /** Records the command that ran (if it changes a home), with its outcome. */
  done(error?: unknown): void;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current?.parent; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

/** Who runs the command: the login name, and whoever sudo'd to it. */
function operator(env: NodeJS.ProcessEnv): Record<string, string> {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = env.USER ?? 'unknown';
  }
  return { user, ...(env.SUDO_USER ? { sudoUser: env.SUDO_USER } : {}), host: hostname(), ...(env.SSH_CLIENT ? { clientAddress: env.SSH_CLIENT.split(' ')[0]! } : {}) };
}

/**
 * Records every CLI command that changes a home in `<home>/audit.log`: who (login name, sudo user,
 * SSH client address), what (the command, its arguments with `key=value` reduced to the key, the
 * names of the options given, never their values) and how it ended. A command on a home that does
 * not exist records nothing (nothing changed, and no home is created for it).
 */
export function installCliAudit(program: Command, io: CliIO): CliAudit {
  let pending: { command: Command; home: string } | undefined;
  program.hook('preAction', (_root, action) => {
    if (READ_ONLY.has(action.name())) return;
    if ((action.opts() as { dryRun?: unknown }).dryRun === true) return; // a dry run changes nothing
    // Farm commands (--dir) are not recorded: their folder is the farm's, not a home.
    if (!action.options.some((option) => option.long === '--home')) return;
    const home = (action.opts() as { home?: unknown }).home;
    pending = { command: action, home: resolveHome(typeof home === 'string' ? home : undefined, io.env) };
  });
  return {
    done(error) {
      if (!pending) return;
      const { command, home } = pending;
      pending = undefined;
      // Only in a home (keys or a repository in it), judged after the command, so keys imported
      // into a new home are recorded; a mistyped --home gets no audit.log.
      if (!['keys', 'repository'].some((entry) => existsSync(join(home, entry)))) return;
      const options = Object.keys(command.opts()).filter((name) => name !== 'home');
      const args = command.args.map((arg) => arg.split('=')[0]!.slice(0, 200));
      try {
        const destination = pino.destination({ dest: join(home, CLI_AUDIT_FILE), append: true, sync: true, mode: 0o600 });
        const audit = pino({ name: AUDIT_LOGGER_NAME }, destination);
        const entry = { event: 'cli-change', command: commandPath(command), args, options, ...operator(io.env) };
        if (error === undefined) audit.info({ ...entry, outcome: 'done' }, 'cli change');
        else audit.warn({ ...entry, outcome: 'failed', code: isCapsuleError(error) ? error.code : 'INTERNAL' }, 'cli change failed');
        destination.flushSync();
        destination.end();
      } catch (failure) {
        io.err(`warning: the change was not recorded in ${join(home, CLI_AUDIT_FILE)}: ${(failure as Error).message}`);
      }
    },
  };
}
