import type { Command } from 'commander';
import { BRUTE_FORCE_PID, bruteForceSettings, createBruteForceProtector, createStatefulTokenStore, logoutEverywhere, MAX_TOKENS_PER_USER } from '../../auth/index.js';
import { openPrimaryFarmStore } from '../../farm-store/index.js';
import type { User } from '../../users/index.js';
import { readPassword } from '../passphrase.js';
import { printJson, type CliIO } from '../io.js';
import { pageOptions, parseLimit, printPages, shellWord, type PageOptions } from '../paged-list.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

function userJson(user: User) {
  return { id: user.id, groups: user.groups, disabled: user.disabled, generation: user.generation };
}

function report(io: CliIO, options: JsonOption, text: string, json: object): void {
  if (options.json) printJson(io, json);
  else io.out(text);
}

export async function usersAdd(id: string, options: Options & { passwordStdin?: boolean; group?: string[] }, io: CliIO) {
  const password = await readPassword(io, options.passwordStdin);
  const user = await withHome(options, io, (s) => s.users.createUser(id, { password, groups: options.group ?? [] }));
  report(io, options, `added user ${user.id}${user.groups.length ? ` (${user.groups.join(', ')})` : ''}`, userJson(user));
}

export interface UsersListOptions extends Options, PageOptions {
  readonly prefix?: string;
  readonly group?: string;
  readonly provider?: string;
}

export async function usersList(options: UsersListOptions, io: CliIO) {
  const { prefix, group, provider } = options;
  const filters = [...(prefix !== undefined ? ['--prefix', prefix] : []), ...(group !== undefined ? ['--group', group] : []), ...(provider !== undefined ? ['--provider', provider] : []), ...(options.limit !== undefined ? ['--limit', options.limit] : []), ...(options.home !== undefined ? ['--home', options.home] : [])];
  const limit = parseLimit(options.limit); // before the home is opened: a typo costs nothing
  await withHome(options, io, (s) =>
    printPages<User>(io, { ...options, limit }, {
      key: 'users',
      header: ['ID', 'GROUPS', 'STATE'],
      row: (user) => [user.id, user.groups.join(',') || '-', user.disabled ? 'disabled' : 'enabled'],
      json: userJson,
      nextCommand: (next) => `capsule users list ${[...filters, '--after', next].map(shellWord).join(' ')}`,
      page: async (after, limit) => {
        const page = await s.users.findUsers({ prefix, group, provider, after, limit });
        return { items: page.users, next: page.next };
      },
    }),
  );
}

export async function usersRemove(id: string, options: Options, io: CliIO) {
  await withHome(options, io, (s) => s.users.removeUser(id));
  report(io, options, `removed user ${id}`, { id, removed: true });
}

export async function usersPasswd(id: string, options: Options & { passwordStdin?: boolean }, io: CliIO) {
  const password = await readPassword(io, options.passwordStdin);
  await withHome(options, io, (s) => s.users.setPassword(id, password));
  report(io, options, `changed the password of ${id}`, { id, passwordChanged: true });
}

export async function usersSetDisabled(id: string, disabled: boolean, options: Options, io: CliIO) {
  const user = await withHome(options, io, (s) => s.users.setDisabled(id, disabled));
  report(io, options, `${disabled ? 'disabled' : 'enabled'} user ${id}`, userJson(user));
}

export async function usersLogoutEverywhere(id: string, options: Options, io: CliIO) {
  const result = await withHome(options, io, (s) => logoutEverywhere({ users: s.users, store: createStatefulTokenStore({ repo: s.repo, maxPerUser: () => MAX_TOKENS_PER_USER }) }, id));
  report(
    io,
    options,
    `logged ${id} out everywhere: ${result.statefulTokensRemoved} stateful tokens removed; encapsulated tokens issued before are void (generation ${result.generation})`,
    { id, ...result },
  );
}

/** The CLI's own audit file records the command and its operator; the protector has nothing to add. */
const UNRECORDED = { info: () => undefined, warn: () => undefined, error: () => undefined };

export async function usersUnlock(id: string, options: Options, io: CliIO) {
  const hadFailures = await withHome(options, io, async (s) => {
    // The farm store itself, never a fallback: an unlock that did not reach it would not hold.
    const store = openPrimaryFarmStore({ ...s, env: io.env });
    try {
      const settings = () => bruteForceSettings(s.config.current(BRUTE_FORCE_PID));
      const protector = createBruteForceProtector({ store, clock: s.clock, settings, audit: UNRECORDED, member: () => 'capsule users unlock' });
      return await protector.unlock(id, 'capsule users unlock');
    } finally {
      await store.close();
    }
  });
  report(io, options, hadFailures ? `unlocked ${id}: its failed logins are forgotten on every member sharing the farm store` : `${id} had no failed logins to forget`, { id, unlocked: true, hadFailures });
}

export function registerUserCommands(program: Command, io: CliIO): void {
  const users = program.command('users').description('add, list, remove, disable and enable users');
  const collect = (value: string, previous: string[] = []) => [...previous, value];

  jsonOption(homeOption(users.command('add <id>').description('add a user; the password is read from standard input')))
    .option('--password-stdin', 'read the password from standard input')
    .option('--group <group>', 'add the user to this group (repeatable)', collect)
    .action((id: string, options) => usersAdd(id, options, io));
  pageOptions(jsonOption(homeOption(users.command('list').description('list users in id order with their groups and state, a page at a time'))))
    .option('--prefix <text>', 'only ids that begin with this (case-sensitive)')
    .option('--group <group>', 'only direct members of this group')
    .option('--provider <name>', 'only users provisioned by this OpenID Connect or SAML provider')
    .action((options) => usersList(options, io));
  jsonOption(homeOption(users.command('remove <id>').description('remove a user and its tokens'))).action((id: string, options) =>
    usersRemove(id, options, io),
  );
  jsonOption(homeOption(users.command('passwd <id>').description("set a user's password from standard input")))
    .option('--password-stdin', 'read the password from standard input')
    .action((id: string, options) => usersPasswd(id, options, io));
  jsonOption(homeOption(users.command('disable <id>').description('disable a user: no login, no token accepted'))).action(
    (id: string, options) => usersSetDisabled(id, true, options, io),
  );
  jsonOption(
    homeOption(users.command('logout-everywhere <id>').description("end every token of a user: stateful ones deleted, encapsulated ones void")),
  ).action((id: string, options) => usersLogoutEverywhere(id, options, io));
  jsonOption(
    homeOption(users.command('unlock <id>').description("forget a user's failed logins and lockout, on every member sharing the farm store")),
  ).action((id: string, options) => usersUnlock(id, options, io));
  jsonOption(homeOption(users.command('enable <id>').description('enable a disabled user'))).action((id: string, options) =>
    usersSetDisabled(id, false, options, io),
  );
}
