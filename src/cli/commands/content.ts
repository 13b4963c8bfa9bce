import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createContentService, type ContentJson } from '../../content/index.js';
import { CapsuleError } from '../../errors.js';
import { createOutbox } from '../../replication/index.js';
import type { CliIO } from '../io.js';
import { homeOption, withHome, type HomeOptions } from '../with-home.js';

type Options = HomeOptions;

function parseObject(text: string, source: string): ContentJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CapsuleError('INVALID_ARGUMENT', `${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CapsuleError('INVALID_ARGUMENT', `${source} must be a JSON object of properties and child nodes`);
  }
  return parsed as ContentJson;
}

async function put(path: string, json: ContentJson, options: Options, io: CliIO) {
  // Rule changes are queued for publishes in the transaction that writes them.
  const written = await withHome(options, io, (s) => createContentService(s.repo, { clock: s.clock, outbox: createOutbox(s.repo) }).put(path, json));
  io.out(`wrote ${written} node${written === 1 ? '' : 's'} at ${path}`);
}

/** `--json` here is the node to write (as the issue's `content put PATH --json '{…}'` has it). */
export async function contentPut(path: string, options: Options & { json?: string }, io: CliIO) {
  if (typeof options.json !== 'string') throw new CapsuleError('INVALID_ARGUMENT', "give the node as --json '{\"title\":\"…\"}'");
  await put(path, parseObject(options.json, '--json'), options, io);
}

export async function contentImport(file: string, options: Options & { at?: string }, io: CliIO) {
  if (!options.at) throw new CapsuleError('INVALID_ARGUMENT', 'say where with --at /content/PATH');
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new CapsuleError('INVALID_ARGUMENT', `cannot read ${file}: ${error.message}`);
  });
  await put(options.at, parseObject(text, file), options, io);
}

/** `content activate PATH [--deep]`: queued for every publish in the transaction that records it. */
export async function contentActivate(path: string, options: Options & { deep?: boolean; json?: boolean }, io: CliIO) {
  const seq = await withHome(options, io, (s) => createOutbox(s.repo).activate(path, options.deep === true));
  if (options.json) io.out(JSON.stringify({ path, deep: options.deep === true, outboxItem: seq }));
  else io.out(`activated ${path}${options.deep ? ' and everything below it' : ''} (outbox item ${seq}); agents send it to every publish`);
}

export async function contentDeactivate(path: string, options: Options & { json?: boolean }, io: CliIO) {
  const seq = await withHome(options, io, (s) => createOutbox(s.repo).deactivate(path));
  if (options.json) io.out(JSON.stringify({ path, outboxItem: seq }));
  else io.out(`deactivated ${path} (outbox item ${seq}); agents remove it from every publish`);
}

export function registerContentCommands(program: Command, io: CliIO): void {
  const content = program.command('content').description('load content under /content (allowedGroups protects a subtree)');
  homeOption(content.command('put <path>').description("create or merge a node: --json '{\"title\":\"Home\",\"child\":{…}}'"))
    .option('--json <json>', 'the node as JSON: objects become child nodes')
    .action((path: string, options) => contentPut(path, options, io));
  homeOption(content.command('import <file>').description('load a JSON file of nodes at a path'))
    .option('--at <path>', 'where to put it, under /content')
    .action((file: string, options) => contentImport(file, options, io));
  homeOption(content.command('activate <path>').description('publish a node (with --deep, its subtree) to every publish through replication'))
    .option('--deep', 'the node and everything below it')
    .option('--json', 'print JSON for scripts')
    .action((path: string, options) => contentActivate(path, options, io));
  homeOption(content.command('deactivate <path>').description('remove a node and everything below it from every publish'))
    .option('--json', 'print JSON for scripts')
    .action((path: string, options) => contentDeactivate(path, options, io));
}
