import { isSessionId } from './session-id.js';
import type { RevokedSession, SessionRecord } from './types.js';

/** What a store keeps of a user agent: enough to recognise a device, never an unbounded header. */
export const MAX_USER_AGENT = 512;

export function boundedUserAgent(userAgent: string): string {
  return userAgent.length > MAX_USER_AGENT ? userAgent.slice(0, MAX_USER_AGENT) : userAgent;
}

/** Not ended, and its tokens have not all expired. */
export function isLive(record: SessionRecord, nowMs: number): boolean {
  return record.endedAtMs === null && record.expiresAtMs > nowMs;
}

/** Newest first; equal times by id, so that every member sorts them alike (the limit ends the same ones). */
export function newestFirst(a: SessionRecord, b: SessionRecord): number {
  return b.createdAtMs - a.createdAtMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** An ended session as a push or an end's log carries it: `<sid>:<expiresAtMs>`. */
export function encodeRevoked(sessions: readonly RevokedSession[]): string[] {
  return sessions.map((session) => `${session.id}:${session.expiresAtMs}`);
}

/** Reads `encodeRevoked`'s entries; anything malformed is dropped (a PostgreSQL channel is open to every user of the database). */
export function decodeRevoked(entries: readonly string[]): RevokedSession[] {
  const sessions: RevokedSession[] = [];
  for (const entry of entries) {
    const [id, expires] = entry.split(':');
    const expiresAtMs = Number(expires);
    if (isSessionId(id) && Number.isSafeInteger(expiresAtMs)) sessions.push({ id, expiresAtMs });
  }
  return sessions;
}

/** Who a store records as ending a live session it was told of by `remember` (an author's end, replicated). */
export const REMEMBERED_BY = 'replication';

/** What `remember` records: well-formed ids not yet expired, each once with its latest end. */
export function rememberable(sessions: readonly RevokedSession[], nowMs: number): RevokedSession[] {
  const latest = new Map<string, number>();
  for (const { id, expiresAtMs } of sessions) {
    if (!isSessionId(id) || !Number.isSafeInteger(expiresAtMs) || expiresAtMs <= nowMs) continue;
    latest.set(id, Math.max(latest.get(id) ?? expiresAtMs, expiresAtMs));
  }
  return [...latest].map(([id, expiresAtMs]) => ({ id, expiresAtMs }));
}
