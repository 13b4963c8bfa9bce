import { createHash } from 'node:crypto';
import { CapsuleError } from '../errors.js';
import { failpoint } from '../support/failpoint.js';
import type { PropertyValue, Repository, RepositoryWriter } from '../repository/index.js';
import { applyReplicatedGroup, applyReplicatedUser, USERS_COUNTER } from '../users/index.js';
import { accessRuleOf, ALLOWED_GROUPS, sameAccessRule, type AccessRule } from '../content/index.js';
import type { SessionStore } from '../sessions/index.js';
import { contentItemProblem, contentPathProblem, LOCAL_GROUPS, type ContentItem, type ContentNodeState, type ReplicationItem, type ReplicationPackage, type SessionEndedItem } from './package.js';
import { createYieldPoint } from './yield-point.js';

export const RECEIVED_ROOT = '/var/replication/received';

/**
 * Items and memberships applied between two turns of the event loop: about 5–30 ms of work on a
 * loaded two-core machine (a membership costs 0.1–0.5 ms), well inside a load balancer's check.
 */
const UNITS_PER_TURN = 32;

/** What became of a package: applied now, already applied before (nothing changed), or not the next one. */
export type ReceiveResult =
  | { readonly outcome: 'applied'; readonly sequence: number; readonly items: number }
  | { readonly outcome: 'duplicate'; readonly sequence: number; readonly lastApplied: number }
  | { readonly outcome: 'gap'; readonly sequence: number; readonly expected: number };

export interface Receiver {
  /** Applies the package in one transaction, in order per source, at most once. */
  receive(pkg: ReplicationPackage): Promise<ReceiveResult>;
  /** The last sequence applied per source. */
  sources(): Promise<Array<{ source: string; lastSequence: number; appliedAt: Date | null }>>;
}

function sourcePath(source: string): string {
  return `${RECEIVED_ROOT}/${createHash('sha256').update(source).digest('hex').slice(0, 32)}`;
}

function decode(stored: ContentNodeState['properties'][string]): PropertyValue {
  switch (stored.t) {
    case 'date':
      return new Date(stored.v);
    case 'binary':
      return Buffer.from(stored.v, 'base64');
    default:
      return stored.v;
  }
}

/** What a publish makes of an ancestor it lacks: a folder that holds the author's access rule and nothing else. */
const ANCESTOR_TYPE = 'capsule:Folder';

/** Gives the node at `path` the rule `allowedGroups`; a node the publish lacks is made only with `create`. */
async function applyAccessRule(tx: RepositoryWriter, path: string, allowedGroups: AccessRule, create: boolean): Promise<void> {
  // Checked again here, not only when parsed: a rule is for content, never for a user, group or key node.
  const problem = contentPathProblem(path);
  if (problem) throw new CapsuleError('REPLICATION_PACKAGE_INVALID', `malformed replication package: path: ${problem}`);
  const existing = await tx.getNode(path);
  if (!existing) {
    if (create) await tx.addNode(path, { type: ANCESTOR_TYPE, properties: allowedGroups ? { [ALLOWED_GROUPS]: [...allowedGroups] } : {} });
    return;
  }
  if (!sameAccessRule(accessRuleOf(existing), allowedGroups)) await tx.setProperties(path, { [ALLOWED_GROUPS]: allowedGroups ? [...allowedGroups] : null });
}

async function applyContent(tx: RepositoryWriter, item: ContentItem): Promise<void> {
  // Checked again here, not only when parsed: a library caller may hand over a package never parsed.
  const problem = contentItemProblem(item);
  if (problem) throw new CapsuleError('REPLICATION_PACKAGE_INVALID', `malformed replication package: ${problem}`);
  if (!item.nodes) {
    await tx.removeNode(item.path);
    return;
  }
  // Top down, so that no node is ever made without the rule the author gives it.
  for (const ancestor of item.ancestors ?? []) await applyAccessRule(tx, ancestor.path, ancestor.allowedGroups, true);
  if (item.deep) await tx.removeNode(item.path); // the subtree becomes exactly what was activated
  for (const node of item.nodes) {
    const properties: Record<string, PropertyValue> = {};
    for (const [name, value] of Object.entries(node.properties)) properties[name] = decode(value);
    const existing = await tx.getNode(node.path);
    if (!existing) {
      await tx.addNode(node.path, { type: node.type, properties });
      continue;
    }
    // A node made as a folder for an ancestor's rule (or retyped on the author) takes the author's type.
    if (existing.type !== node.type) await tx.putNode({ ...existing, type: node.type });
    const removed: Record<string, null> = {};
    for (const name of Object.keys(existing.properties)) if (!(name in properties)) removed[name] = null;
    await tx.setProperties(node.path, { ...removed, ...properties });
  }
}

async function applyItem(tx: RepositoryWriter, item: ReplicationItem, yieldPoint: () => Promise<void>): Promise<void> {
  switch (item.type) {
    case 'user':
      return applyReplicatedUser(tx, item.id, item.state, { localGroups: LOCAL_GROUPS, yieldPoint });
    case 'group':
      return applyReplicatedGroup(tx, item.id, item.exists);
    case 'content':
      return applyContent(tx, item);
    case 'access':
      // A node this publish lacks has nothing below it here: an activation brings the rule with it.
      return applyAccessRule(tx, item.path, item.allowedGroups, false);
    case 'session-ended':
      return; // recorded on the session store before the transaction (createReceiver)
  }
}

export interface ReceiverDeps {
  readonly repo: Repository;
  readonly clock: { now(): number };
  /** This instance's session store: where the author's session ends are recorded. Without one, they are passed over. */
  readonly sessions?: Pick<SessionStore, 'remember'>;
}

export function createReceiver({ repo, clock, sessions }: ReceiverDeps): Receiver {
  return {
    // The sequence check and every item are in one transaction: a package is applied whole or
    // not at all, and a retried `work` (PostgreSQL) starts again from the same check. The work
    // lets the event loop run every few items (yield-point.ts) with the transaction still open:
    // on SQLite the transaction holds the connection, so other reads and writes wait for the
    // commit and never see half a package; a crash midway leaves nothing of it, and the agent
    // sends it again.
    receive: async (pkg) => {
      // The session store may be another database (the farm store's), and on SQLite the package's
      // transaction holds the connection: the ends are recorded first, on their own. A package
      // that then fails, or comes again, records them again: ending a session twice is harmless,
      // and an end the author made is never lost to a crash between the two.
      const ended = pkg.items.filter((item): item is SessionEndedItem => item.type === 'session-ended');
      if (sessions && ended.length > 0) await sessions.remember(ended.map(({ id, expiresAtMs }) => ({ id, expiresAtMs })), clock.now());
      return repo.transaction(async (tx): Promise<ReceiveResult> => {
        const yieldPoint = createYieldPoint(UNITS_PER_TURN);
        const path = sourcePath(pkg.source);
        const state = await tx.getNode(path);
        const last = (state?.properties.lastSequence as number | undefined) ?? 0;
        if (pkg.sequence <= last) return { outcome: 'duplicate', sequence: pkg.sequence, lastApplied: last };
        if (pkg.sequence !== last + 1) return { outcome: 'gap', sequence: pkg.sequence, expected: last + 1 };
        for (const [index, item] of pkg.items.entries()) {
          if (index === pkg.items.length >> 1) failpoint('replication.receive.mid-package');
          await applyItem(tx, item, yieldPoint);
          await yieldPoint();
        }
        const properties = { source: pkg.source, lastSequence: pkg.sequence, appliedAt: new Date(clock.now()) };
        if (state) await tx.setProperties(path, properties);
        else await tx.addNode(path, { type: 'capsule:ReplicationSource', properties });
        if (pkg.items.some((item) => item.type === 'user' || item.type === 'group')) await tx.bumpCounter(USERS_COUNTER);
        return { outcome: 'applied', sequence: pkg.sequence, items: pkg.items.length };
      });
    },

    async sources() {
      return (await repo.getChildren(RECEIVED_ROOT)).map((node) => ({
        source: node.properties.source as string,
        lastSequence: node.properties.lastSequence as number,
        appliedAt: (node.properties.appliedAt as Date | undefined) ?? null,
      }));
    },
  };
}
