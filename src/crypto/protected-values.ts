import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PropertyValue, Repository } from '../repository/index.js';
import { CapsuleError } from '../errors.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import { isPartialReference, resolveReference, wholeReference } from '../support/references.js';
import { isProtectedValue, keyIdOfProtected, PROTECTED_PREFIX } from './protected-value.js';

/** Where one protected value is: a repository property or a value in a configuration file. */
export interface ProtectedValueLocation {
  readonly source: 'repository' | 'config-file';
  /** The node path, or the file path. */
  readonly path: string;
  readonly property: string;
  readonly kid: string;
  readonly value: string;
  /**
   * Set when the value is what a reference (`$[secret:NAME]`, `$[env:NAME]`) resolved to in this
   * process's environment: it is needed, but no key command can rewrite it.
   */
  readonly reference?: string;
}

/**
 * A property that holds a reference: what it resolves to depends on the environment of the
 * process that reads it, so no scan here can prove which key it needs on the instance.
 */
export interface ReferenceLocation {
  readonly source: 'repository' | 'config-file';
  readonly path: string;
  readonly property: string;
  /** As written (`$[secret:analytics]`). */
  readonly reference: string;
  /** The key id of the protected value it resolves to here; null when it resolves to no protected value. */
  readonly kid: string | null;
  /** Why it does not resolve here (the message names the reference, never a value). */
  readonly unresolved?: string;
}

function protectedIn(name: string, value: unknown): Array<{ property: string; value: string }> {
  if (isProtectedValue(value)) return [{ property: name, value }];
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => (isProtectedValue(item) ? [{ property: `${name}[${index}]`, value: item }] : []));
  }
  return [];
}

/** A place that may hold protected values but cannot be read, or a value that looks protected but is damaged. */
export interface UnreadableLocation {
  readonly source: 'repository' | 'config-file';
  readonly path: string;
  /** Set for a damaged value; absent when the whole file could not be read. */
  readonly property?: string;
  readonly reason: string;
}

export interface ProtectedValueScan {
  readonly values: ProtectedValueLocation[];
  readonly unreadable: UnreadableLocation[];
  readonly references: ReferenceLocation[];
}

function referencingIn(name: string, value: unknown): Array<{ property: string; text: string }> {
  const holds = (item: unknown): item is string => typeof item === 'string' && (wholeReference(item) !== null || isPartialReference(item));
  if (holds(value)) return [{ property: name, text: value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => (holds(item) ? [{ property: `${name}[${index}]`, text: item }] : []));
  return [];
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function configFiles(configDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(configDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CapsuleError('HOME_UNREADABLE', `cannot list ${configDir}: ${reasonOf(error)}`);
  }
  return names.filter((name) => name.endsWith('.json')).sort().map((name) => join(configDir, name));
}

/** A configuration file as an object; what makes it unusable otherwise (read error, not JSON, not an object). */
function readJsonObject(file: string): { object: Record<string, unknown> } | { reason: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    return { reason: error instanceof SyntaxError ? `not valid JSON (${error.message})` : `cannot be read (${reasonOf(error)})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { reason: 'not a JSON object' };
  return { object: parsed as Record<string, unknown> };
}

/** A string that starts like a protected value but is not one (truncated, edited): nothing can decrypt or rewrite it. */
function isDamagedProtectedValue(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PROTECTED_PREFIX) && !isProtectedValue(value);
}

function damagedIn(name: string, value: unknown): string[] {
  if (isDamagedProtectedValue(value)) return [name];
  if (Array.isArray(value)) return value.flatMap((item, index) => (isDamagedProtectedValue(item) ? [`${name}[${index}]`] : []));
  return [];
}

const DAMAGED = 'starts like a protected value ({cap1:<key id>:…}) but is not one: it was truncated or edited';

/**
 * Every protected value in the repository and in `<home>/config/*.json`, and every place that
 * may hold one but cannot be read: a key operation must know what it would leave behind.
 */
export async function scanProtectedValues(repo: Repository, configDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ProtectedValueScan> {
  const values: ProtectedValueLocation[] = [];
  const unreadable: UnreadableLocation[] = [];
  const references: ReferenceLocation[] = [];
  const collect = (source: 'repository' | 'config-file', path: string, properties: Record<string, unknown>) => {
    for (const [name, value] of Object.entries(properties)) {
      for (const hit of protectedIn(name, value)) values.push({ source, path, ...hit, kid: keyIdOfProtected(hit.value)! });
      for (const property of damagedIn(name, value)) unreadable.push({ source, path, property, reason: DAMAGED });
      for (const { property, text } of referencingIn(name, value)) {
        let resolved: string;
        try {
          const reference = wholeReference(text);
          if (reference === null) throw new Error(`${path}: ${property} mixes a reference with other text, which is never resolved`);
          resolved = resolveReference(`${path}: ${property}`, reference, env);
        } catch (error) {
          references.push({ source, path, property, reference: text, kid: null, unresolved: reasonOf(error) });
          continue;
        }
        const kid = isProtectedValue(resolved) ? keyIdOfProtected(resolved)! : null;
        references.push({ source, path, property, reference: text, kid });
        if (kid !== null) values.push({ source, path, property, kid, value: resolved, reference: text });
      }
    }
  };
  const nodes = new Map<string, Record<string, unknown>>();
  for (const fragment of [PROTECTED_PREFIX, '$[']) {
    for (const node of await repo.findByText(fragment)) nodes.set(node.path, node.properties);
  }
  for (const [path, properties] of [...nodes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) collect('repository', path, properties);
  for (const file of configFiles(configDir)) {
    const read = readJsonObject(file);
    if ('object' in read) collect('config-file', file, read.object);
    else unreadable.push({ source: 'config-file', path: file, reason: read.reason });
  }
  return { values, unreadable, references };
}

/** "repository node /conf/system/x property client.secret ($[secret:analytics])" */
export function describeReference(place: ReferenceLocation): string {
  return `${place.source === 'repository' ? 'repository node' : 'config file'} ${place.path} property ${place.property} (${place.reference})`;
}

export function describeUnreadable(place: UnreadableLocation): string {
  return `${place.source === 'repository' ? 'repository node' : 'config file'} ${place.path}${place.property ? ` property ${place.property}` : ''}: ${place.reason}`;
}

/** Refuses when any place could not be read: the operation would leave its values behind. */
export function requireReadable(scan: ProtectedValueScan, operation: string): void {
  if (scan.unreadable.length === 0) return;
  const [first, ...rest] = scan.unreadable;
  throw new CapsuleError(
    'INVALID_CONFIG',
    `${operation} stopped before changing anything: ${describeUnreadable(first!)}${rest.length ? ` (and ${rest.length} more: run 'capsule keys doctor')` : ''}; fix it, then run the command again`,
  );
}

/**
 * Every protected value in the repository and in `<home>/config/*.json`. Refuses, naming it, a
 * config file that cannot be read: a count without its values would be wrong. (A damaged value
 * is no protected value here; the key operations that would leave it behind refuse it too.)
 */
export async function findProtectedValues(repo: Repository, configDir: string): Promise<ProtectedValueLocation[]> {
  const scan = await scanProtectedValues(repo, configDir);
  requireReadable({ ...scan, unreadable: scan.unreadable.filter((place) => place.property === undefined) }, 'looking for protected values');
  return scan.values;
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
    const read = readJsonObject(file);
    // A file that broke after the caller's scan: stop rather than leave its values behind.
    if (!('object' in read)) throw new CapsuleError('INVALID_CONFIG', `config file ${file}: ${read.reason}; fix it, then run the command again`);
    const { object } = read;
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
    options.onProgress?.(++done, total);
  }
  return rewritten;
}
