import { createHash } from 'node:crypto';
import { CapsuleError } from '../errors.js';
import type { PropertyValue, Repository, RepositoryNode, RepositoryReader, RepositoryWriter } from '../repository/index.js';
import { accessRuleOf, checkContentPath, contentAncestors, type AccessRuleOutbox } from '../content/index.js';
import { findGroupNode, findUserNode, GROUP_TYPE, GROUPS_ROOT, readReplicatedUser, USER_TYPE, USERS_ROOT, type UserChangeOutbox } from '../users/index.js';
import type { RevokedSession } from '../sessions/index.js';
import { readStoredItem } from './upgrade.js';
import { LOCAL_GROUPS, LOCAL_USERS, MAX_PACKAGE_BYTES, itemSchema, type ContentItem, type ContentNodeState, type ReplicationItem } from './package.js';

export const OUTBOX_ROOT = '/var/replication/outbox';
export const OUTBOX_ITEM_TYPE = 'capsule:ReplicationItem';
/** The last sequence number given to an outbox item; bumped in the transaction that writes the item. */
export const OUTBOX_COUNTER = 'replication-outbox';


export interface OutboxEntry {
  readonly seq: number;
  readonly item: ReplicationItem;
}

/**
 * The queue of changes that must reach publishes. It lives in the repository, so an item commits
 * with the change it records (or not at all). Items carry the whole state of what changed as of
 * the change: applying them in order, once or twice, ends in the same state.
 */
export interface Outbox extends UserChangeOutbox, AccessRuleOutbox {
  /** Records activation (the node, with `deep` its subtree) or, with `deactivate`, removal of content; inside `tx`. */
  contentChanged(tx: RepositoryWriter, path: string, options: { deep: boolean; deactivate?: boolean }): Promise<void>;
  /** `capsule content activate|deactivate`: one transaction that records the item. */
  activate(path: string, deep: boolean): Promise<number>;
  deactivate(path: string): Promise<number>;
  /**
   * Records sessions ended on this author, in a transaction of its own: the end committed on the
   * session store before (which may be another database, the farm store's), so the two cannot
   * commit together. Delivery is at least once (a package may be sent again, a publish applies the
   * end before the package's transaction), which is fine: ending a session twice is harmless.
   */
  sessionsEnded(sessions: readonly RevokedSession[]): Promise<void>;
  /** The last sequence number written (0 for none). */
  head(reader?: RepositoryReader): Promise<number>;
  /**
   * Up to `limit` entries after `afterSeq`, in order, in the current format (upgrade.ts). Stops at
   * the first gap: a pruned or missing item, or one that cannot be read or brought to the format.
   */
  read(afterSeq: number, limit: number): Promise<OutboxEntry[]>;
  /** Removes items up to and including `throughSeq` (every agent has them). */
  prune(throughSeq: number): Promise<number>;
}

/** One item must fit in a package the receiver accepts, with room for the package around it. */
export const MAX_ITEM_BYTES = MAX_PACKAGE_BYTES - 64 * 1024;

export function outboxPath(seq: number): string {
  return `${OUTBOX_ROOT}/${String(seq).padStart(15, '0')}`;
}

function encode(value: PropertyValue): ContentNodeState['properties'][string] {
  if (typeof value === 'string') return { t: 'string', v: value };
  if (typeof value === 'boolean') return { t: 'boolean', v: value };
  if (typeof value === 'number') return { t: 'long', v: value };
  if (value instanceof Date) return { t: 'date', v: value.toISOString() };
  if (value instanceof Uint8Array) return { t: 'binary', v: Buffer.from(value).toString('base64') };
  return { t: 'string[]', v: [...value] };
}

function contentNode(node: RepositoryNode): ContentNodeState {
  const properties: Record<string, ContentNodeState['properties'][string]> = {};
  for (const [name, value] of Object.entries(node.properties)) properties[name] = encode(value);
  return { path: node.path, type: node.type, properties };
}

/** An activation item: the node (with `deep` its subtree) as it is now, with the access rules above it. */
export async function contentItem(reader: RepositoryReader, path: string, deep: boolean): Promise<ContentItem & { nodes: ContentNodeState[] }> {
  const node = await reader.getNode(path);
  if (!node) throw new CapsuleError('NODE_NOT_FOUND', `no content at ${path}; write it first ('capsule content put ${path} --json …')`);
  // Parents before children, whatever order a backend's collation gives.
  const nodes = deep ? (await reader.getSubtree(path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) : [node];
  // The node's effective access depends on every rule above it: they travel with it.
  const ancestors = [];
  for (const at of contentAncestors(path)) {
    const ancestor = await reader.getNode(at);
    ancestors.push({ path: at, allowedGroups: ancestor ? accessRuleOf(ancestor) : null });
  }
  return { type: 'content', path, deep, nodes: nodes.map(contentNode), ancestors };
}

export function createOutbox(repo: Repository): Outbox {
  async function append(tx: RepositoryWriter, item: ReplicationItem): Promise<number> {
    // What is queued must be what a receiver accepts: refuse it here, while the change can still be undone.
    const parsed = itemSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CapsuleError('INVALID_ARGUMENT', `cannot replicate ${'path' in item ? item.path : item.id}: ${issue.path.join('.')}: ${issue.message}`);
    }
    const checked = parsed.data;
    const text = JSON.stringify(checked);
    if (Buffer.byteLength(text) > MAX_ITEM_BYTES) {
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `cannot replicate ${'path' in item ? item.path : item.id}: it is ${Buffer.byteLength(text)} bytes, more than one package may carry (${MAX_ITEM_BYTES}); activate its children one by one`,
      );
    }
    const seq = await tx.bumpCounter(OUTBOX_COUNTER);
    await tx.addNode(outboxPath(seq), { type: OUTBOX_ITEM_TYPE, properties: { seq, item: text } });
    return seq;
  }

  const outbox: Outbox = {
    async userChanged(tx, userId) {
      if (LOCAL_USERS.includes(userId)) return;
      const node = await findUserNode(tx, userId);
      await append(tx, { type: 'user', id: userId, state: node ? await readReplicatedUser(tx, node, { localGroups: LOCAL_GROUPS }) : null });
    },

    async groupChanged(tx, groupId) {
      if (LOCAL_GROUPS.includes(groupId)) return;
      const node = await findGroupNode(tx, groupId);
      await append(tx, { type: 'group', id: groupId, exists: node !== null });
    },

    async accessRuleChanged(tx, path) {
      const target = checkContentPath(path);
      // A node that no activation sent is sent with its rule as it is then: its path and groups stay on the author until then.
      if (!(await mayBeOnPublishes(tx, target))) return;
      const node = await tx.getNode(target);
      await append(tx, { type: 'access', path: target, allowedGroups: node ? accessRuleOf(node) : null });
    },

    async contentChanged(tx, path, { deep, deactivate = false }) {
      const target = checkContentPath(path);
      const under = (candidate: string, root: string) => candidate === root || candidate.startsWith(`${root}/`);
      const markers = await tx.getChildren(ACTIVATIONS_ROOT);
      if (deactivate) {
        for (const node of markers) {
          const active = node.properties.path as string;
          const excluded = (node.properties.excluded as readonly string[] | undefined) ?? [];
          if (under(active, target)) await tx.removeNode(node.path);
          // A deep activation above it no longer covers it (a snapshot leaves it out).
          else if (node.properties.deep === true && under(target, active)) await tx.setProperties(node.path, { excluded: [...new Set([...excluded, target])].sort() });
        }
        await append(tx, { type: 'content', path: target, deep, nodes: null });
        return;
      }
      await append(tx, await contentItem(tx, target, deep));
      for (const node of markers) {
        const active = node.properties.path as string;
        const excluded = (node.properties.excluded as readonly string[] | undefined) ?? [];
        const still = excluded.filter((each) => !(each === target || (deep && under(each, target))));
        if (still.length !== excluded.length) await tx.setProperties(node.path, { excluded: still });
        if (active === target) {
          // Once activated with its subtree, a path stays deep until it is deactivated.
          await tx.setProperties(node.path, { deep: deep || node.properties.deep === true, ...(deep ? { excluded: [] } : {}) });
        }
      }
      if (!markers.some((node) => node.properties.path === target)) {
        await tx.addNode(`${ACTIVATIONS_ROOT}/${pathKey(target)}`, { type: 'capsule:Activation', properties: { path: target, deep, excluded: [] } });
      }
      if (!(await tx.getNode(`${SENT_ROOT}/${pathKey(target)}`))) await tx.addNode(`${SENT_ROOT}/${pathKey(target)}`, { type: 'capsule:SentPath', properties: { path: target } });
    },

    activate: (path, deep) => repo.transaction(async (tx) => {
      await outbox.contentChanged(tx, path, { deep });
      return outbox.head(tx);
    }),

    deactivate: (path) => repo.transaction(async (tx) => {
      await outbox.contentChanged(tx, path, { deep: true, deactivate: true });
      return outbox.head(tx);
    }),

    async sessionsEnded(sessions) {
      if (sessions.length === 0) return;
      await repo.transaction(async (tx) => {
        for (const { id, expiresAtMs } of sessions) await append(tx, { type: 'session-ended', id, expiresAtMs });
      });
    },

    head: (reader = repo) => reader.readCounter(OUTBOX_COUNTER),

    async read(afterSeq, limit) {
      const entries: OutboxEntry[] = [];
      for (let seq = afterSeq + 1; entries.length < limit; seq++) {
        const node = await repo.getNode(outboxPath(seq));
        if (!node) break;
        const item = await readStoredItem(repo, node.properties.item);
        // Like a pruned item: the agent sends a full snapshot, which stands for it.
        if (!item.ok) break;
        entries.push({ seq, item: item.value });
      }
      return entries;
    },

    async prune(throughSeq) {
      const items = await repo.getChildren(OUTBOX_ROOT);
      let removed = 0;
      for (const node of items) {
        if ((node.properties.seq as number) <= throughSeq) {
          await repo.removeNode(node.path);
          removed++;
        }
      }
      return removed;
    },
  };
  return outbox;
}

/** Which content is activated (one node per activated path), so a snapshot can send it again. */
export const ACTIVATIONS_ROOT = '/var/replication/activated';
/**
 * Every path ever activated, kept after it is deactivated: a deactivation removes the node from
 * publishes but leaves the nodes above it there, and their rules must still follow the author's.
 */
export const SENT_ROOT = '/var/replication/sent';

function pathKey(path: string): string {
  return createHash('sha256').update(path).digest('hex');
}

/**
 * Whether a node may be on a publish: only an activation puts content there, as the activated
 * node, a node above it (those stay after a deactivation), or a node of an activated subtree.
 * Any other node reaches publishes with the activation that first sends it, carrying its rule
 * as it is then, so a change of its rule before that need not (and, for content not yet
 * published, must not) be sent.
 */
async function mayBeOnPublishes(reader: RepositoryReader, path: string): Promise<boolean> {
  const atOrBelow = (candidate: unknown) => typeof candidate === 'string' && (candidate === path || candidate.startsWith(`${path}/`));
  if ((await reader.getChildren(SENT_ROOT)).some((node) => atOrBelow(node.properties.path))) return true;
  // Activations an older version recorded have no sent path.
  return (await reader.getChildren(ACTIVATIONS_ROOT)).some(
    (node) => atOrBelow(node.properties.path) || (node.properties.deep === true && path.startsWith(`${node.properties.path as string}/`)),
  );
}
