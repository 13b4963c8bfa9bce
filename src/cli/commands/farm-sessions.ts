import type { Command } from 'commander';
import { listFarmSessions, revokeAllFarmSessions, revokeFarmSession, type MemberSessionsOutcome } from '../../farm/index.js';
import { CheckFailed } from '../check-failed.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { terminalText } from '../terminal-text.js';
import { jsonOption } from '../with-home.js';
import { farmOptions, whichFarm, type FarmOption } from './farm-options.js';

type Options = FarmOption & { readonly user: string };

/** Members that could not say are named on standard error; the data from the others stands. */
function reportProblems(io: CliIO, members: readonly MemberSessionsOutcome[]): MemberSessionsOutcome[] {
  const problems = members.filter((member) => member.problem !== null);
  for (const member of problems) io.err(terminalText(`${member.member}: ${member.problem}`));
  return problems;
}

export async function farmSessionsList(options: Options, io: CliIO) {
  const farm = whichFarm(options, io);
  const list = await listFarmSessions(farm.manifest, farm.credentials, options.user);
  if (options.json) printJson(io, list);
  else if (list.sessions.length === 0) io.out(`${options.user} has no sessions recorded on any member`);
  else {
    printTable(
      io,
      ['ID', 'DEVICE', 'ADDRESS', 'SIGNED IN', 'LAST SEEN', 'HOW', 'INSTANCE', 'STATE', 'LISTED BY'],
      list.sessions.map((view) => [
        view.id,
        `${view.browser} on ${view.os}`,
        view.clientAddress,
        view.createdAt,
        view.lastSeenAt,
        `${view.method}${view.provider ? ` (${view.provider})` : ''}`,
        view.instance,
        view.state === 'active' ? 'active' : `ended${view.endReason ? ` (${view.endReason})` : ''}`,
        view.listedBy.join(','),
      ]),
    );
  }
  // A member that did not answer may hold sessions no other lists (without a shared farm store).
  const unanswered = reportProblems(io, list.members).filter((member) => !member.answered);
  if (unanswered.length > 0) throw new CheckFailed(`the list may be incomplete: ${unanswered.map((member) => member.member).join(', ')} did not answer`);
}

export async function farmSessionsRevoke(sessionId: string, options: Options, io: CliIO) {
  const farm = whichFarm(options, io);
  const result = await revokeFarmSession(farm.manifest, farm.credentials, options.user, sessionId);
  reportProblems(io, result.members);
  if (options.json) return printJson(io, result);
  io.out(`ended session ${sessionId} of ${options.user} on ${result.endedOn.join(', ')}: its tokens are refused on every member sharing that store, within a second`);
}

export async function farmSessionsRevokeAll(options: Options, io: CliIO) {
  const farm = whichFarm(options, io);
  const result = await revokeAllFarmSessions(farm.manifest, farm.credentials, options.user);
  if (options.json) printJson(io, result);
  else io.out(`ended ${result.ended} session${result.ended === 1 ? '' : 's'} of ${options.user} (${result.members.map((member) => `${member.member}: ${member.count ?? '?'}`).join(', ')})`);
  const unanswered = reportProblems(io, result.members).filter((member) => !member.answered);
  if (unanswered.length > 0) throw new CheckFailed(`${unanswered.map((member) => member.member).join(', ')} did not end their sessions of ${options.user}; run the command again once they answer`);
}

export function registerFarmSessionCommands(farm: Command, io: CliIO): void {
  const sessions = farm.command('sessions').description("a user's sessions on every member, over their admin API: list, end one, end all");
  const withUser = (command: Command) => jsonOption(farmOptions(command)).requiredOption('--user <id>', 'the user whose sessions these are');
  withUser(sessions.command('list').description("a user's sessions on every member, merged by id (members sharing the farm store's PostgreSQL list the same)")).action(
    (options: Options) => farmSessionsList(options, io),
  );
  withUser(sessions.command('revoke <sid>').description('end one session: sent to every member, done when one of them had it')).action((sessionId: string, options: Options) =>
    farmSessionsRevoke(sessionId, options, io),
  );
  withUser(sessions.command('revoke-all').description('end every session of the user on every member')).action((options: Options) => farmSessionsRevokeAll(options, io));
}
