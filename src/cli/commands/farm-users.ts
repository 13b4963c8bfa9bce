import type { Command } from 'commander';
import { systemClock } from '../../clock.js';
import { CapsuleError } from '../../errors.js';
import { changeFarmUser, listFarmUsers, type FarmUserOperation } from '../../farm/index.js';
import { readPasswordFromStdin } from '../arguments.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { terminalText } from '../terminal-text.js';
import { jsonOption } from '../with-home.js';
import { farmOptions, whichFarm, type FarmOption } from './farm-options.js';

type UserOptions = FarmOption & { passwordStdin?: boolean; group?: string[]; wait?: string };
type ListOptions = FarmOption & { prefix?: string; group?: string; provider?: string; after?: string; limit?: string };

function wholeNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new CapsuleError('INVALID_ARGUMENT', `${option} '${text}': give a whole number`);
  return Number(text);
}

async function farmUserChange(id: string, options: UserOptions, io: CliIO, operation: FarmUserOperation) {
  const farm = whichFarm(options, io);
  const waitSeconds = wholeNumber(options.wait, '--wait');
  const result = await changeFarmUser(farm.manifest, farm.file, farm.credentials, id, operation, {
    waitMs: waitSeconds === undefined ? undefined : waitSeconds * 1000,
    clock: systemClock,
  });
  if (options.json) printJson(io, result);
  else io.out(result.message);
}

export async function farmUsersList(options: ListOptions, io: CliIO) {
  const limit = wholeNumber(options.limit, '--limit');
  if (limit !== undefined && (limit < 1 || limit > 1000)) throw new CapsuleError('INVALID_ARGUMENT', `--limit ${limit}: give 1 to 1000 (a page; --after ID gives the next)`);
  const farm = whichFarm(options, io);
  const page = await listFarmUsers(farm.manifest, farm.file, farm.credentials, {
    ...(options.prefix !== undefined && { prefix: options.prefix }),
    ...(options.group !== undefined && { group: options.group }),
    ...(options.provider !== undefined && { provider: options.provider }),
    ...(options.after !== undefined && { after: options.after }),
    ...(limit !== undefined && { limit }),
  });
  if (options.json) return printJson(io, page);
  if (page.users.length === 0) io.out(page.next === null ? `no users match on ${page.author}` : `no users match on this page of ${page.author}; more may follow`);
  else printTable(io, ['ID', 'STATE', 'GENERATION', 'GROUPS'], page.users.map((user) => [user.id, user.disabled ? 'disabled' : 'enabled', String(user.generation), user.groups.join(',') || '-']));
  // The command for the next page, with the same filters: a user id is shown escaped, as every member text is.
  if (page.next !== null) io.err(terminalText(`more users: add --after ${page.next} for the next page`));
}

function changeOptions(command: Command): Command {
  return jsonOption(farmOptions(command)).option('--wait <seconds>', 'wait up to this long until every publish has the change (exit 1 if one has not)');
}

export function registerFarmUserCommands(farm: Command, io: CliIO): void {
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  const users = farm.command('users').description("the farm's users: changed on the author, replicated to every publish");
  jsonOption(farmOptions(users.command('list').description("a page of the farm's users as the author has them, in id order")))
    .option('--prefix <text>', 'only ids that begin with this')
    .option('--group <id>', 'only direct members of this group')
    .option('--provider <name>', 'only users signed in through this OpenID Connect or SAML provider')
    .option('--after <id>', 'only ids after this one: the next page (the last list says which)')
    .option('--limit <n>', 'at most this many (default 50, at most 1000)')
    .action((options: ListOptions) => farmUsersList(options, io));
  changeOptions(users.command('add <id>').description('add a user on the author; replication adds it to every publish; the password is read from standard input'))
    .option('--password-stdin', 'read the password from standard input')
    .option('--group <group>', 'add the user to this group, made where missing (repeatable)', collect)
    .action(async (id: string, options: UserOptions) => {
      const password = await readPasswordFromStdin(io, options.passwordStdin);
      await farmUserChange(id, options, io, { kind: 'add', password, groups: options.group ?? [] });
    });
  changeOptions(users.command('passwd <id>').description("set a user's password on the author; replication sets it on every publish"))
    .option('--password-stdin', 'read the password from standard input')
    .action(async (id: string, options: UserOptions) => {
      const password = await readPasswordFromStdin(io, options.passwordStdin);
      await farmUserChange(id, options, io, { kind: 'passwd', password });
    });
  changeOptions(users.command('remove <id>').description('remove a user on the author; replication removes it from every publish')).action((id: string, options: UserOptions) =>
    farmUserChange(id, options, io, { kind: 'remove' }),
  );
  changeOptions(users.command('disable <id>').description('disable a user on the author: every token of it ends and no sign-in works, on every publish replication reaches')).action(
    (id: string, options: UserOptions) => farmUserChange(id, options, io, { kind: 'disable' }),
  );
  changeOptions(users.command('enable <id>').description('enable a disabled user again on the author and, by replication, on every publish (it signs in anew)')).action(
    (id: string, options: UserOptions) => farmUserChange(id, options, io, { kind: 'enable' }),
  );
  changeOptions(
    users.command('logout-everywhere <id>').description("end every token of a user: its generation is raised on the author and replicated, so every publish refuses the tokens issued before"),
  ).action((id: string, options: UserOptions) => farmUserChange(id, options, io, { kind: 'logout-everywhere' }));
}
