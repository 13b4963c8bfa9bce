import type { RepositoryReader } from '../repository/index.js';
import type { RevokedSession } from '../sessions/index.js';
import { findGroupNode, findUserNode, GROUP_TYPE, readReplicatedUser, USER_TYPE } from '../users/index.js';
import { ACTIVATIONS_ROOT, contentItem } from './outbox.js';
import { LOCAL_GROUPS, LOCAL_USERS, type ReplicationItem } from './package.js';

/**
 * A snapshot read from the repository one package at a time, in a fixed order: groups and users
 * by node id, activated content by path, then the ended sessions by id. The author holds one
 * package, never the snapshot; where it stands (a cursor) is kept in the agent's state, so a
 * restarted author goes on from the last package the publish has.
 *
 * The parts are read at different times, not at one moment: every change after the snapshot's
 * outbox position is sent after the snapshot anyway, and each outbox item carries the whole
 * state of what it changed, so the publish ends with the author's state (a node made meanwhile
 * behind the cursor comes with its outbox item; one removed before the cursor reached it, too).
 */
const PHASES = ['groups', 'users', 'content', 'sessions'] as const;
export type SnapshotPhase = (typeof PHASES)[number];

/** Where a snapshot stands: the phase, and the last id (content: path) sent in it ('' for none). */
export interface SnapshotCursor {
  readonly phase: SnapshotPhase;
  readonly after: string;
}

export const SNAPSHOT_START: SnapshotCursor = { phase: 'groups', after: '' };

/** What one package may hold. */
export interface PackageLimits {
  readonly items: number;
  readonly bytes: number;
}

export interface SnapshotPart {
  readonly items: ReplicationItem[];
  /** Where the next part starts; null when this part is the last. */
  readonly next: SnapshotCursor | null;
}

export interface SnapshotReader {
  /** How many items the snapshot will hold, counted now (progress; changes meanwhile move it a little). */
  count(): Promise<number>;
  /** The part that starts at `from`: at least one item unless nothing is left. */
  part(from: SnapshotCursor, limits: PackageLimits): Promise<SnapshotPart>;
}

export function encodeCursor(cursor: SnapshotCursor): string {
  return JSON.stringify(cursor);
}

/** Null for anything but a cursor this version wrote (the snapshot then starts again from the beginning). */
export function decodeCursor(text: unknown): SnapshotCursor | null {
  if (typeof text !== 'string') return null;
  try {
    const { phase, after } = JSON.parse(text) as Record<string, unknown>;
    return PHASES.includes(phase as SnapshotPhase) && typeof after === 'string' ? { phase: phase as SnapshotPhase, after } : null;
  } catch {
    return null;
  }
}

/** A read position and what it gives: an item, or nothing (an instance's own user or group, gone content). */
interface Entry {
  readonly after: string;
  readonly item: ReplicationItem | null;
}

export function createSnapshotReader(reader: RepositoryReader, revokedSessions?: () => Promise<readonly RevokedSession[]>): SnapshotReader {
  // Content goes in path order, an ancestor before what is below it: a deep activation empties
  // its subtree on the publish, so a descendant activated on its own must come after it. The
  // records are named by a hash of the path, so the whole list is read and sorted per package
  // (O(n²) over a snapshot with very many activations; an index of the records' paths would end it).
  async function activations(after: string, limit: number) {
    const nodes = (await reader.getChildren(ACTIVATIONS_ROOT)).map((node) => ({ node, path: node.properties.path as string }));
    return nodes.filter((each) => each.path > after).sort((a, b) => (a.path < b.path ? -1 : 1)).slice(0, limit);
  }

  async function sessionsAfter(after: string, limit: number) {
    const ended = [...((await revokedSessions?.()) ?? [])].filter((each) => each.id > after);
    return ended.sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, limit);
  }

  async function batch({ phase, after }: SnapshotCursor, limit: number): Promise<Entry[]> {
    switch (phase) {
      case 'groups':
        return (await reader.findByType(GROUP_TYPE, limit, after)).map((node) => {
          const id = node.properties.groupId as string;
          return { after: node.id, item: LOCAL_GROUPS.includes(id) ? null : { type: 'group', id, exists: true } };
        });
      case 'users': {
        const entries: Entry[] = [];
        for (const node of await reader.findByType(USER_TYPE, limit, after)) {
          const id = node.properties.userId as string;
          const item: ReplicationItem | null = LOCAL_USERS.includes(id) ? null : { type: 'user', id, state: await readReplicatedUser(reader, node, { localGroups: LOCAL_GROUPS }) };
          entries.push({ after: node.id, item });
        }
        return entries;
      }
      case 'content': {
        const entries: Entry[] = [];
        for (const { node, path } of await activations(after, limit)) {
          // Content removed without a deactivation (an activation log older than it): nothing to send.
          if (!(await reader.getNode(path))) {
            entries.push({ after: path, item: null });
            continue;
          }
          const item = await contentItem(reader, path, node.properties.deep === true);
          const excluded = (node.properties.excluded as readonly string[] | undefined) ?? [];
          if (excluded.length > 0) item.nodes = item.nodes.filter((each) => !excluded.some((gone) => each.path === gone || each.path.startsWith(`${gone}/`)));
          entries.push({ after: path, item });
        }
        return entries;
      }
      case 'sessions':
        return (await sessionsAfter(after, limit)).map(({ id, expiresAtMs }) => ({ after: id, item: { type: 'session-ended', id, expiresAtMs } }));
    }
  }

  return {
    async count() {
      const present = async (ids: readonly string[], find: (reader: RepositoryReader, id: string) => Promise<unknown>) => {
        let found = 0;
        for (const id of ids) if (await find(reader, id)) found++;
        return found;
      };
      const groups = (await reader.countByType(GROUP_TYPE)) - (await present(LOCAL_GROUPS, findGroupNode));
      const users = (await reader.countByType(USER_TYPE)) - (await present(LOCAL_USERS, findUserNode));
      const content = await reader.countChildren(ACTIVATIONS_ROOT);
      const sessions = ((await revokedSessions?.()) ?? []).length;
      return Math.max(0, groups) + Math.max(0, users) + content + sessions;
    },

    async part(from, limits) {
      const items: ReplicationItem[] = [];
      let bytes = 0;
      for (let phase = PHASES.indexOf(from.phase); phase < PHASES.length; phase++) {
        let cursor: SnapshotCursor = phase === PHASES.indexOf(from.phase) ? from : { phase: PHASES[phase]!, after: '' };
        for (;;) {
          if (items.length >= limits.items) return { items, next: cursor };
          const entries = await batch(cursor, limits.items - items.length);
          if (entries.length === 0) break;
          for (const { after, item } of entries) {
            if (item) {
              const size = Buffer.byteLength(JSON.stringify(item));
              // The first item always goes: outbox.ts keeps every item well below a package's limit.
              if (items.length > 0 && bytes + size > limits.bytes) return { items, next: cursor };
              items.push(item);
              bytes += size;
            }
            cursor = { phase: cursor.phase, after };
          }
        }
      }
      return { items, next: null };
    },
  };
}
