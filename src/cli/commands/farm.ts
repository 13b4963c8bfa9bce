import type { Command } from 'commander';
import { CapsuleError } from '../../errors.js';
import { writeFileSync } from 'node:fs';
import {
  adminCredentials,
  addFarmInstance,
  readManifestV2,
  remoteFarmStatus,
  remoteRotateHmac,
  renderRemoteHaproxyConfig,
  DEFAULT_HAPROXY_OPTIONS,
  type AdminCredentials,
  type RemoteFarmStatus,
  addFarmUser,
  farmStatus,
  initFarm,
  removeFarmUser,
  rotateFarmHmac,
  runFarm,
  setFarmUserPassword,
  type FarmStatus,
} from '../../farm/index.js';
import { parsePort, readPasswordFromStdin } from '../arguments.js';
import { CheckFailed } from '../check-failed.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { jsonOption, type JsonOption } from '../with-home.js';

interface DirOption extends JsonOption {
  readonly dir: string;
}

/** A farm given by `--dir` (the local farm's folder, whose homes are opened) or `--manifest` (members by URL). */
interface FarmOption extends JsonOption {
  readonly dir?: string;
  readonly manifest?: string;
  readonly adminUser?: string;
  readonly adminPasswordFile?: string;
}

function whichFarm(options: FarmOption): { dir: string; manifest?: undefined } | { manifest: string; dir?: undefined } {
  if (options.dir !== undefined && options.manifest !== undefined) throw new CapsuleError('INVALID_ARGUMENT', 'give --manifest FILE (members by URL) or --dir DIR (a local farm), not both');
  if (options.manifest !== undefined) return { manifest: options.manifest };
  if (options.dir !== undefined) return { dir: options.dir };
  throw new CapsuleError('INVALID_ARGUMENT', "give --manifest FILE (a capsule-farm/2 manifest of member URLs), or --dir DIR for a farm made by 'capsule farm init'");
}

function credentialsOf(options: FarmOption, io: CliIO): AdminCredentials {
  return adminCredentials({ user: options.adminUser, passwordFile: options.adminPasswordFile, env: io.env });
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
  options: DirOption & { publishers: string; port?: string; checkInterval?: string; checkFall?: string; checkRise?: string },
  io: CliIO,
) {
  const publishers = wholeNumber(options.publishers, '--publishers')!;
  const result = await initFarm({
    dir: options.dir,
    publishers,
    port: options.port === undefined ? undefined : parsePort(options.port, '--port'),
    healthCheck: {
      ...(options.checkInterval !== undefined && { intervalMs: wholeNumber(options.checkInterval, '--check-interval') }),
      ...(options.checkFall !== undefined && { fall: wholeNumber(options.checkFall, '--check-fall') }),
      ...(options.checkRise !== undefined && { rise: wholeNumber(options.checkRise, '--check-rise') }),
    },
  });
  report(io, options, result.message, result);
}

export async function farmUp(options: DirOption, io: CliIO) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await runFarm(options.dir, { signal: controller.signal, onLine: (line) => io.out(line), env: io.env });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function printStatus(io: CliIO, status: FarmStatus): void {
  io.out(`load balancer ${status.loadBalancer.url}: ${status.loadBalancer.pid ? `haproxy pid ${status.loadBalancer.pid}` : 'not running'}`);
  printTable(
    io,
    ['NAME', 'PORT', 'PID', 'HEALTH', 'HMAC', 'MASTER', 'USERS'],
    status.instances.map((instance) => [
      instance.name,
      String(instance.port),
      instance.pid === null ? '-' : String(instance.pid),
      instance.health,
      instance.hmac ?? '?',
      instance.master ?? '?',
      instance.users === null ? '?' : String(instance.users),
    ]),
  );
  for (const warning of status.warnings) io.out(`warn: ${warning}`);
  for (const problem of status.problems) io.out(`RED: ${problem}`);
  if (status.green) {
    const [first] = status.instances;
    io.out(`farm green: every instance has hmac ${first?.hmac} and master ${first?.master}`);
  }
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
  for (const problem of status.problems) io.out(`RED: ${problem}`);
  if (status.green) {
    const first = status.members[0]?.info;
    io.out(`farm green: every member answers and has hmac ${first?.keys.hmac.id} and master ${first?.keys.master.id}`);
  }
}

export async function farmStatusCommand(options: FarmOption, io: CliIO) {
  const farm = whichFarm(options);
  if (farm.manifest !== undefined) {
    const manifest = readManifestV2(farm.manifest);
    const status = await remoteFarmStatus(manifest, credentialsOf(options, io), farm.manifest);
    if (options.json) printJson(io, status);
    else printRemoteStatus(io, status);
    if (!status.green) {
      throw new CheckFailed(`farm red: ${status.problems.length} problem${status.problems.length === 1 ? '' : 's'}; ${status.problems[0]}`);
    }
    return;
  }
  const status = await farmStatus(farm.dir);
  if (options.json) printJson(io, status);
  else printStatus(io, status);
  if (!status.green) {
    throw new CheckFailed(`farm red: ${status.problems.length} problem${status.problems.length === 1 ? '' : 's'}; a token or secret from one instance would fail on another`);
  }
}

export async function farmUsersAdd(id: string, options: DirOption & { passwordStdin?: boolean; group?: string[] }, io: CliIO) {
  const password = await readPasswordFromStdin(io, options.passwordStdin);
  const result = await addFarmUser(options.dir, id, password, { groups: options.group ?? [] });
  report(io, options, result.message, result);
}

export async function farmUsersPasswd(id: string, options: DirOption & { passwordStdin?: boolean }, io: CliIO) {
  const password = await readPasswordFromStdin(io, options.passwordStdin);
  const result = await setFarmUserPassword(options.dir, id, password);
  report(io, options, result.message, result);
}

export async function farmUsersRemove(id: string, options: DirOption, io: CliIO) {
  const result = await removeFarmUser(options.dir, id);
  report(io, options, result.message, result);
}

export async function farmAddInstance(options: DirOption, io: CliIO) {
  const result = await addFarmInstance(options.dir);
  report(io, options, result.message, result);
}

export async function farmRotateHmac(options: FarmOption & { discardOld?: boolean; wait?: string; lockLease?: string }, io: CliIO) {
  const waitSeconds = wholeNumber(options.wait, '--wait');
  const farm = whichFarm(options);
  if (farm.manifest !== undefined) {
    const leaseSeconds = wholeNumber(options.lockLease, '--lock-lease');
    const manifest = readManifestV2(farm.manifest);
    const result = await remoteRotateHmac(manifest, credentialsOf(options, io), {
      discardOld: options.discardOld,
      waitMs: waitSeconds === undefined ? undefined : waitSeconds * 1000,
      leaseMs: leaseSeconds === undefined ? undefined : Math.max(1, leaseSeconds) * 1000,
      onProgress: options.json ? undefined : (message) => io.err(message),
    });
    report(io, options, result.message, result);
    return;
  }
  const result = await rotateFarmHmac(farm.dir, {
    discardOld: options.discardOld,
    waitMs: waitSeconds === undefined ? undefined : waitSeconds * 1000,
    onProgress: options.json ? undefined : (message) => io.err(message),
  });
  report(io, options, result.message, result);
}

export async function farmHaproxyConfig(options: { manifest: string; bind?: string; out?: string; checkInterval?: string; checkFall?: string; checkRise?: string }, io: CliIO) {
  const manifest = readManifestV2(options.manifest);
  if (!manifest.members.some((member) => member.role === 'publish')) {
    throw new CapsuleError('INVALID_ARGUMENT', `${options.manifest} has no member with the role publish: there is nothing to balance`);
  }
  const config = renderRemoteHaproxyConfig(manifest, {
    bind: options.bind ?? DEFAULT_HAPROXY_OPTIONS.bind,
    intervalMs: wholeNumber(options.checkInterval, '--check-interval') ?? DEFAULT_HAPROXY_OPTIONS.intervalMs,
    fall: wholeNumber(options.checkFall, '--check-fall') ?? DEFAULT_HAPROXY_OPTIONS.fall,
    rise: wholeNumber(options.checkRise, '--check-rise') ?? DEFAULT_HAPROXY_OPTIONS.rise,
  });
  if (options.out === undefined) io.out(config.trimEnd());
  else {
    writeFileSync(options.out, config, { mode: 0o644 });
    io.err(`wrote ${options.out}`);
  }
}

/** `--dir` (the local farm) or `--manifest` (members by URL, over their admin API), and how to log in to them. */
function farmOptions(command: Command): Command {
  return command
    .option('--manifest <file>', 'a capsule-farm/2 manifest: the members by URL (the commands use their admin API, never a home)')
    .option('--dir <dir>', "a local farm made by 'capsule farm init' (its homes are opened)")
    .option('--admin-user <id>', 'the administrator the commands log in as on every member (default admin)')
    .option('--admin-password-file <file>', "that administrator's password, in a file of mode 0600 (default: CAPSULE_ADMIN_PASSWORD)");
}

function dirOption(command: Command): Command {
  return command.requiredOption('--dir <dir>', 'the farm folder (holds farm.json, haproxy.cfg and the instance homes)');
}

export function registerFarmCommands(program: Command, io: CliIO): void {
  const farm = program.command('farm').description('a publish farm: instances with the same keys and users behind HAProxy, no sticky sessions');
  const collect = (value: string, previous: string[] = []) => [...previous, value];

  jsonOption(dirOption(farm.command('init').description('create a farm: N instance homes with one set of keys, encapsulated tokens, an HAProxy configuration')))
    .requiredOption('--publishers <n>', 'how many publish instances (1 to 32)')
    .option('--port <port>', 'the load balancer port; instances use the ports after it (default 8080)')
    .option('--check-interval <ms>', "HAProxy's health check interval in milliseconds (default 2000)")
    .option('--check-fall <n>', 'failed checks before HAProxy takes an instance out (default 2)')
    .option('--check-rise <n>', 'passed checks before HAProxy puts it back (default 2)')
    .action((options) => farmInit(options, io));
  dirOption(farm.command('up').description('run every instance and HAProxy in the foreground; Ctrl-C or SIGTERM stops them all')).action((options) =>
    farmUp(options, io),
  );
  jsonOption(farmOptions(farm.command('status').description('per member: readiness, key ids, users, replication; exit 1 when key ids differ or a member does not answer'))).action(
    (options) => farmStatusCommand(options, io),
  );
  jsonOption(dirOption(farm.command('add-instance').description("a new instance with the farm's keys and users; HAProxy's configuration updated"))).action(
    (options) => farmAddInstance(options, io),
  );
  jsonOption(farmOptions(farm.command('rotate-hmac').description('a new HMAC key on every member, staged everywhere before any member signs with it')))
    .option('--discard-old', 'drop the old key at once, ending every token (after a compromise)')
    .option('--wait <seconds>', 'how long to wait for each running instance to load a key (default 15)')
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
    .action((options) => farmHaproxyConfig(options, io));

  const users = farm.command('users').description('the same users on every instance of the farm');
  jsonOption(dirOption(users.command('add <id>').description('add a user to every instance; the password is read from standard input')))
    .option('--password-stdin', 'read the password from standard input')
    .option('--group <group>', 'add the user to this group, made where missing (repeatable)', collect)
    .action((id: string, options) => farmUsersAdd(id, options, io));
  jsonOption(dirOption(users.command('passwd <id>').description("set a user's password on every instance (and add it where it is missing)")))
    .option('--password-stdin', 'read the password from standard input')
    .action((id: string, options) => farmUsersPasswd(id, options, io));
  jsonOption(dirOption(users.command('remove <id>').description('remove a user from every instance'))).action((id: string, options) =>
    farmUsersRemove(id, options, io),
  );
}
