import type { Command } from 'commander';
import { CapsuleError } from '../../errors.js';
import { checkPid, type ConfigValues } from '../../config/index.js';
import type { Services } from '../../instance/services.js';
import { parseAssignments } from '../arguments.js';
import { referenceWarningLine, referenceWarnings } from '../reference-warnings.js';
import { printJson, type CliIO } from '../io.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

interface ConfigurationView {
  pid: string;
  title: string | null;
  stored: boolean;
  values: ConfigValues;
}

function view(services: Services, pid: string): ConfigurationView {
  return {
    pid,
    title: services.config.componentOf(pid)?.title ?? null,
    stored: services.config.stored(pid) !== null,
    values: services.config.current(pid),
  };
}

function printView(io: CliIO, configuration: ConfigurationView): void {
  const heading = [configuration.pid, configuration.title ? `(${configuration.title})` : '', configuration.stored ? '' : '[defaults]']
    .filter(Boolean)
    .join(' ');
  const lines = Object.entries(configuration.values).map(([key, value]) => `  ${key} = ${Array.isArray(value) ? value.join(',') : String(value)}`);
  io.out([heading, ...lines].join('\n'));
}

export async function configList(options: Options, io: CliIO) {
  const views = await withHome(options, io, async (s) => {
    const pids = new Set<string>();
    for (const component of s.config.components()) if (!component.factory) pids.add(component.pid);
    for (const { pid } of s.config.list()) pids.add(pid);
    return [...pids].sort().map((pid) => view(s, pid));
  });
  if (options.json) return printJson(io, views);
  views.forEach((configuration) => printView(io, configuration));
}

export async function configGet(pid: string, options: Options, io: CliIO) {
  const configuration = await withHome(options, io, async (s) => {
    checkPid(pid);
    const component = s.config.componentOf(pid);
    const known = s.config.stored(pid) !== null || (component !== undefined && !component.factory);
    if (!known) throw new CapsuleError('CONFIG_NOT_FOUND', `no configuration ${pid}; 'capsule config list' shows them`);
    return view(s, pid);
  });
  if (options.json) return printJson(io, configuration);
  printView(io, configuration);
}

/** The registered PID (or factory PID) nearest to a mistyped one, if one is close. */
function nearestPid(pid: string, known: readonly string[]): string | null {
  const distance = (a: string, b: string) => {
    let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = row;
    }
    return previous[b.length]!;
  };
  const base = pid.split('~')[0]!;
  const ranked = known.map((candidate) => ({ candidate, d: distance(base, candidate) })).sort((x, y) => x.d - y.d);
  return ranked[0] && ranked[0].d <= 3 ? ranked[0].candidate : null;
}

export async function configSet(pid: string, pairs: string[], options: Options & { force?: boolean }, io: CliIO) {
  const changes = parseAssignments(pairs);
  const configuration = await withHome(options, io, async (s) => {
    checkPid(pid);
    // Nothing reads a configuration no component registers: a typo would be stored and ignored.
    if (!s.config.componentOf(pid) && !options.force) {
      const nearest = nearestPid(pid, s.config.components().map((component) => component.pid));
      throw new CapsuleError(
        'CONFIG_NOT_FOUND',
        `no component has the PID ${pid}${nearest ? ` (did you mean ${nearest}?)` : ''}; 'capsule config list' shows them, or add --force to store it anyway`,
      );
    }
    await s.config.updateFromText(pid, changes);
    return { ...view(s, pid), warnings: referenceWarnings(s, pid, io.env) };
  });
  if (options.json) return printJson(io, configuration);
  io.out(`updated ${pid}: ${Object.keys(changes).join(', ')}`);
  if (configuration.warnings.length > 0) io.err(referenceWarningLine(configuration.warnings));
}

export async function configDelete(pid: string, options: Options, io: CliIO) {
  await withHome(options, io, async (s) => {
    if (!(await s.config.delete(pid))) {
      throw new CapsuleError('CONFIG_NOT_FOUND', `no stored configuration ${pid}; nothing to delete`);
    }
  });
  if (options.json) return printJson(io, { pid, deleted: true });
  io.out(`deleted ${pid}; its defaults apply again`);
}

export function registerConfigCommands(program: Command, io: CliIO): void {
  const config = program.command('config').description('read and change component configurations (applied live)');
  jsonOption(homeOption(config.command('list').description('every component and stored configuration with its values'))).action(
    (options) => configList(options, io),
  );
  jsonOption(homeOption(config.command('get <pid>').description('one configuration, defaults included'))).action(
    (pid: string, options) => configGet(pid, options, io),
  );
  jsonOption(
    homeOption(
      config
        .command('set <pid> <assignments...>')
        .description('change properties (key=value ...); a running instance applies them within 2 seconds'),
    ).option('--force', 'store the configuration even if no component has this PID'),
  ).action((pid: string, pairs: string[], options) => configSet(pid, pairs, options, io));
  jsonOption(homeOption(config.command('delete <pid>').description('delete a stored configuration'))).action(
    (pid: string, options) => configDelete(pid, options, io),
  );
}
