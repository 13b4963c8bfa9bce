import type { Command } from 'commander';
import { systemClock } from '../../clock.js';
import { CapsuleError } from '../../errors.js';
import {
  addFarmInstance,
  initFarm,
  readManifestV2,
  remoteFarmStatus,
  DEFAULT_LOGINS_PER_MINUTE,
  loginRateLimit,
  parseHaproxyPeer,
  remoteRotateHmac,
  renderRemoteHaproxyConfig,
  restartFarmMember,
  runFarm,
  DEFAULT_HAPROXY_OPTIONS,
  parseBind,
  writeCheckedHaproxyConfig,
  type RemoteFarmStatus,
} from '../../farm/index.js';
import { parsePort } from '../arguments.js';
import { CheckFailed } from '../check-failed.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { prettyLogLine } from '../pretty-log-line.js';
import { terminalText } from '../terminal-text.js';
import { jsonOption, type JsonOption } from '../with-home.js';
import { registerFarmAdminKeyCommands } from './farm-admin-keys.js';
import { registerFarmSessionCommands } from './farm-sessions.js';
import { registerFarmUserCommands } from './farm-users.js';
import { farmOptions, whichFarm, type FarmOption } from './farm-options.js';

interface DirOption extends JsonOption {
  readonly dir: string;
}

function report(io: CliIO, options: JsonOption, text: string, json: object): void {
  if (options.json) printJson(io, json);
  else io.out(text);
}

function wholeNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new CapsuleError('INVALID_ARGUMENT', `${option} '${text}': give a whole number`);
  return Number(text);
}

export async function farmInit(
  options: DirOption & { publishers: string; port?: string; memberPort?: string; checkInterval?: string; checkFall?: string; checkRise?: string; loginLimit?: string },
  io: CliIO,
) {
  const publishers = wholeNumber(options.publishers, '--publishers')!;
  const result = await initFarm({
    dir: options.dir,
    publishers,
    port: options.port === undefined ? undefined : parsePort(options.port, '--port'),
    memberPort: options.memberPort === undefined ? undefined : parsePort(options.memberPort, '--member-port'),
    healthCheck: {
      ...(options.checkInterval !== undefined && { intervalMs: wholeNumber(options.checkInterval, '--check-interval') }),
      ...(options.checkFall !== undefined && { fall: wholeNumber(options.checkFall, '--check-fall') }),
      ...(options.checkRise !== undefined && { rise: wholeNumber(options.checkRise, '--check-rise') }),
    },
    loginsPerMinute: wholeNumber(options.loginLimit, '--login-limit'),
  });
  report(io, options, result.message, result);
}

/** Readable lines for a person at a terminal; the members' JSON lines as they are for a pipe or a file. */
export function farmOutputIsPretty(options: { json?: boolean; pretty?: boolean }, stdoutIsTTY: boolean): boolean {
  if (options.json && options.pretty) throw new CapsuleError('INVALID_ARGUMENT', 'give --json or --pretty, not both');
  return options.pretty ?? (!options.json && stdoutIsTTY);
}

export async function farmUp(options: DirOption & { pretty?: boolean; restart?: boolean }, io: CliIO) {
  const pretty = farmOutputIsPretty(options, io.stdoutIsTTY === true);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await runFarm(options.dir, {
      signal: controller.signal,
      onLine: (line) => io.out(line),
      ...(pretty && { formatLine: prettyLogLine }),
      ...(options.restart === false && { restart: false as const }),
      env: io.env,
      clock: systemClock,
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export async function farmRestart(name: string, options: DirOption & { wait?: string }, io: CliIO) {
  const waitSeconds = wholeNumber(options.wait, '--wait') ?? 60;
  const result = await restartFarmMember(options.dir, name, { waitMs: waitSeconds * 1000, clock: systemClock });
  report(io, options, result.message, result);
}

function printRemoteStatus(io: CliIO, status: RemoteFarmStatus): void {
  printTable(
    io,
    ['NAME', 'ROLE', 'URL', 'READY', 'HMAC', 'STAGED', 'MASTER', 'USERS', 'REPLICATION'],
    status.members.map((member) => {
      const info = member.info;
      const replication = !info
        ? '?'
        : member.role === 'author'
          ? `outbox ${info.replication.outboxHead}${info.replication.agents.map((agent) => `, ${agent.name} queued ${agent.queued} lag ${agent.lagSeconds}s`).join('')}`
          : info.replication.received.map((source) => `received ${source.lastSequence}`).join(', ') || '-';
      return [
        member.name,
        member.role,
        member.url,
        member.ready,
        info?.keys.hmac.id ?? '?',
        info?.keys.stagedHmac?.id ?? '-',
        info?.keys.master.id ?? '?',
        info ? String(info.users) : '?',
        replication,
      ];
    }),
  );
  for (const problem of status.problems) io.out(`RED: ${terminalText(problem)}`);
  if (status.green) {
    const first = status.members[0]?.info;
    io.out(terminalText(`farm green: every member answers and has hmac ${first?.keys.hmac.id} and master ${first?.keys.master.id}`));
  }
}

export async function farmStatusCommand(options: FarmOption, io: CliIO) {
  const farm = whichFarm(options, io);
  const status = await remoteFarmStatus(farm.manifest, farm.credentials, farm.file);
  if (options.json) printJson(io, status);
  else printRemoteStatus(io, status);
  if (!status.green) {
    throw new CheckFailed(`farm red: ${status.problems.length} problem${status.problems.length === 1 ? '' : 's'}; ${status.problems[0]}`);
  }
}

export async function farmAddInstance(options: DirOption & { adminPasswordFile?: string }, io: CliIO) {
  const result = await addFarmInstance(options.dir, { env: io.env, adminPasswordFile: options.adminPasswordFile });
  report(io, options, result.message, result);
}

export async function farmRotateHmac(options: FarmOption & { discardOld?: boolean; wait?: string; lockLease?: string }, io: CliIO) {
  const waitSeconds = wholeNumber(options.wait, '--wait');
  const leaseSeconds = wholeNumber(options.lockLease, '--lock-lease');
  const farm = whichFarm(options, io);
  const result = await remoteRotateHmac(farm.manifest, farm.credentials, {
    clock: systemClock,
    discardOld: options.discardOld,
    waitMs: waitSeconds === undefined ? undefined : waitSeconds * 1000,
    leaseMs: leaseSeconds === undefined ? undefined : Math.max(1, leaseSeconds) * 1000,
    // Progress and the result name key ids a member reported: shown escaped, as every member text is.
    onProgress: options.json ? undefined : (message) => io.err(terminalText(message)),
  });
  report(io, options, terminalText(result.message), result);
}

export async function farmHaproxyConfig(
  options: { manifest: string; bind?: string; out?: string; checkInterval?: string; checkFall?: string; checkRise?: string; loginLimit?: string; haproxyPeer?: string[] },
  io: CliIO,
) {
  const bind = options.bind === undefined ? DEFAULT_HAPROXY_OPTIONS.bind : parseBind(options.bind);
  const loginLimit = loginRateLimit(wholeNumber(options.loginLimit, '--login-limit') ?? DEFAULT_LOGINS_PER_MINUTE, (options.haproxyPeer ?? []).map(parseHaproxyPeer));
  const manifest = readManifestV2(options.manifest);
  if (!manifest.members.some((member) => member.role === 'publish')) {
    throw new CapsuleError('INVALID_ARGUMENT', `${options.manifest} has no member with the role publish: there is nothing to balance`);
  }
  const config = renderRemoteHaproxyConfig(manifest, {
    bind,
    intervalMs: wholeNumber(options.checkInterval, '--check-interval') ?? DEFAULT_HAPROXY_OPTIONS.intervalMs,
    fall: wholeNumber(options.checkFall, '--check-fall') ?? DEFAULT_HAPROXY_OPTIONS.fall,
    rise: wholeNumber(options.checkRise, '--check-rise') ?? DEFAULT_HAPROXY_OPTIONS.rise,
    loginLimit,
  });
  if (options.out === undefined) io.out(config.trimEnd());
  else {
    const { checked } = await writeCheckedHaproxyConfig(options.out, config, io.env);
    io.err(checked ? `wrote ${options.out} (haproxy -c: valid)` : `wrote ${options.out} (not checked: haproxy is not installed here; run 'haproxy -c -f ${options.out}' where it runs)`);
  }
}

function dirOption(command: Command): Command {
  return command.requiredOption('--dir <dir>', 'the farm folder (holds farm.json, admin-password, haproxy.cfg and the member homes)');
}

export function registerFarmCommands(program: Command, io: CliIO): void {
  const farm = program.command('farm').description('a farm of members (an author and publishes) addressed by URL; status, key rotation, users and load balancing over their admin API');
  const collect = (value: string, previous: string[] = []) => [...previous, value];

  jsonOption(dirOption(farm.command('init').description('create a local farm: an author and N publishes, each on its own loopback address, one set of keys, replication, an HAProxy configuration')))
    .requiredOption('--publishers <n>', 'how many publishes (1 to 32)')
    .option('--port <port>', 'the load balancer port on 127.0.0.1 (default 8080)')
    .option('--member-port <port>', 'the port every member listens on, the author on 127.0.0.2, publish-N on 127.0.0.(N+2) (default 4502)')
    .option('--check-interval <ms>', "HAProxy's health check interval in milliseconds (default 2000)")
    .option('--check-fall <n>', 'failed checks before HAProxy takes a publish out (default 2)')
    .option('--check-rise <n>', 'passed checks before HAProxy puts it back (default 2)')
    .option('--login-limit <n>', 'login POSTs per client address a minute HAProxy lets through, then 429 (default 30; 0: no limit)')
    .action((options) => farmInit(options, io));
  dirOption(farm.command('up').description('run every member of a local farm and HAProxy in the foreground; Ctrl-C or SIGTERM stops them all'))
    .option('--json', "the members' log lines as JSON, as they write them (the default when standard output is not a terminal)")
    .option('--pretty', 'readable log lines: time, level, member, message (the default on a terminal)')
    .option('--no-restart', 'leave a member that crashes down (default: started again after 1 s, doubling to 30 s; left down after 5 crashes in a row; one stopped with exit 0 is always left down)')
    .action((options) => farmUp(options, io));
  jsonOption(dirOption(farm.command('restart <name>').description("restart one member of a local farm that 'farm up' runs (or start it when it is down), and wait until it is ready again; the others are untouched")))
    .option('--wait <seconds>', 'how long to wait for it to be ready (default 60)')
    .action((name: string, options) => farmRestart(name, options, io));
  jsonOption(farmOptions(farm.command('status').description('per member: readiness, key ids, users, replication; exit 1 when key ids differ or a member does not answer'))).action(
    (options) => farmStatusCommand(options, io),
  );
  jsonOption(dirOption(farm.command('add-instance').description("a new publish in a local farm: the keys fetched from the author, an agent on the author that backfills it, HAProxy's configuration updated")))
    .option('--admin-password-file <file>', 'the admin password (default DIR/admin-password)')
    .action((options) => farmAddInstance(options, io));
  jsonOption(farmOptions(farm.command('rotate-hmac').description('a new HMAC key on every member, staged everywhere before any member signs with it')))
    .option('--discard-old', 'drop the old key at once, ending every token (after a compromise)')
    .option('--wait <seconds>', 'how long to wait for each member to load a key (default 15)')
    .option('--lock-lease <seconds>', "how long the farm lock outlives a run that died (default 60); renewed while the run works")
    .action((options) => farmRotateHmac(options, io));

  farm
    .command('haproxy-config')
    .description('an HAProxy configuration for the publish members of a manifest: round robin, readiness checks, redispatch')
    .requiredOption('--manifest <file>', 'a capsule-farm/2 manifest')
    .option('--bind <address:port>', 'where HAProxy listens (default 127.0.0.1:8080)')
    .option('--out <file>', 'write the configuration to this file instead of standard output')
    .option('--check-interval <ms>', 'health check interval in milliseconds (default 2000)')
    .option('--check-fall <n>', 'failed checks before a member is taken out (default 2)')
    .option('--check-rise <n>', 'passed checks before it is put back (default 2)')
    .option('--login-limit <n>', 'login POSTs per client address (IPv6: per /64) a minute, then 429 (default 30; 0: no limit)')
    .option('--haproxy-peer <name=host:port>', 'an HAProxy node sharing the login counts (repeatable; name every node, this one included)', collect)
    .action((options) => farmHaproxyConfig(options, io));

  registerFarmAdminKeyCommands(farm, io);
  registerFarmSessionCommands(farm, io);
  registerFarmUserCommands(farm, io);
}
