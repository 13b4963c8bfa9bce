import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { CapsuleError, isCapsuleError } from '../errors.js';
import { watchCounters, type Properties, type Repository, type RepositoryNode, type RepositoryReader, type RepositoryWriter } from '../repository/index.js';
import { isSessionId } from './session-id.js';
import { boundedUserAgent, decodeRevoked, encodeRevoked, isLive, newestFirst, REMEMBERED_BY, rememberable } from './session-record.js';
import type { RevocationListener, RevokedSession, SessionEndReason, SessionRecord, SessionStore } from './types.js';

export const SESSIONS_ROOT = '/var/sessions';
/** One node per session id, naming its user's folder: `get` by id without knowing the user. */
export const SESSION_IDS_ROOT = '/var/session-ids';
/** One marker per ended session: `listRevoked` reads these, not every session. */
export const ENDED_SESSIONS_ROOT = '/var/sessions-ended';
/**
 * One node per end, named by the value the end's transaction raised the `sessions` counter to: a
 * subscriber that saw the counter at N reads N+1… and learns only what is new.
 */
export const SESSION_ENDS_ROOT = '/var/session-ends';
export const SESSION_TYPE = 'capsule:Session';
const SESSION_END_TYPE = 'capsule:SessionEnd';
/** A subscriber this many ends behind re-reads every marker instead. */
const MAX_ENDS_READ = 1000;
const SESSION_ID_TYPE = 'capsule:SessionId';
const ENDED_SESSION_TYPE = 'capsule:EndedSession';
/** Bumped in the transaction of every end: what other processes on the repository watch. */
export const SESSIONS_COUNTER = 'sessions';
const EXPIRY_BATCH = 500;

/** A user id may hold any character: its folder is named by its hash. */
function userFolder(userId: string): string {
  return createHash('sha256').update(userId).digest('hex').slice(0, 40);
}

const sessionPath = (folder: string, id: string) => `${SESSIONS_ROOT}/${folder}/${id}`;

function recordOf(node: RepositoryNode): SessionRecord | null {
  const p = node.properties;
  const text = (name: string) => (typeof p[name] === 'string' ? (p[name] as string) : null);
  const number = (name: string) => (typeof p[name] === 'number' ? (p[name] as number) : null);
  const userId = text('user');
  const createdAtMs = number('createdAt');
  const expiresAtMs = number('expiresAt');
  if (userId === null || createdAtMs === null || expiresAtMs === null) return null;
  return {
    id: node.name,
    userId,
    createdAtMs,
    lastSeenAtMs: number('lastSeenAt') ?? createdAtMs,
    expiresAtMs,
    method: (text('method') ?? 'password') as SessionRecord['method'],
    provider: text('provider'),
    clientAddress: text('clientAddress') ?? '',
    userAgent: text('userAgent') ?? '',
    instance: text('instance') ?? '',
    generation: number('generation') ?? 0,
    endedAtMs: number('endedAt'),
    endReason: text('endReason') as SessionEndReason | null,
    endedBy: text('endedBy'),
  };
}

function propertiesOf(record: SessionRecord): Properties {
  const properties: Record<string, string | number> = {
    user: record.userId,
    createdAt: record.createdAtMs,
    lastSeenAt: record.lastSeenAtMs,
    expiresAt: record.expiresAtMs,
    method: record.method,
    clientAddress: record.clientAddress,
    userAgent: boundedUserAgent(record.userAgent),
    instance: record.instance,
    generation: record.generation,
  };
  if (record.provider !== null) properties.provider = record.provider;
  return properties;
}

function unavailable(error: unknown): unknown {
  if (isCapsuleError(error, 'REPOSITORY_UNAVAILABLE')) {
    return new CapsuleError('FARM_STORE_UNAVAILABLE', `the session store (this instance's repository) cannot be reached: ${error.message}`, { cause: error });
  }
  return error;
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw unavailable(error);
  }
}

export interface RepositorySessionStoreDeps {
  readonly repo: Repository;
  readonly clock: Clock;
  /** How often a subscription reads the counter (ends made by another process on SQLite); default 1000 ms. */
  readonly recheckMs?: number;
}

/**
 * Sessions in the instance's repository (no `capsule.farm.store`): `/var/sessions/<user folder>/<sid>`,
 * so a user's list is one getChildren. An end marks the record, adds `/var/sessions-ended/<sid>`
 * and bumps the `sessions` counter in one transaction; a subscription watches that counter
 * (this process's commits at once, PostgreSQL's announcements, else a poll every `recheckMs`).
 */
export function createRepositorySessionStore(deps: RepositorySessionStoreDeps): SessionStore {
  const { repo, clock } = deps;

  async function read(reader: RepositoryReader, id: string): Promise<SessionRecord | null> {
    if (!isSessionId(id)) return null;
    const ref = await reader.getNode(`${SESSION_IDS_ROOT}/${id}`);
    const folder = ref?.properties.folder;
    if (typeof folder !== 'string') return null;
    const node = await reader.getNode(sessionPath(folder, id));
    return node === null ? null : recordOf(node);
  }

  async function endIn(tx: RepositoryWriter, records: readonly SessionRecord[], reason: SessionEndReason, endedBy: string, nowMs: number, holdUntilMs = 0): Promise<RevokedSession[]> {
    const ended: RevokedSession[] = [];
    for (const record of records) {
      if (!isLive(record, nowMs)) continue;
      const expiresAtMs = Math.max(record.expiresAtMs, holdUntilMs);
      await tx.setProperties(sessionPath(userFolder(record.userId), record.id), { endedAt: nowMs, endReason: reason, endedBy, expiresAt: expiresAtMs });
      await tx.addNode(`${ENDED_SESSIONS_ROOT}/${record.id}`, { type: ENDED_SESSION_TYPE, properties: { expiresAt: expiresAtMs } });
      ended.push({ id: record.id, expiresAtMs });
    }
    await announce(tx, ended);
    return ended;
  }

  /** Bumps the counter and logs the ends under its new value: what subscribers read. */
  async function announce(tx: RepositoryWriter, ended: readonly RevokedSession[]): Promise<void> {
    if (ended.length === 0) return;
    const sequence = await tx.bumpCounter(SESSIONS_COUNTER);
    await tx.addNode(`${SESSION_ENDS_ROOT}/${sequence}`, {
      type: SESSION_END_TYPE,
      properties: { ended: encodeRevoked(ended), expiresAt: Math.max(...ended.map((session) => session.expiresAtMs)) },
    });
  }

  async function listRevoked(nowMs: number): Promise<RevokedSession[]> {
    const markers = await guarded(() => repo.getChildren(ENDED_SESSIONS_ROOT));
    const revoked: RevokedSession[] = [];
    for (const marker of markers) {
      const expiresAtMs = marker.properties.expiresAt;
      if (typeof expiresAtMs === 'number' && expiresAtMs > nowMs) revoked.push({ id: marker.name, expiresAtMs });
    }
    return revoked;
  }

  /** Every session record, in batches (the gauge and the cleanup: off any request's path). */
  async function* allSessions(): AsyncGenerator<{ node: RepositoryNode; record: SessionRecord | null }> {
    let afterId: string | undefined;
    for (;;) {
      const batch = await guarded(() => repo.findByType(SESSION_TYPE, EXPIRY_BATCH, afterId));
      if (batch.length === 0) return;
      afterId = batch[batch.length - 1]!.id;
      for (const node of batch) yield { node, record: recordOf(node) };
    }
  }

  return {
    backend: 'repository',
    location: `this instance's repository (${repo.backend})`,
    create(record, maxPerUser) {
      const folder = userFolder(record.userId);
      return guarded(() =>
        repo.transaction(async (tx) => {
          // Serializable: two sign-ins of one user at once follow each other, so the limit holds.
          await tx.addNode(sessionPath(folder, record.id), { type: SESSION_TYPE, properties: propertiesOf(record) });
          await tx.addNode(`${SESSION_IDS_ROOT}/${record.id}`, { type: SESSION_ID_TYPE, properties: { folder } });
          if (maxPerUser <= 0) return { ended: [] };
          const live = (await tx.getChildren(`${SESSIONS_ROOT}/${folder}`))
            .map(recordOf)
            .filter((session): session is SessionRecord => session !== null && session.id !== record.id && isLive(session, record.createdAtMs))
            .sort(newestFirst);
          // The new session is never the one ended, whatever another member's clock wrote.
          return { ended: await endIn(tx, live.slice(maxPerUser - 1), 'limit', 'system', record.createdAtMs) };
        }),
      );
    },
    async get(id) {
      const record = await guarded(() => read(repo, id));
      return record !== null && record.expiresAtMs > clock.now() ? record : null;
    },
    async listByUser(userId, nowMs) {
      const nodes = await guarded(() => repo.getChildren(`${SESSIONS_ROOT}/${userFolder(userId)}`));
      return nodes
        .map(recordOf)
        .filter((session): session is SessionRecord => session !== null && session.userId === userId && session.expiresAtMs > nowMs)
        .sort(newestFirst);
    },
    async touch(id, lastSeenAtMs) {
      await guarded(() =>
        repo.transaction(async (tx) => {
          const record = await read(tx, id);
          if (record !== null && record.lastSeenAtMs < lastSeenAtMs) await tx.setProperties(sessionPath(userFolder(record.userId), id), { lastSeenAt: lastSeenAtMs });
        }),
      );
    },
    async extend(id, expiresAtMs) {
      await guarded(() =>
        repo.transaction(async (tx) => {
          const record = await read(tx, id);
          if (record !== null && record.endedAtMs === null && record.expiresAtMs < expiresAtMs) await tx.setProperties(sessionPath(userFolder(record.userId), id), { expiresAt: expiresAtMs });
        }),
      );
    },
    end(ids, reason, endedBy, nowMs, holdUntilMs) {
      const valid = [...new Set(ids.filter(isSessionId))];
      if (valid.length === 0) return Promise.resolve([]);
      return guarded(() =>
        repo.transaction(async (tx) => {
          const records: SessionRecord[] = [];
          for (const id of valid) {
            const record = await read(tx, id);
            if (record !== null) records.push(record);
          }
          return endIn(tx, records, reason, endedBy, nowMs, holdUntilMs);
        }),
      );
    },
    remember(sessions, nowMs) {
      const told = rememberable(sessions, nowMs);
      if (told.length === 0) return Promise.resolve([]);
      return guarded(() =>
        repo.transaction(async (tx) => {
          const recorded: RevokedSession[] = [];
          for (const session of told) {
            const markerPath = `${ENDED_SESSIONS_ROOT}/${session.id}`;
            const marker = await tx.getNode(markerPath);
            const held = marker?.properties.expiresAt;
            if (typeof held === 'number' && held >= session.expiresAtMs) continue;
            const record = await read(tx, session.id);
            if (record !== null && isLive(record, nowMs)) {
              await tx.setProperties(sessionPath(userFolder(record.userId), record.id), { endedAt: nowMs, endReason: 'revoked', endedBy: REMEMBERED_BY });
            }
            // Most often no record: the session was made on the author, and only its id is held here.
            const expiresAtMs = Math.max(session.expiresAtMs, record?.expiresAtMs ?? 0);
            if (marker) await tx.setProperties(markerPath, { expiresAt: expiresAtMs });
            else await tx.addNode(markerPath, { type: ENDED_SESSION_TYPE, properties: { expiresAt: expiresAtMs } });
            recorded.push({ id: session.id, expiresAtMs });
          }
          await announce(tx, recorded);
          return recorded;
        }),
      );
    },
    listRevoked,
    subscribe(listener: RevocationListener) {
      let reported = false;
      // The counter's value up to which this subscriber was told; null: not read yet (a full re-read).
      let toldUpTo: number | null = null;
      async function catchUp(): Promise<void> {
        const now = await guarded(() => repo.readCounter(SESSIONS_COUNTER));
        if (toldUpTo !== null && now <= toldUpTo) return;
        const from = toldUpTo;
        let sessions: RevokedSession[] | null = from === null || now - from > MAX_ENDS_READ ? null : [];
        for (let sequence = (from ?? now) + 1; sessions !== null && sequence <= now; sequence++) {
          const node = await guarded(() => repo.getNode(`${SESSION_ENDS_ROOT}/${sequence}`));
          const ended = node?.properties.ended;
          // Removed as expired, or never written (a counter set by a copy): read the markers instead.
          if (!Array.isArray(ended)) sessions = null;
          else sessions.push(...decodeRevoked(ended as readonly string[]));
        }
        sessions ??= await listRevoked(clock.now());
        toldUpTo = Math.max(toldUpTo ?? now, now);
        if (sessions.length > 0) listener.revoked(sessions);
      }
      let catching: Promise<void> = Promise.resolve();
      const queueCatchUp = () => (catching = catching.then(catchUp, catchUp));
      const watch = watchCounters(repo, {
        handlers: { [SESSIONS_COUNTER]: queueCatchUp },
        clock,
        recheckMs: deps.recheckMs ?? 1000,
        ownCommits: true,
        polling: {
          onError: (error) => {
            reported = true;
            listener.lost(error instanceof Error ? (unavailable(error) as Error).message : String(error));
          },
          onRecovered: () => {
            if (reported) listener.resync();
            reported = false;
          },
        },
      });
      // The repository is this instance's own: the feed is up from the start (from where the counter stands).
      void guarded(() => repo.readCounter(SESSIONS_COUNTER)).then(
        (value) => {
          toldUpTo ??= value;
          listener.resync();
        },
        (error: unknown) => {
          reported = true;
          listener.lost(error instanceof Error ? error.message : String(error));
        },
      );
      return () => void watch.stop();
    },
    async countLive(nowMs) {
      let count = 0;
      for await (const { record } of allSessions()) if (record !== null && isLive(record, nowMs)) count++;
      return count;
    },
    async removeExpired(nowMs) {
      const expired: SessionRecord[] = [];
      for await (const { record } of allSessions()) if (record !== null && record.expiresAtMs <= nowMs) expired.push(record);
      let removed = 0;
      for (let i = 0; i < expired.length; i += EXPIRY_BATCH) {
        const batch = expired.slice(i, i + EXPIRY_BATCH);
        removed += await guarded(() =>
          repo.transaction(async (tx) => {
            let count = 0;
            for (const record of batch) {
              // Looked at again inside: a refresh may have pushed its end back since.
              const current = await read(tx, record.id);
              if (current === null || current.expiresAtMs > nowMs) continue;
              await tx.removeNode(`${ENDED_SESSIONS_ROOT}/${record.id}`);
              await tx.removeNode(`${SESSION_IDS_ROOT}/${record.id}`);
              if (await tx.removeNode(sessionPath(userFolder(record.userId), record.id))) count++;
            }
            return count;
          }),
        );
      }
      // Ends logged, and markers `remember` left without a record (the session was another store's).
      const ends = [...(await guarded(() => repo.getChildren(SESSION_ENDS_ROOT))), ...(await guarded(() => repo.getChildren(ENDED_SESSIONS_ROOT)))];
      const spent = ends.filter((node) => typeof node.properties.expiresAt !== 'number' || node.properties.expiresAt <= nowMs);
      if (spent.length > 0) {
        await guarded(() =>
          repo.transaction(async (tx) => {
            for (const node of spent) await tx.removeNode(node.path);
          }),
        );
      }
      return removed;
    },
    async ping() {
      await guarded(() => repo.readCounter(SESSIONS_COUNTER));
    },
    // The repository belongs to the instance, which closes it.
    async close() {},
  };
}
