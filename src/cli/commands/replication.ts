import type { Command } from 'commander';
import { CapsuleError } from '../../errors.js';
import { agentPid, checkAgentName, removeAgent, replicationStatus, requestResync, requestRetry, type AgentStatus } from '../../replication/index.js';
import { readSecretFromStdin } from '../factory-config.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

interface AddAgentOptions extends Options {
  readonly url?: string;
  readonly transportUser?: string;
  readonly transportPasswordStdin?: boolean;
  readonly retryDelay?: string;
  readonly blockedAlert?: string;
  readonly packageItems?: string;
  readonly disabled?: boolean;
}

function whole(text: string | undefined, option: string, unit = 'seconds'): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CapsuleError('INVALID_ARGUMENT', `${option} takes a whole number of ${unit}, not '${text}'`);
  return Number(text);
}

export async function replicationAddAgent(name: string, options: AddAgentOptions, io: CliIO) {
  checkAgentName(name);
  if (!options.url) throw new CapsuleError('INVALID_ARGUMENT', 'give the publish with --url https://publish-1:4503');
  if (!options.transportUser) throw new CapsuleError('INVALID_ARGUMENT', 'give the transport user (a member of replication-receivers on the publish) with --transport-user');
  if (!options.transportPasswordStdin) {
    throw new CapsuleError('INVALID_ARGUMENT', 'pass the transport password on standard input with --transport-password-stdin (never as an argument)');
  }
  const password = await readSecretFromStdin(io, 'transport password');
  const retry = whole(options.retryDelay, '--retry-delay');
  const alert = whole(options.blockedAlert, '--blocked-alert');
  const packageItems = whole(options.packageItems, '--package-items', 'items');
  await withHome(options, io, async (s) => {
    const pid = agentPid(name);
    if (s.config.stored(pid)) throw new CapsuleError('INVALID_ARGUMENT', `agent '${name}' exists; change it with 'capsule config set ${pid} …' or remove it first`);
    await s.config.update(pid, {
      url: options.url!,
      'transport.user': options.transportUser!,
      'transport.password': password,
      enabled: !options.disabled,
      ...(retry !== undefined ? { 'retry.delay.seconds': retry } : {}),
      ...(alert !== undefined ? { 'blocked.alert.seconds': alert } : {}),
      ...(packageItems !== undefined ? { 'package.items': packageItems } : {}),
    });
  });
  if (options.json) printJson(io, { name, pid: agentPid(name), url: options.url, transportUser: options.transportUser });
  else io.out(`added replication agent ${name} -> ${options.url}; a running author sends a full snapshot first, then the queue`);
}

function statusRow(status: AgentStatus): string[] {
  // A snapshot under way shows how far it came: items delivered of those counted when it started.
  const progress = status.snapshot ? `snapshot ${status.snapshot.sent}/${status.snapshot.total}` : 'snapshot';
  const state = !status.enabled
    ? 'disabled'
    : status.blockedSince
      ? `BLOCKED ${status.blockedSeconds}s${status.snapshot ? ` (${progress})` : ''}`
      : status.snapshotPending
        ? progress
        : 'ok';
  return [
    status.name,
    state,
    String(status.queued),
    status.lastDeliveredAt ?? 'never',
    `${status.lagSeconds}s`,
    status.head ?? '-',
    status.lastError ?? '-',
  ];
}

export async function replicationStatusCommand(options: Options, io: CliIO) {
  const statuses = await withHome(options, io, (s) => replicationStatus(s));
  if (options.json) return printJson(io, statuses);
  if (statuses.length === 0) return io.out("no replication agents; add one with 'capsule replication add-agent NAME --url … --transport-user … --transport-password-stdin'");
  printTable(io, ['AGENT', 'STATE', 'QUEUED', 'LAST DELIVERED', 'LAG', 'HEAD', 'LAST ERROR'], statuses.map(statusRow));
}

async function control(name: string, options: Options, io: CliIO, action: 'retry' | 'resync' | 'remove') {
  await withHome(options, io, async (s) => {
    if (action === 'retry') await requestRetry(s.repo, s.config, name);
    else if (action === 'resync') await requestResync(s.repo, s.config, name);
    else await removeAgent(s.repo, s.config, name);
  });
  const said = {
    retry: `the running author sends the head of ${name}'s queue again now`,
    resync: `the running author sends everything to ${name} again (a full snapshot, then the queue)`,
    remove: `removed replication agent ${name}`,
  }[action];
  if (options.json) printJson(io, { name, action });
  else io.out(said);
}

export function registerReplicationCommands(program: Command, io: CliIO): void {
  const replication = program.command('replication').description('replication agents: send users, groups and activated content from this author to publishes');
  jsonOption(homeOption(replication.command('add-agent <name>').description('add an agent that sends to one publish')))
    .option('--url <url>', "the publish's base URL")
    .option('--transport-user <user>', 'a member of replication-receivers on the publish')
    .option('--transport-password-stdin', "read the transport user's password from standard input")
    .option('--retry-delay <seconds>', 'wait this long before sending a refused head item again (default 10)')
    .option('--blocked-alert <seconds>', 'the health check is critical after the queue is blocked this long (default 300)')
    .option('--package-items <n>', 'at most this many items in one package (1-500, default 500); the publish applies each package in one transaction')
    .option('--disabled', 'add it disabled (it keeps its queue and sends nothing)')
    .action((name: string, options: AddAgentOptions) => replicationAddAgent(name, options, io));
  jsonOption(homeOption(replication.command('status').description('per agent: queued, last delivered, blocked since, head item, last error, lag'))).action(
    (options: Options) => replicationStatusCommand(options, io),
  );
  jsonOption(homeOption(replication.command('retry <name>').description('send the head of a blocked queue again now'))).action((name: string, options: Options) =>
    control(name, options, io, 'retry'),
  );
  jsonOption(homeOption(replication.command('resync <name>').description('send everything again: a full snapshot, then the queue (idempotent)'))).action(
    (name: string, options: Options) => control(name, options, io, 'resync'),
  );
  jsonOption(homeOption(replication.command('remove <name>').description('remove an agent and its position in the queue'))).action((name: string, options: Options) =>
    control(name, options, io, 'remove'),
  );
}
