import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { CapsuleError, isCapsuleError } from '../errors.js';
import type { Repository, RepositoryNode, RepositoryReader } from '../repository/index.js';
import { liveRecord, type FarmRecord, type FarmRecordUpdate, type FarmStore } from './types.js';

export const FARM_RECORDS_ROOT = '/var/farm-store';
export const FARM_RECORD_TYPE = 'capsule:FarmRecord';
const EXPIRY_BATCH = 500;

/** A key may hold any character (a user name, an assertion id): its node is named by its hash. */
function recordPath(space: string, key: string): string {
  const hash = createHash('sha256').update(space).update('\u0000').update(key).digest('hex');
  return `${FARM_RECORDS_ROOT}/${encodeURIComponent(space)}/${hash.slice(0, 2)}/${hash}`;
}

function recordOf(node: RepositoryNode | null): FarmRecord | null {
  if (node === null) return null;
  const { value, expiresAt } = node.properties;
  if (typeof value !== 'string' || typeof expiresAt !== 'number') return null;
  return { value: JSON.parse(value) as FarmRecord['value'], expiresAtMs: expiresAt };
}

function unavailable(error: unknown): unknown {
  if (isCapsuleError(error, 'REPOSITORY_UNAVAILABLE')) {
    return new CapsuleError('FARM_STORE_UNAVAILABLE', `the farm store (this instance's repository) cannot be reached: ${error.message}`, { cause: error });
  }
  return error;
}

/**
 * The farm store of an instance without `capsule.farm.store`: nodes of its own repository, so one
 * instance keeps its counts across restarts (and an author cluster on PostgreSQL shares them).
 * Each update is one repository transaction (serializable: concurrent updates of one record
 * follow each other).
 */
export function createRepositoryFarmStore(deps: { repo: Repository; clock: Clock }): FarmStore {
  const { repo, clock } = deps;
  const read = async (reader: RepositoryReader, space: string, key: string) => recordOf(await reader.getNode(recordPath(space, key)));
  return {
    backend: 'repository',
    location: `this instance's repository (${repo.backend})`,
    async get(space, key) {
      try {
        return liveRecord(await read(repo, space, key), clock.now());
      } catch (error) {
        throw unavailable(error);
      }
    },
    async update(space, key, change) {
      const path = recordPath(space, key);
      try {
        return await repo.transaction(async (tx): Promise<FarmRecordUpdate> => {
          const nowMs = clock.now();
          const node = await tx.getNode(path);
          const before = liveRecord(recordOf(node), nowMs);
          const after = change(before, nowMs);
          if (after === before && (node === null || before !== null)) return { before, after };
          if (after === null) {
            if (node) await tx.removeNode(path);
          } else {
            const properties = { space, key, value: JSON.stringify(after.value), expiresAt: after.expiresAtMs };
            if (node) await tx.setProperties(path, properties);
            else await tx.addNode(path, { type: FARM_RECORD_TYPE, properties });
          }
          return { before, after };
        });
      } catch (error) {
        throw unavailable(error);
      }
    },
    async delete(space, key) {
      const path = recordPath(space, key);
      try {
        return await repo.transaction(async (tx) => {
          const before = liveRecord(await read(tx, space, key), clock.now());
          await tx.removeNode(path);
          return before !== null;
        });
      } catch (error) {
        throw unavailable(error);
      }
    },
    async removeExpired() {
      let removed = 0;
      let afterId: string | undefined;
      try {
        for (;;) {
          const batch = await repo.findByType(FARM_RECORD_TYPE, EXPIRY_BATCH, afterId);
          if (batch.length === 0) return removed;
          afterId = batch[batch.length - 1]!.id;
          const nowMs = clock.now();
          const expired = batch.filter((node) => (recordOf(node)?.expiresAtMs ?? 0) <= nowMs);
          if (expired.length === 0) continue;
          removed += await repo.transaction(async (tx) => {
            let count = 0;
            for (const node of expired) {
              // Looked at again inside: a member may have written it since.
              const current = recordOf(await tx.getNode(node.path));
              if (current !== null && current.expiresAtMs > clock.now()) continue;
              if (await tx.removeNode(node.path)) count++;
            }
            return count;
          });
        }
      } catch (error) {
        throw unavailable(error);
      }
    },
    async ping() {
      try {
        await repo.readCounter('farm-store');
      } catch (error) {
        throw unavailable(error);
      }
    },
    // The repository belongs to the instance, which closes it.
    async close() {},
  };
}
