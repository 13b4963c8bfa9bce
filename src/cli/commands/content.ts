import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createContentService, type ContentJson } from '../../content/index.js';
import { CapsuleError } from '../../errors.js';
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
  const written = await withHome(options, io, (s) => createContentService(s.repo).put(path, json));
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

export function registerContentCommands(program: Command, io: CliIO): void {
  const content = program.command('content').description('load content under /content (allowedGroups protects a subtree)');
  homeOption(content.command('put <path>').description("create or merge a node: --json '{\"title\":\"Home\",\"child\":{…}}'"))
    .option('--json <json>', 'the node as JSON: objects become child nodes')
    .action((path: string, options) => contentPut(path, options, io));
  homeOption(content.command('import <file>').description('load a JSON file of nodes at a path'))
    .option('--at <path>', 'where to put it, under /content')
    .action((file: string, options) => contentImport(file, options, io));
}
