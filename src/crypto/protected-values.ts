import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PropertyValue, Repository } from '../repository/index.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import { isProtectedValue, keyIdOfProtected, PROTECTED_PREFIX } from './protected-value.js';

/** Where one protected value is: a repository property or a value in a configuration file. */
export interface ProtectedValueLocation {
  readonly source: 'repository' | 'config-file';
  /** The node path, or the file path. */
  readonly path: string;
  readonly property: string;
  readonly kid: string;
  readonly value: string;
}

function protectedIn(name: string, value: unknown): Array<{ property: string; value: string }> {
  if (isProtectedValue(value)) return [{ property: name, value }];
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => (isProtectedValue(item) ? [{ property: `${name}[${index}]`, value: item }] : []));
  }
  return [];
}

function configFiles(configDir: string): string[] {
  try {
    return readdirSync(configDir).filter((name) => name.endsWith('.json')).sort().map((name) => join(configDir, name));
  } catch {
    return [];
  }
}

function readJsonObject(file: string): Record<string, unknown> | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Every protected value in the repository and in `<home>/config/*.json`. */
export async function findProtectedValues(repo: Repository, configDir: string): Promise<ProtectedValueLocation[]> {
  const found: ProtectedValueLocation[] = [];
  for (const node of await repo.findByText(PROTECTED_PREFIX)) {
    for (const [name, value] of Object.entries(node.properties)) {
      for (const hit of protectedIn(name, value)) {
        found.push({ source: 'repository', path: node.path, ...hit, kid: keyIdOfProtected(hit.value)! });
      }
    }
  }
  for (const file of configFiles(configDir)) {
    for (const [name, value] of Object.entries(readJsonObject(file) ?? {})) {
      for (const hit of protectedIn(name, value)) {
        found.push({ source: 'config-file', path: file, ...hit, kid: keyIdOfProtected(hit.value)! });
      }
    }
  }
  return found;
}

function rewrite(value: unknown, convert: (value: string) => string | null): { value: unknown; changed: boolean } {
  if (isProtectedValue(value)) {
    const next = convert(value);
    return next === null ? { value, changed: false } : { value: next, changed: true };
  }
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item) => {
      const result = rewrite(item, convert);
      changed ||= result.changed;
      return result.value;
    });
    return { value: items, changed };
  }
  return { value, changed: false };
}

export interface RewriteProgress {
  (done: number, total: number): void;
}

/**
 * Replaces every protected value for which `convert` returns a new value: one transaction per
 * node and one atomic write per file, so an interrupted run can simply be run again.
 */
export async function rewriteProtectedValues(
  repo: Repository,
  configDir: string,
  convert: (value: string) => string | null,
  options: { bumpCounters?: readonly string[]; onProgress?: RewriteProgress } = {},
): Promise<number> {
  const nodes = await repo.findByText(PROTECTED_PREFIX);
  const files = configFiles(configDir);
  const total = nodes.length + files.length;
  let done = 0;
  let rewritten = 0;
  for (const { path } of nodes) {
    await repo.transaction(async (tx) => {
      const node = await tx.getNode(path);
      if (!node) return;
      const changes: Record<string, PropertyValue> = {};
      for (const [name, value] of Object.entries(node.properties)) {
        const result = rewrite(value, convert);
        if (result.changed) changes[name] = result.value as PropertyValue;
      }
      if (Object.keys(changes).length === 0) return;
      await tx.setProperties(path, changes);
      for (const counter of options.bumpCounters ?? []) await tx.bumpCounter(counter);
      rewritten += Object.keys(changes).length;
    });
    options.onProgress?.(++done, total);
  }
  for (const file of files) {
    const object = readJsonObject(file);
    if (object) {
      let changed = false;
      for (const [name, value] of Object.entries(object)) {
        const result = rewrite(value, convert);
        if (result.changed) {
          object[name] = result.value;
          changed = true;
          rewritten++;
        }
      }
      if (changed) writeFileAtomic(file, `${JSON.stringify(object, null, 2)}\n`, 0o600);
    }
    options.onProgress?.(++done, total);
  }
  return rewritten;
}
