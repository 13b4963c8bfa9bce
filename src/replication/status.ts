import type { Clock } from '../clock.js';
import type { ConfigAdmin } from '../config/index.js';
import type { Repository } from '../repository/index.js';
import { configuredAgents } from './agent-config.js';
import { readAgentState } from './agent-state.js';
import { headOf } from './agent.js';
import { outboxPath, OUTBOX_COUNTER } from './outbox.js';
import { describeItem, storedItemSchema } from './package.js';

/** Never throws: an item an older version (or a damaged repository) left must not stop `replication status`. */
function describeStored(text: unknown): string {
  let stored: unknown;
  try {
    stored = JSON.parse(String(text));
  } catch {
    stored = undefined;
  }
  const parsed = storedItemSchema.safeParse(stored);
  return parsed.success ? describeItem(parsed.data) : 'unreadable (a full snapshot will stand for it)';
}

export interface AgentStatus {
  readonly name: string;
  readonly url: string;
  readonly enabled: boolean;
  /** Outbox items not yet delivered (while a snapshot is pending: those after it). */
  readonly queued: number;
  readonly snapshotPending: boolean;
  /** While a snapshot is sent: its items delivered, of those counted when it started (null: none under way). */
  readonly snapshot: { readonly sent: number; readonly total: number } | null;
  /** The first thing waiting to be sent (the package in flight, else the next outbox item). */
  readonly head: string | null;
  readonly lastError: string | null;
  readonly blockedSince: string | null;
  readonly blockedSeconds: number | null;
  readonly lastDeliveredAt: string | null;
  readonly lastDeliveredSequence: number;
  /** The outbox sequence through which the publish has every change (0 until its first snapshot arrived). */
  readonly deliveredThrough: number;
  readonly deliveredItems: number;
  /** How long the oldest undelivered change has waited, in seconds (0 when none waits). */
  readonly lagSeconds: number;
}

/** Each configured agent's queue, read from the repository (works with or without a running author). */
export async function replicationStatus(deps: { repo: Repository; config: ConfigAdmin; clock: Clock }): Promise<AgentStatus[]> {
  const { repo, clock } = deps;
  const now = clock.now();
  const outboxHead = await repo.readCounter(OUTBOX_COUNTER);
  const statuses: AgentStatus[] = [];
  for (const agent of configuredAgents(deps.config)) {
    const state = await readAgentState(repo, agent.name);
    const position = !state ? outboxHead : state.snapshotPending ? (state.snapshotAt ?? outboxHead) : state.cursor;
    const next = await repo.getNode(outboxPath(position + 1));
    let head = state?.inflightProblem ? `package ${state.nextSequence}: ${state.inflightProblem}; a full snapshot replaces it` : headOf(state?.inflight ?? null);
    if (!head && next) head = `outbox item ${position + 1}: ${describeStored(next.properties.item)}`;
    if (!head && (!state || state.snapshotPending)) head = 'full snapshot';
    const waitingSince = state?.inflight || !state || state.snapshotPending ? (state?.blockedSince?.getTime() ?? next?.created.getTime()) : next?.created.getTime();
    statuses.push({
      name: agent.name,
      url: agent.url,
      enabled: agent.enabled,
      queued: Math.max(0, outboxHead - position),
      snapshotPending: !state || state.snapshotPending,
      snapshot: state?.snapshotPending && state.snapshotTotal !== null ? { sent: state.snapshotSent, total: Math.max(state.snapshotTotal, state.snapshotSent) } : null,
      head,
      lastError: state?.lastError ?? null,
      blockedSince: state?.blockedSince?.toISOString() ?? null,
      blockedSeconds: state?.blockedSince ? Math.max(0, Math.round((now - state.blockedSince.getTime()) / 1000)) : null,
      lastDeliveredAt: state?.lastDeliveredAt?.toISOString() ?? null,
      lastDeliveredSequence: state?.lastDeliveredSequence ?? 0,
      deliveredThrough: state?.cursor ?? 0,
      deliveredItems: state?.deliveredItems ?? 0,
      lagSeconds: waitingSince === undefined ? 0 : Math.max(0, Math.round((now - waitingSince) / 1000)),
    });
  }
  return statuses;
}
