import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { homeLayout, readRepositoryLocation } from '../../src/instance/home.js';
import { openSqliteRepository, type PropertyValue } from '../../src/repository/index.js';
import { systemClock } from '../../src/clock.js';

/**
 * Files that change without the home's state changing: the CLI's audit log records failed
 * commands too, and SQLite's own files change with every open (the database is compared by
 * its content instead, below).
 */
function isVolatile(home: string, file: string): boolean {
  if (relative(home, file) === 'audit.log') return true;
  return /\.sqlite(-wal|-shm|-journal)?$/.test(basename(file));
}

function fileLines(home: string, dir: string, lines: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    const mode = (stat.mode & 0o777).toString(8);
    const where = relative(home, path);
    if (stat.isSymbolicLink()) lines.push(`link ${where} -> ${readlinkSync(path)}`);
    else if (stat.isDirectory()) {
      lines.push(`dir  ${where} ${mode}`);
      fileLines(home, path, lines);
    } else if (!isVolatile(home, path)) {
      lines.push(`file ${where} ${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
    }
  }
}

function shown(value: PropertyValue): unknown {
  if (value instanceof Uint8Array) return `binary:${createHash('sha256').update(value).digest('hex')}`;
  if (value instanceof Date) return `date:${value.toISOString()}`;
  return value;
}

/**
 * The state of a home as one comparable text: every file (path, mode, SHA-256) except the audit
 * log and the SQLite files, then every node under `trees` (default: the configurations in
 * `/conf`) with its type and properties. Take one before a command that must fail and one
 * after; they are equal when the command changed nothing. Only homes on SQLite: for a
 * PostgreSQL repository the files are compared and the trees are not.
 */
export async function snapshotHome(home: string, trees: readonly string[] = ['/conf']): Promise<string> {
  const lines: string[] = [];
  if (existsSync(home)) fileLines(home, home, lines);
  const location = readRepositoryLocation(homeLayout(home));
  if (location.backend === 'sqlite' && existsSync(location.file)) {
    const repo = openSqliteRepository({ file: location.file, clock: systemClock });
    try {
      for (const tree of trees) {
        for (const node of await repo.getSubtree(tree)) {
          const properties = Object.fromEntries(Object.entries(node.properties).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => [key, shown(value)]));
          lines.push(`node ${node.path} ${node.type} ${JSON.stringify(properties)}`);
        }
      }
    } finally {
      await repo.close();
    }
  }
  return lines.join('\n');
}

/**
 * SHA-256 of every file under `home` (SQLite files included, byte for byte), by path relative
 * to it, less the paths in `except`: two equal results mean no file changed at all.
 */
export function hashHomeFiles(home: string, options: { except?: readonly string[] } = {}): Record<string, string> {
  const hashes: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = relative(home, path);
      if (options.except?.includes(name)) continue;
      if (entry.isDirectory()) visit(path);
      else hashes[name] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  visit(home);
  return hashes;
}
