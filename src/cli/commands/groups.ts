import type { Command } from 'commander';
import type { Group, GroupSummary } from '../../users/index.js';
import { printJson, type CliIO } from '../io.js';
import { pageOptions, parseLimit, printPages, shellWord, type PageOptions } from '../paged-list.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

function groupJson(group: Group) {
  return { id: group.id, members: group.members };
}

function report(io: CliIO, options: JsonOption, text: string, group: Group): void {
  if (options.json) printJson(io, groupJson(group));
  else io.out(text);
}

export async function groupsAdd(id: string, options: Options, io: CliIO) {
  const group = await withHome(options, io, (s) => s.users.createGroup(id));
  report(io, options, `added group ${group.id}`, group);
}

export async function groupsList(options: Options & PageOptions & { readonly prefix?: string }, io: CliIO) {
  const { prefix } = options;
  const filters = [...(prefix !== undefined ? ['--prefix', prefix] : []), ...(options.limit !== undefined ? ['--limit', options.limit] : []), ...(options.home !== undefined ? ['--home', options.home] : [])];
  const limit = parseLimit(options.limit); // before the home is opened: a typo costs nothing
  await withHome(options, io, (s) =>
    printPages<GroupSummary>(io, { ...options, limit }, {
      key: 'groups',
      header: ['GROUP', 'MEMBERS'],
      row: (group) => [group.id, String(group.memberCount)],
      json: (group) => ({ id: group.id, memberCount: group.memberCount }),
      nextCommand: (next) => `capsule groups list ${[...filters, '--after', next].map(shellWord).join(' ')}`,
      page: async (after, limit) => {
        const page = await s.users.findGroups({ prefix, after, limit });
        return { items: page.groups, next: page.next };
      },
    }),
  );
}

export async function groupsAddMember(groupId: string, userId: string, options: Options, io: CliIO) {
  const group = await withHome(options, io, (s) => s.users.addMember(groupId, userId));
  report(io, options, `added ${userId} to ${groupId}`, group);
}

export async function groupsRemoveMember(groupId: string, userId: string, options: Options, io: CliIO) {
  const group = await withHome(options, io, (s) => s.users.removeMember(groupId, userId));
  report(io, options, `removed ${userId} from ${groupId}`, group);
}

export function registerGroupCommands(program: Command, io: CliIO): void {
  const groups = program.command('groups').description('add groups and manage their members');
  jsonOption(homeOption(groups.command('add <group>').description('add a group'))).action((group: string, options) =>
    groupsAdd(group, options, io),
  );
  pageOptions(jsonOption(homeOption(groups.command('list').description("list groups in id order with their member counts, a page at a time ('capsule users list --group G' lists the members)"))))
    .option('--prefix <text>', 'only ids that begin with this (case-sensitive)')
    .action((options) => groupsList(options, io));
  jsonOption(homeOption(groups.command('add-member <group> <user>').description('add a user to a group'))).action(
    (group: string, user: string, options) => groupsAddMember(group, user, options, io),
  );
  jsonOption(homeOption(groups.command('remove-member <group> <user>').description('remove a user from a group'))).action(
    (group: string, user: string, options) => groupsRemoveMember(group, user, options, io),
  );
}
