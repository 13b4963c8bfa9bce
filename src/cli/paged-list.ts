import type { Command } from 'commander';
import { CapsuleError } from '../errors.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../users/index.js';
import type { CliIO } from './io.js';
import { terminalText } from './terminal-text.js';

/** The options every paged list takes (`users list`, `groups list`). */
export interface PageOptions {
  readonly after?: string;
  readonly limit?: string;
  readonly all?: boolean;
  readonly json?: boolean;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string | null;
}

export interface PagedList<T> {
  /** The JSON key of the items: `{ <key>: [...], next }`. */
  readonly key: string;
  readonly header: readonly string[];
  row(item: T): readonly string[];
  json(item: T): object;
  /** The command that prints the page after `next`, with the filters given. */
  nextCommand(next: string): string;
  page(after: string | undefined, limit: number | undefined): Promise<Page<T>>;
}

/** `--limit N`: a whole number from 1 to MAX_PAGE_SIZE. */
export function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < 1 || parsed > MAX_PAGE_SIZE) {
    throw new CapsuleError('INVALID_ARGUMENT', `--limit ${value}: a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return parsed;
}

/**
 * One page (a line at the end names the command for the next), or with `--all` every page, each
 * printed as it is read and then dropped: the memory is a page's, whatever the number of items.
 */
export async function printPages<T>(io: CliIO, options: Omit<PageOptions, 'limit'> & { readonly limit: number | undefined }, list: PagedList<T>): Promise<void> {
  const { limit } = options;
  let page = await list.page(options.after, limit);
  if (!options.all) {
    if (options.json) {
      io.out(JSON.stringify({ [list.key]: page.items.map((item) => list.json(item)), next: page.next }, null, 2));
      return;
    }
    printRows(io, list, page.items, true);
    if (page.next !== null) io.out(`more follow: ${list.nextCommand(page.next)}`);
    return;
  }
  if (options.json) io.out(`{"${list.key}": [`);
  let written = 0;
  for (let first = true; ; first = false) {
    if (options.json) {
      const items = page.items.map((item) => JSON.stringify(list.json(item)));
      if (items.length > 0) io.out(`${written > 0 ? ',' : ''}${items.join(',\n')}`);
      written += items.length;
    } else {
      printRows(io, list, page.items, first);
    }
    if (page.next === null) break;
    page = await list.page(page.next, limit);
  }
  if (options.json) io.out('], "next": null}');
}

/** Columns padded to the widest cell of this page (a page at a time: never every row at once). */
function printRows<T>(io: CliIO, list: PagedList<T>, items: readonly T[], withHeader: boolean): void {
  const rows = items.map((item) => list.row(item).map(terminalText));
  if (rows.length === 0 && !withHeader) return;
  const shown = withHeader ? [list.header, ...rows] : rows;
  const widths = list.header.map((title, column) => Math.max(title.length, ...shown.map((row) => (row[column] ?? '').length)));
  io.out(shown.map((cells) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n'));
}

/** An argument as a POSIX shell reads it back: bare when it is plain, else in single quotes. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9._@+:=/-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function pageOptions(command: Command): Command {
  return command
    .option('--after <id>', 'start after this id (the one a page ends with)')
    .option('--limit <n>', `at most this many per page, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})`)
    .option('--all', 'every page, one after the other');
}
