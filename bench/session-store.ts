// The PostgreSQL session store as the bench opens it in this process (section 11c), and a
// session record to create in it.
import { systemClock } from '../src/clock.js';
import { createPostgresSessionStore, type SessionRecord, type SessionStore } from '../src/sessions/index.js';

/** Opened and its table made (what the store does on first use), before the bench writes rows into it. */
export async function openBenchSessionStore(url: string): Promise<SessionStore> {
  const store = createPostgresSessionStore({ url, clock: systemClock });
  await store.ping();
  return store;
}

/** A live session of `userId` created now, for 12 hours. */
export function sessionRecord(id: string, userId: string, nowMs: number): SessionRecord {
  return {
    id,
    userId,
    createdAtMs: nowMs,
    lastSeenAtMs: nowMs,
    expiresAtMs: nowMs + 12 * 3_600_000,
    method: 'password',
    provider: null,
    clientAddress: '127.0.0.1',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    instance: 'bench',
    generation: 0,
    endedAtMs: null,
    endReason: null,
    endedBy: null,
  };
}
