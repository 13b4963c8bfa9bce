import type { Clock } from '../clock.js';
import { CapsuleError } from '../errors.js';
import { createContentNodes } from './content-nodes.js';
import { accessRuleOf, ALLOWED_GROUPS, CONTENT_ROOT, contentAncestors, mayRead, sameAccessRule, type AccessRuleOutbox, type Reader } from './access-rules.js';
import type { PropertyValue, Repository, RepositoryNode, RepositoryWriter } from '../repository/index.js';
import { checkPath, joinPath } from '../repository/index.js';

export const CONTENT_TYPE = 'capsule:Content';
export const MAX_DEPTH = 10;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type ContentJson = { [key: string]: JsonValue };

function propertyJson(value: PropertyValue): JsonValue {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return { binaryLength: value.length };
  if (Array.isArray(value)) return [...(value as readonly string[])];
  return value as string | number | boolean;
}

export function checkContentPath(path: string): string {
  const checked = checkPath(path);
  if (checked !== CONTENT_ROOT && !checked.startsWith(`${CONTENT_ROOT}/`)) {
    throw new CapsuleError('INVALID_PATH', `content lives under ${CONTENT_ROOT}; '${path}' is outside it`);
  }
  return checked;
}

export interface ContentService {
  /** The node's properties and its children to `depth`; children the reader may not see are left out. */
  read(path: string, depth: number, reader: Reader | null): Promise<ContentJson>;
  /**
   * `read` as the JSON text of a response: at once (a string, no promise) when the same reading
   * for the same groups was answered since the content last changed, as a promise otherwise.
   */
  readSerialized(path: string, depth: number, reader: Reader | null): string | Promise<string>;
  /** Creates or merges `json` at `path`: objects become child nodes, null removes a property, everything else is a property. */
  put(path: string, json: ContentJson): Promise<number>;
}

/** The property to write; null to remove it; undefined for an object (a child node). */
function toProperty(path: string, key: string, value: JsonValue): PropertyValue | null | undefined {
  if (value === null) return null;
  if (key === ALLOWED_GROUPS && typeof value !== 'string' && !(Array.isArray(value) && value.every((item) => typeof item === 'string'))) {
    throw new CapsuleError(
      'INVALID_PROPERTY',
      `${path}/${ALLOWED_GROUPS} must be a group id or a list of group ids (e.g. ["editors"]), not ${JSON.stringify(value).slice(0, 40)}; nothing was written`,
    );
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new CapsuleError('INVALID_PROPERTY', `${path}/${key}: only whole numbers can be stored`);
    return value;
  }
  if (Array.isArray(value)) {
    if (!value.every((item) => typeof item === 'string')) throw new CapsuleError('INVALID_PROPERTY', `${path}/${key}: arrays must hold strings`);
    return value as string[];
  }
  return undefined; // an object: a child node
}

export interface ContentServiceOptions {
  readonly clock: Clock;
  /** How soon a change made by another process is seen (default 500 ms, as the instance's change polling). */
  readonly changeCheckMs?: number;
  /** Characters of kept responses at most (content-nodes.ts). */
  readonly maxResponseChars?: number;
  /** Told of every access rule a `put` changes, in its transaction (the replication outbox on an author). */
  readonly outbox?: AccessRuleOutbox;
}

export function createContentService(repo: Repository, options: ContentServiceOptions): ContentService {
  const nodes = createContentNodes(repo, CONTENT_ROOT, { clock: options.clock, recheckMs: options.changeCheckMs, maxResponseChars: options.maxResponseChars });

  async function render(node: RepositoryNode, depth: number, reader: Reader | null): Promise<ContentJson> {
    const json: ContentJson = { 'jcr:primaryType': node.type };
    for (const [key, value] of Object.entries(node.properties)) json[key] = propertyJson(value);
    if (depth > 0) {
      for (const child of await nodes.children(node.path)) {
        if (mayRead(child, reader)) json[child.name] = await render(child, depth - 1, reader);
      }
    }
    return json;
  }

  async function write(tx: RepositoryWriter, path: string, json: ContentJson): Promise<number> {
    const properties: Record<string, PropertyValue | null> = {};
    const children: Array<[string, ContentJson]> = [];
    for (const [key, value] of Object.entries(json)) {
      if (key === 'jcr:primaryType') continue;
      const property = toProperty(path, key, value);
      if (property === undefined) children.push([key, value as ContentJson]);
      else properties[key] = property;
    }
    const existing = await tx.getNode(path);
    const written = existing
      ? await tx.setProperties(path, properties)
      : await tx.addNode(path, { type: CONTENT_TYPE, properties: Object.fromEntries(Object.entries(properties).filter((entry): entry is [string, PropertyValue] => entry[1] !== null)) });
    if (options.outbox && !sameAccessRule(existing ? accessRuleOf(existing) : null, accessRuleOf(written))) await options.outbox.accessRuleChanged(tx, path);
    let count = 1;
    for (const [name, child] of children) count += await write(tx, checkContentPath(joinPath(path, name)), child);
    return count;
  }

  async function read(path: string, depth: number, reader: Reader | null): Promise<ContentJson> {
    const target = checkContentPath(path);
    const node = await nodes.node(target);
    if (!node) throw new CapsuleError('NODE_NOT_FOUND', `no content at ${target}`);
    // The node and every ancestor with allowedGroups must admit the reader.
    const ancestry: RepositoryNode[] = [node];
    for (const at of contentAncestors(target).reverse()) {
      const ancestor = await nodes.node(at);
      if (ancestor) ancestry.push(ancestor);
    }
    for (const each of ancestry) {
      if (!mayRead(each, reader)) {
        throw new CapsuleError(reader ? 'FORBIDDEN' : 'UNAUTHENTICATED', reader ? `${reader.userId} may not read ${target}` : `${target} needs a login`);
      }
    }
    return render(node, Math.min(depth, MAX_DEPTH), reader);
  }

  // Why a response cache on top of the node cache: on a page that many visitors read, checking
  // and rendering the same nodes again and serialising them was most of Capsule's own work per
  // GET. A response is kept per group set (what it shows depends on nothing else) until the
  // content tree changes, with the node cache's staleness; a refusal is never kept.
  const groupKeys = new WeakMap<readonly string[], string>(); // a user's groups are one array while the user is cached
  const groupKey = (groups: readonly string[]) => groupKeys.get(groups) ?? groupKeys.set(groups, groups.join('\u0000')).get(groups)!;
  const responseKey = (path: string, depth: number, reader: Reader | null) => `${reader ? groupKey(reader.groups) : '\u0001'}\u0002${depth}\u0002${path}`;

  return {
    read,
    readSerialized(path, depth, reader) {
      // Depths past MAX_DEPTH give the same page: one key for them, or each would be kept anew.
      const key = responseKey(path, Math.min(depth, MAX_DEPTH), reader);
      const kept = nodes.kept(key);
      if (kept !== undefined) return kept;
      return (async () => {
        await nodes.lookIfDue(); // so that a look at the counter during the reading does not make it look stale
        const since = nodes.generation();
        const text = JSON.stringify(await read(path, depth, reader));
        nodes.keep(key, text, since);
        return text;
      })();
    },
    async put(path, json) {
      const target = checkContentPath(path);
      return repo.transaction((tx) => write(tx, target, json));
    },
  };
}
