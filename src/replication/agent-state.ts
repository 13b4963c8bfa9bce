import { randomBytes } from 'node:crypto';
import type { PropertyValue, Repository, RepositoryNode, RepositoryWriter } from '../repository/index.js';
import { storedPackageSchema, type ReplicationPackage } from './package.js';
import { decodeCursor, type SnapshotCursor } from './snapshot.js';

export const AGENTS_ROOT = '/var/replication/agents';
/** Bumped by `replication retry|resync|remove` so that a running author acts at once. */
export const CONTROL_COUNTER = 'replication-control';

/** A package written down before it is sent: after a crash the same package is sent again. */
export interface InFlight {
  readonly pkg: ReplicationPackage;
  /** The outbox position this package brings the agent to (queue packages). */
  readonly cursorAfter?: number;
  /** Set on the last part of a snapshot: the outbox position the snapshot stands for. */
  readonly snapshotAt?: number;
  readonly snapshotFinal?: boolean;
  /** On the other parts of a snapshot: where the next part starts (snapshot.ts `encodeCursor`). */
  readonly snapshotNext?: string;
}

/** Where an agent stands; kept in the repository beside the outbox it reads. */
export interface AgentState {
  readonly name: string;
  readonly source: string;
  readonly nextSequence: number;
  /** The last outbox item delivered (not meaningful while a snapshot is pending). */
  readonly cursor: number;
  readonly snapshotPending: boolean;
  /** The outbox position of the snapshot being sent (so pruning keeps what follows it). */
  readonly snapshotAt: number | null;
  /** Where the next part of that snapshot starts (null: at the beginning). */
  readonly snapshotCursor: SnapshotCursor | null;
  /** The items counted when that snapshot started, and those delivered since (progress). */
  readonly snapshotTotal: number | null;
  readonly snapshotSent: number;
  readonly resyncRequested: boolean;
  readonly retryRequested: boolean;
  /** Possibly in an older version's format: upgrade.ts brings it to the current one before it is sent. */
  readonly inflight: InFlight | null;
  /** Why the package written down could not be read (it is dropped and a full snapshot sent instead); null when it could. */
  readonly inflightProblem: string | null;
  readonly blockedSince: Date | null;
  readonly lastError: string | null;
  readonly lastDeliveredAt: Date | null;
  readonly lastDeliveredSequence: number;
  readonly deliveredItems: number;
}

export function agentStatePath(name: string): string {
  return `${AGENTS_ROOT}/${name}`;
}

/** Never throws: what an older version (or a damaged repository) left must not stop status, resync or pruning. */
function parseInflight(value: PropertyValue | undefined): { inflight: InFlight | null; inflightProblem: string | null } {
  if (typeof value !== 'string' || value === '') return { inflight: null, inflightProblem: null };
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return { inflight: null, inflightProblem: 'the package in flight is not JSON' };
  }
  const { pkg, cursorAfter, snapshotAt, snapshotFinal, snapshotNext } = (raw ?? {}) as Record<string, unknown>;
  const parsed = storedPackageSchema.safeParse(pkg);
  const optional = (field: unknown, type: 'number' | 'boolean' | 'string') => field === undefined || typeof field === type;
  if (!parsed.success || !optional(cursorAfter, 'number') || !optional(snapshotAt, 'number') || !optional(snapshotFinal, 'boolean') || !optional(snapshotNext, 'string')) {
    const issue = parsed.success ? null : parsed.error.issues[0]!;
    return { inflight: null, inflightProblem: `the package in flight cannot be read${issue ? ` (${issue.path.join('.')}: ${issue.message})` : ''}` };
  }
  const inflight: InFlight = {
    pkg: parsed.data,
    ...(cursorAfter !== undefined ? { cursorAfter: cursorAfter as number } : {}),
    ...(snapshotAt !== undefined ? { snapshotAt: snapshotAt as number } : {}),
    ...(snapshotFinal !== undefined ? { snapshotFinal: snapshotFinal as boolean } : {}),
    ...(snapshotNext !== undefined ? { snapshotNext: snapshotNext as string } : {}),
  };
  return { inflight, inflightProblem: null };
}

export function toAgentState(node: RepositoryNode): AgentState {
  const p = node.properties;
  const num = (key: string, fallback: number) => (typeof p[key] === 'number' ? (p[key] as number) : fallback);
  const date = (key: string) => (p[key] instanceof Date ? (p[key] as Date) : null);
  return {
    name: node.name,
    source: p.source as string,
    nextSequence: num('nextSequence', 1),
    cursor: num('cursor', 0),
    snapshotPending: p.snapshotPending === true,
    snapshotAt: typeof p.snapshotAt === 'number' ? p.snapshotAt : null,
    snapshotCursor: decodeCursor(p.snapshotCursor),
    snapshotTotal: typeof p.snapshotTotal === 'number' ? p.snapshotTotal : null,
    snapshotSent: num('snapshotSent', 0),
    resyncRequested: p.resyncRequested === true,
    retryRequested: p.retryRequested === true,
    ...parseInflight(p.inflight),
    blockedSince: date('blockedSince'),
    lastError: typeof p.lastError === 'string' ? p.lastError : null,
    lastDeliveredAt: date('lastDeliveredAt'),
    lastDeliveredSequence: num('lastDeliveredSequence', 0),
    deliveredItems: num('deliveredItems', 0),
  };
}

export async function readAgentState(repo: Repository | RepositoryWriter, name: string): Promise<AgentState | null> {
  const node = await repo.getNode(agentStatePath(name));
  return node ? toAgentState(node) : null;
}

/** The state of a new agent: its own source, package 1 next, a full snapshot before the queue. */
export async function ensureAgentState(repo: Repository, name: string): Promise<AgentState> {
  // A new random part per agent: an agent removed and added again starts a new stream. Made
  // outside `work`, so a retried transaction writes the same value.
  const sourceSuffix = randomBytes(6).toString('hex');
  return repo.transaction(async (tx) => {
    const existing = await tx.getNode(agentStatePath(name));
    if (existing) return toAgentState(existing);
    const node = await tx.addNode(agentStatePath(name), {
      type: 'capsule:ReplicationAgent',
      properties: { source: `${name}.${sourceSuffix}`, nextSequence: 1, cursor: 0, snapshotPending: true, deliveredItems: 0 },
    });
    return toAgentState(node);
  });
}
/** Changes some properties of an agent's state in one transaction (null removes one). */
export async function updateAgentState(
  repo: Repository,
  name: string,
  change: (state: AgentState) => Record<string, PropertyValue | null>,
): Promise<AgentState | null> {
  return repo.transaction(async (tx) => {
    const node = await tx.getNode(agentStatePath(name));
    if (!node) return null;
    return toAgentState(await tx.setProperties(node.path, change(toAgentState(node))));
  });
}

export function inflightValue(inflight: InFlight): string {
  return JSON.stringify(inflight);
}
