import type { Clock } from '../clock.js';
import type { Log } from '../log.js';
import { failpoint } from '../support/failpoint.js';
import type { PropertyValue, Repository } from '../repository/index.js';
import { inflightValue, ensureAgentState, updateAgentState, type AgentState, type InFlight } from './agent-state.js';
import type { RevokedSession } from '../sessions/index.js';
import type { Outbox } from './outbox.js';
import { describeItem, PACKAGE_ITEMS, PACKAGE_TARGET_BYTES, type ReplicationItem } from './package.js';
import { upgradeStoredPackage } from './upgrade.js';
import type { DeliveryAnswer, Transport } from './transport.js';

/** What one round did: sent a package, found nothing to send, or could not deliver (see the state's lastError). */
export type RoundResult = 'delivered' | 'idle' | 'blocked';

export interface AgentRoundDeps {
  readonly repo: Repository;
  readonly outbox: Outbox;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly log: Log;
  /** Parts of a snapshot not sent yet, kept between rounds (a restart builds the snapshot again). */
  readonly snapshotParts: Map<string, { at: number; parts: ReplicationItem[][] }>;
  /** The sessions ended and not expired (the author's session store): a snapshot carries them too. */
  readonly revokedSessions?: () => Promise<readonly RevokedSession[]>;
}

/** Splits items into packages of at most PACKAGE_ITEMS items and about PACKAGE_TARGET_BYTES. */
export function packItems(items: readonly ReplicationItem[]): ReplicationItem[][] {
  const parts: ReplicationItem[][] = [];
  let part: ReplicationItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = JSON.stringify(item).length;
    if (part.length > 0 && (part.length >= PACKAGE_ITEMS || bytes + size > PACKAGE_TARGET_BYTES)) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(item);
    bytes += size;
  }
  parts.push(part); // a snapshot of nothing is still one (empty) package: it opens the stream
  return parts;
}

/** The package to send next, written down before it is sent; null when there is nothing to send. */
async function nextInflight(name: string, state: AgentState, deps: AgentRoundDeps): Promise<InFlight | null> {
  const { outbox, repo } = deps;
  const base = { format: 1 as const, source: state.source, sequence: state.nextSequence };
  if (state.snapshotPending) {
    let snapshot = deps.snapshotParts.get(name);
    if (!snapshot || state.snapshotAt !== snapshot.at) {
      // The position first, then the state: a change committed in between is in both, and applying it twice is harmless.
      const at = await outbox.head();
      const ended = (await deps.revokedSessions?.()) ?? [];
      const items = [...(await outbox.snapshot()), ...ended.map(({ id, expiresAtMs }): ReplicationItem => ({ type: 'session-ended', id, expiresAtMs }))];
      snapshot = { at, parts: packItems(items) };
      deps.snapshotParts.set(name, snapshot);
      await updateAgentState(repo, name, () => ({ snapshotAt: at }));
      deps.log.info({ agent: name, at, packages: snapshot.parts.length }, 'replication snapshot built');
    }
    const items = snapshot.parts[0]!;
    return { pkg: { ...base, items }, snapshotAt: snapshot.at, snapshotFinal: snapshot.parts.length === 1 };
  }
  // The head first: a change committed after it is read either shows in the read or waits for
  // the next round; read the other way round, it would look like pruned items and force a snapshot.
  const head = await outbox.head();
  const entries = [];
  let bytes = 0;
  for (const entry of await outbox.read(state.cursor, PACKAGE_ITEMS)) {
    const size = JSON.stringify(entry.item).length;
    if (entries.length > 0 && bytes + size > PACKAGE_TARGET_BYTES) break;
    entries.push(entry);
    bytes += size;
  }
  if (entries.length === 0) {
    if (head > state.cursor) {
      // Items this agent still needed are gone (pruned while it was removed or restored) or cannot be read: send everything again.
      await updateAgentState(repo, name, () => ({ snapshotPending: true, snapshotAt: null }));
      deps.log.warn({ agent: name, cursor: state.cursor }, 'the outbox no longer has (or cannot read) the items this agent needs; sending a full snapshot');
    }
    return null;
  }
  return { pkg: { ...base, items: entries.map((entry) => entry.item) }, cursorAfter: entries[entries.length - 1]!.seq };
}

async function delivered(name: string, inflight: InFlight, answer: DeliveryAnswer & { ok: true }, deps: AgentRoundDeps): Promise<void> {
  const now = new Date(deps.clock.now());
  await updateAgentState(deps.repo, name, (state) => ({
    inflight: null,
    nextSequence: inflight.pkg.sequence + 1,
    ...(inflight.cursorAfter !== undefined ? { cursor: inflight.cursorAfter } : {}),
    ...(inflight.snapshotFinal ? { cursor: inflight.snapshotAt!, snapshotPending: false, snapshotAt: null } : {}),
    lastDeliveredAt: now,
    lastDeliveredSequence: inflight.pkg.sequence,
    deliveredItems: state.deliveredItems + (answer.outcome === 'applied' ? inflight.pkg.items.length : 0),
    blockedSince: null,
    lastError: null,
    retryRequested: null,
  }));
  if (inflight.snapshotAt !== undefined) {
    const snapshot = deps.snapshotParts.get(name);
    if (snapshot?.at === inflight.snapshotAt) snapshot.parts.shift();
    if (inflight.snapshotFinal) deps.snapshotParts.delete(name);
  }
}

/**
 * The state with its package in flight as the receiver must get it: one an older version wrote
 * down is brought to the current format (upgrade.ts) and written down again under the same
 * sequence number. One that cannot be read or upgraded is dropped and a full snapshot sent under
 * the next number: if the publish applied the dropped package, it takes the snapshot; if not,
 * it asks for the dropped number (409) and the agent sends the snapshot under that. Null when
 * another author changed the state meanwhile (this round does nothing).
 */
async function sendableState(name: string, state: AgentState, deps: AgentRoundDeps): Promise<AgentState | null> {
  const stored = state.inflight;
  let problem = state.inflightProblem;
  if (stored) {
    const upgraded = await upgradeStoredPackage(deps.repo, stored.pkg);
    if (upgraded.ok && upgraded.value === stored.pkg) return state;
    if (upgraded.ok) {
      const current = inflightValue({ ...stored, pkg: upgraded.value });
      const written = await updateAgentState(deps.repo, name, (now): Record<string, string> =>
        now.inflight && inflightValue(now.inflight) === inflightValue(stored) ? { inflight: current } : {},
      );
      deps.log.info({ agent: name, sequence: stored.pkg.sequence }, 'the package in flight was written by an older version; sending it in the current format');
      return written?.inflight && inflightValue(written.inflight) === current ? written : null;
    }
    problem = upgraded.problem;
  }
  if (problem === null) return state;
  deps.log.warn({ agent: name, sequence: state.nextSequence, problem }, 'the package in flight cannot be sent; sending a full snapshot instead');
  deps.snapshotParts.delete(name);
  const dropped = await updateAgentState(deps.repo, name, (now): Record<string, PropertyValue | null> =>
    now.nextSequence === state.nextSequence ? { inflight: null, nextSequence: state.nextSequence + 1, snapshotPending: true, snapshotAt: null } : {},
  );
  return dropped?.nextSequence === state.nextSequence + 1 ? dropped : null;
}

/**
 * One step of an agent: send the package in flight (after a crash: the same one again), else
 * the next part of a pending snapshot, else the next items of the outbox. At least once on the
 * wire; the receiver's per-source sequence makes it exactly once.
 */
export async function deliverRound(name: string, deps: AgentRoundDeps): Promise<RoundResult> {
  let state = await ensureAgentState(deps.repo, name);
  if (state.resyncRequested) {
    state = (await updateAgentState(deps.repo, name, () => ({ resyncRequested: null, snapshotPending: true, snapshotAt: null })))!;
    deps.snapshotParts.delete(name);
  }
  const sendable = await sendableState(name, state, deps);
  if (!sendable) return 'idle';
  state = sendable;
  let inflight = state.inflight;
  if (!inflight) {
    inflight = await nextInflight(name, state, deps);
    if (!inflight) return 'idle';
    const chosen = inflight;
    // Compare and set: only when nothing is in flight and the sequence is still the next one. Two
    // authors whose round locks overlapped (a dropped connection) must not send two packages
    // under one sequence number; the one that loses here sends nothing this round.
    const written = await updateAgentState(deps.repo, name, (current): Record<string, string> =>
      current.inflight === null && current.nextSequence === chosen.pkg.sequence ? { inflight: inflightValue(chosen) } : {},
    );
    if (!written?.inflight || inflightValue(written.inflight) !== inflightValue(chosen)) return 'idle';
    failpoint('replication:written-down');
  }
  const answer = await deps.transport.send(inflight.pkg);
  if (answer.ok) {
    failpoint('replication:applied'); // the publish has it, the author has not recorded that
    await delivered(name, inflight, answer, deps);
    return 'delivered';
  }
  if (answer.status === 409 && answer.expected !== undefined && answer.expected < inflight.pkg.sequence) {
    // The publish lost what it had applied (a restored or replaced home): start its stream again from what it expects.
    deps.log.warn({ agent: name, sent: inflight.pkg.sequence, expected: answer.expected }, 'the publish expects an earlier package; sending a full snapshot');
    deps.snapshotParts.delete(name);
    await updateAgentState(deps.repo, name, () => ({ inflight: null, nextSequence: answer.expected!, snapshotPending: true, snapshotAt: null }));
    return 'delivered';
  }
  const now = new Date(deps.clock.now());
  const before = await updateAgentState(deps.repo, name, (current) => ({
    blockedSince: current.blockedSince ?? now,
    lastError: answer.message,
    retryRequested: null,
  }));
  if (before && before.blockedSince?.getTime() === now.getTime()) {
    // A publish that has never answered and refuses connections is most likely still starting (a
    // farm starts its members together): not a blocked queue yet. Status and health still show it.
    if (before.lastDeliveredAt === null && answer.status === null && answer.message.includes('ECONNREFUSED')) {
      deps.log.info({ agent: name, head: headOf(inflight), answer: answer.message }, `waiting for ${name} to start: it refuses connections and has never answered; replication sends once it does`);
    } else {
      deps.log.warn({ agent: name, head: headOf(inflight), answer: answer.message }, 'replication queue blocked');
    }
  }
  return 'blocked';
}

/** The first item of a package, described (for status, health and logs). */
export function headOf(inflight: InFlight | null): string | null {
  const first = inflight?.pkg.items[0];
  if (!inflight) return null;
  const more = inflight.pkg.items.length > 1 ? ` (+${inflight.pkg.items.length - 1} more)` : '';
  return `package ${inflight.pkg.sequence}: ${first ? describeItem(first) : 'empty snapshot'}${more}`;
}
