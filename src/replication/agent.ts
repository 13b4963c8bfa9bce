import type { Clock } from '../clock.js';
import type { Log } from '../log.js';
import { failpoint } from '../support/failpoint.js';
import type { PropertyValue, Repository } from '../repository/index.js';
import { inflightValue, ensureAgentState, updateAgentState, type AgentState, type InFlight } from './agent-state.js';
import type { RevokedSession } from '../sessions/index.js';
import type { Outbox } from './outbox.js';
import { describeItem, PACKAGE_ITEMS, PACKAGE_TARGET_BYTES } from './package.js';
import { partKey, type PartPrefetch } from './part-prefetch.js';
import { createSnapshotReader, decodeCursor, encodeCursor, SNAPSHOT_START } from './snapshot.js';
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
  /** The sessions ended and not expired (the author's session store): a snapshot carries them too. */
  readonly revokedSessions?: () => Promise<readonly RevokedSession[]>;
  /** Items per package (the agent's `package.items`; default PACKAGE_ITEMS); about PACKAGE_TARGET_BYTES at most. */
  readonly packageItems?: number;
  /** Where the next part of a snapshot is read ahead while the current one is sent (kept per agent across rounds). */
  readonly prefetch?: PartPrefetch;
}

function itemsPerPackage(deps: AgentRoundDeps): number {
  return Math.max(1, Math.min(deps.packageItems ?? PACKAGE_ITEMS, PACKAGE_ITEMS));
}

/** The package to send next, written down before it is sent; null when there is nothing to send. */
async function nextInflight(name: string, state: AgentState, deps: AgentRoundDeps): Promise<InFlight | null> {
  const { outbox, repo } = deps;
  const base = { format: 1 as const, source: state.source, sequence: state.nextSequence };
  const packageItems = itemsPerPackage(deps);
  if (state.snapshotPending) {
    const snapshot = createSnapshotReader(repo, deps.revokedSessions);
    let at = state.snapshotAt;
    let from = state.snapshotCursor ?? SNAPSHOT_START;
    if (at === null) {
      // The position first, then the state: a change committed in between is in both, and applying it twice is harmless.
      const position = await outbox.head();
      const total = await snapshot.count();
      await updateAgentState(repo, name, () => ({ snapshotAt: position, snapshotCursor: encodeCursor(SNAPSHOT_START), snapshotTotal: total, snapshotSent: 0 }));
      deps.log.info({ agent: name, at: position, items: total }, 'replication snapshot started');
      at = position;
      from = SNAPSHOT_START;
    }
    const readAhead = deps.prefetch?.take(partKey(at, encodeCursor(from), packageItems));
    const part = (readAhead ? await readAhead : null) ?? (await snapshot.part(from, { items: packageItems, bytes: PACKAGE_TARGET_BYTES }));
    return { pkg: { ...base, items: part.items }, snapshotAt: at, ...(part.next ? { snapshotNext: encodeCursor(part.next) } : { snapshotFinal: true }) };
  }
  // The head first: a change committed after it is read either shows in the read or waits for
  // the next round; read the other way round, it would look like pruned items and force a snapshot.
  const head = await outbox.head();
  const entries = [];
  let bytes = 0;
  for (const entry of await outbox.read(state.cursor, packageItems)) {
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

/** Where a delivered part of a snapshot brings the agent: the next part, or (the last part) the queue after the snapshot's position. */
function snapshotProgress(state: AgentState, inflight: InFlight): Record<string, PropertyValue | null> {
  // A part of a snapshot that a resync (or a 409) replaced meanwhile moves nothing.
  if (inflight.snapshotAt === undefined || !state.snapshotPending || state.snapshotAt !== inflight.snapshotAt) return {};
  if (inflight.snapshotFinal) return { cursor: inflight.snapshotAt, snapshotPending: false, snapshotAt: null, snapshotCursor: null, snapshotTotal: null, snapshotSent: null };
  // A part an older version wrote down says not where the next starts: the snapshot starts again from the beginning.
  return { snapshotCursor: inflight.snapshotNext ?? null, snapshotSent: state.snapshotSent + inflight.pkg.items.length };
}

async function delivered(name: string, inflight: InFlight, answer: DeliveryAnswer & { ok: true }, deps: AgentRoundDeps): Promise<void> {
  const now = new Date(deps.clock.now());
  await updateAgentState(deps.repo, name, (state) => ({
    inflight: null,
    nextSequence: inflight.pkg.sequence + 1,
    ...(inflight.cursorAfter !== undefined ? { cursor: inflight.cursorAfter } : {}),
    ...snapshotProgress(state, inflight),
    lastDeliveredAt: now,
    lastDeliveredSequence: inflight.pkg.sequence,
    deliveredItems: state.deliveredItems + (answer.outcome === 'applied' ? inflight.pkg.items.length : 0),
    blockedSince: null,
    lastError: null,
    retryRequested: null,
  }));
  if (inflight.snapshotNext !== undefined) failpoint('replication:snapshot-part-recorded'); // a snapshot part sent and recorded, more to come
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
  const sending = deps.transport.send(inflight.pkg);
  readNextPartAhead(inflight, deps);
  const answer = await sending;
  if (answer.ok) {
    failpoint('replication:applied'); // the publish has it, the author has not recorded that
    await delivered(name, inflight, answer, deps);
    return 'delivered';
  }
  if (answer.status === 409 && answer.expected !== undefined && answer.expected < inflight.pkg.sequence) {
    // The publish lost what it had applied (a restored or replaced home): start its stream again from what it expects.
    deps.log.warn({ agent: name, sent: inflight.pkg.sequence, expected: answer.expected }, 'the publish expects an earlier package; sending a full snapshot');
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

/** While a part of a snapshot that has more after it is on its way, the next one is read (part-prefetch.ts). */
function readNextPartAhead(inflight: InFlight, deps: AgentRoundDeps): void {
  if (!deps.prefetch || inflight.snapshotAt === undefined || inflight.snapshotNext === undefined) return;
  const from = decodeCursor(inflight.snapshotNext);
  if (!from) return;
  const packageItems = itemsPerPackage(deps);
  const snapshot = createSnapshotReader(deps.repo, deps.revokedSessions);
  deps.prefetch.start(partKey(inflight.snapshotAt, encodeCursor(from), packageItems), () => snapshot.part(from, { items: packageItems, bytes: PACKAGE_TARGET_BYTES }));
}

/** The first item of a package, described (for status, health and logs). */
export function headOf(inflight: InFlight | null): string | null {
  const first = inflight?.pkg.items[0];
  if (!inflight) return null;
  const more = inflight.pkg.items.length > 1 ? ` (+${inflight.pkg.items.length - 1} more)` : '';
  return `package ${inflight.pkg.sequence}: ${first ? describeItem(first) : 'empty snapshot'}${more}`;
}
