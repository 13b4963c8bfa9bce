import type { Command } from 'commander';
import { TOKEN_PID, tokenSettings } from '../../auth/index.js';
import { CapsuleError } from '../../errors.js';
import { createSessionRegistry, openSessionStore, SESSIONS_PID, sessionsSettings } from '../../sessions/index.js';
import { sessionEndsToOutbox } from '../../replication/index.js';
import type { Services } from '../../instance/services.js';
import type { SessionRegistry, SessionView } from '../../sessions/registry-types.js';
import type { UserManager } from '../../users/index.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { terminalText } from '../terminal-text.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

interface UserOption extends HomeOptions, JsonOption {
  readonly user: string;
}

/** The CLI's own audit file records the command and its operator; the registry has nothing to add. */
const UNRECORDED = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The registry of a home's sessions, as the instance builds it: on the farm store's PostgreSQL
 * when `capsule.farm.store` names one (every member's sessions), else on the home's repository.
 * It does not listen for other members' ends (a command reads and ends, then exits); an end it
 * makes is announced to the running members by the store.
 */
export async function openSessionRegistry(services: Services, env: NodeJS.ProcessEnv): Promise<SessionRegistry> {
  return createSessionRegistry({
    store: openSessionStore({ ...services, env }),
    clock: services.clock,
    settings: () => sessionsSettings(services.config.current(SESSIONS_PID)),
    // A command must reach the store or fail: nothing here signs in, but say so if something did.
    failurePolicy: () => 'closed',
    tokenLifetimeMs: () => tokenSettings(services.config.current(TOKEN_PID)).expirationMs,
    member: () => 'capsule sessions',
    audit: UNRECORDED,
    logger: UNRECORDED,
    users: services.users,
    listen: false,
    // On an author, the running instance's agents deliver these to its publishes.
    onEnded: sessionEndsToOutbox(services),
  });
}

/** What a command that reads or ends sessions needs: the registry and the users (to refuse an unknown user). */
export interface SessionCommandDeps {
  readonly sessions: SessionRegistry;
  readonly users: UserManager;
}

/** Who the CLI's changes are recorded as ending a session for (its own audit file names the operator). */
const BY = 'capsule sessions';

async function withSessions<T>(options: HomeOptions, io: CliIO, work: (deps: SessionCommandDeps) => Promise<T>): Promise<T> {
  return withHome(options, io, async (services) => {
    const sessions = await openSessionRegistry(services, io.env);
    try {
      return await work({ sessions, users: services.users });
    } finally {
      await sessions.close();
    }
  });
}

async function existingUser(users: UserManager, id: string): Promise<string> {
  if (!(await users.getUser(id))) throw new CapsuleError('USER_NOT_FOUND', `no user '${id}' in this home`);
  return id;
}

export const sessionDevice = (view: SessionView) => `${view.browser} on ${view.os}`;
export const sessionHow = (view: SessionView) => `${view.method}${view.provider ? ` (${view.provider})` : ''}`;
export const sessionState = (view: SessionView) => (view.state === 'active' ? 'active' : `ended${view.endReason ? ` (${view.endReason})` : ''}`);

export function printSessions(io: CliIO, views: readonly SessionView[]): void {
  if (views.length === 0) {
    io.out('no sessions recorded');
    return;
  }
  printTable(
    io,
    ['ID', 'DEVICE', 'ADDRESS', 'SIGNED IN', 'LAST SEEN', 'HOW', 'INSTANCE', 'STATE'],
    views.map((view) => [view.id, sessionDevice(view), view.clientAddress, view.createdAt, view.lastSeenAt, sessionHow(view), view.instance, sessionState(view)]),
  );
}

export async function listSessionsWith(deps: SessionCommandDeps, options: UserOption, io: CliIO): Promise<void> {
  const userId = await existingUser(deps.users, options.user);
  const sessions = await deps.sessions.list(userId, null);
  if (options.json) printJson(io, { userId, sessions });
  else printSessions(io, sessions);
}

export async function revokeSessionWith(deps: SessionCommandDeps, sessionId: string, options: UserOption, io: CliIO): Promise<void> {
  const userId = await existingUser(deps.users, options.user);
  const revoked = await deps.sessions.revoke(userId, sessionId, BY);
  if (!revoked) throw new CapsuleError('NOT_FOUND', `${userId} has no active session ${sessionId} ('capsule sessions list --user ${userId}' shows them); nothing was changed`);
  if (options.json) printJson(io, { userId, revoked });
  // The device is parsed from a User-Agent anyone could send: no control character reaches the terminal.
  else io.out(terminalText(`ended session ${revoked.id} of ${userId} (${sessionDevice(revoked)}, ${revoked.clientAddress}): its tokens are refused on every instance that shares the session store`));
}

export async function revokeAllSessionsWith(deps: SessionCommandDeps, options: UserOption, io: CliIO): Promise<void> {
  const userId = await existingUser(deps.users, options.user);
  const ended = await deps.sessions.revokeAll(userId, BY);
  if (options.json) printJson(io, { userId, ended });
  else io.out(ended === 0 ? `${userId} had no active session` : `ended ${ended} session${ended === 1 ? '' : 's'} of ${userId}`);
}

export function registerSessionCommands(program: Command, io: CliIO): void {
  const sessions = program
    .command('sessions')
    .description("a user's sessions (one per sign-in, per device) in this home's session store: list them, end one or all");
  const userOption = (command: Command) => jsonOption(homeOption(command)).requiredOption('--user <id>', 'the user whose sessions these are');
  userOption(sessions.command('list').description("list a user's sessions: device, address, times, how they signed in, state")).action((options: UserOption) =>
    withSessions(options, io, (deps) => listSessionsWith(deps, options, io)),
  );
  userOption(sessions.command('revoke <sid>').description('end one session: its tokens are refused on every instance sharing the store, within a second')).action(
    (sessionId: string, options: UserOption) => withSessions(options, io, (deps) => revokeSessionWith(deps, sessionId, options, io)),
  );
  userOption(sessions.command('revoke-all').description("end every session of a user (the user stays; tokens issued before sessions existed are ended by 'users logout-everywhere')")).action(
    (options: UserOption) => withSessions(options, io, (deps) => revokeAllSessionsWith(deps, options, io)),
  );
}
