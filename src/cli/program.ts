import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAdminCommands } from './commands/admin.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerConfigCommands } from './commands/config.js';
import { registerContentCommands } from './commands/content.js';
import { registerFarmCommands } from './commands/farm.js';
import { registerGroupCommands } from './commands/groups.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerOAuthCommands } from './commands/oauth.js';
import { registerOidcCommands } from './commands/oidc.js';
import { registerReplicationCommands } from './commands/replication.js';
import { registerRepositoryCommands } from './commands/repository.js';
import { registerSamlCommands } from './commands/saml.js';
import { registerSessionCommands } from './commands/sessions.js';
import { registerStartCommand } from './commands/start.js';
import { registerStopCommand } from './commands/stop.js';
import { registerUserCommands } from './commands/users.js';
import { installCliAudit } from './audit.js';
import { installHomeAccessCheck } from './home-access.js';
import type { CliIO } from './io.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(io: CliIO): Command {
  const program = new Command('capsule')
    .description('Capsule: keys, login tokens and protected secrets for a farm of web-server instances')
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text), outputError: () => undefined })
    .showSuggestionAfterError(true);
  registerStartCommand(program, io);
  registerStopCommand(program, io);
  registerUserCommands(program, io);
  registerSessionCommands(program, io);
  registerGroupCommands(program, io);
  registerConfigCommands(program, io);
  registerKeyCommands(program, io);
  registerContentCommands(program, io);
  registerOAuthCommands(program, io);
  registerOidcCommands(program, io);
  registerSamlCommands(program, io);
  registerAdminCommands(program, io);
  registerFarmCommands(program, io);
  registerRepositoryCommands(program, io);
  registerReplicationCommands(program, io);
  registerBackupCommands(program, io);
  return program;
}

const HELP_FLAGS = new Set(['--help', '-h']);

/**
 * True when the words before the first option name a command that does not exist (`capsule
 * sam1 --help`, `capsule saml ad --help`). Commander shows the nearest group's help for those
 * and exits 0, as if the command were real.
 */
function namesUnknownCommand(program: Command, argv: readonly string[]): boolean {
  let command = program;
  for (const word of argv) {
    if (word.startsWith('-') || command.commands.length === 0) return false;
    const next = command.commands.find((sub) => sub.name() === word || sub.aliases().includes(word));
    if (!next) return word !== 'help';
    command = next;
  }
  return false;
}

/** Parses and runs one command line; errors are thrown for `main` to turn into an exit code. */
export async function run(argv: readonly string[], io: CliIO): Promise<void> {
  const program = buildProgram(io);
  installHomeAccessCheck(program, io);
  const audit = installCliAudit(program, io); // the one place where CLI changes are recorded
  // Without its help flag, commander refuses the unknown command with a suggestion, before any action.
  const words = argv.some((word) => HELP_FLAGS.has(word)) && namesUnknownCommand(program, argv) ? argv.filter((word) => !HELP_FLAGS.has(word)) : argv;
  try {
    await program.parseAsync([...words], { from: 'user' });
  } catch (error) {
    audit.done(error);
    throw error;
  }
  audit.done();
}
