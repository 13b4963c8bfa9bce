import type { Clock } from '../clock.js';
import { liveRecord, type FarmRecord, type FarmStore } from './types.js';

/**
 * Records held at most by a memory store. A login failure record is a key of at most 128
 * characters and a small object: some 300 bytes each, so a full store holds about 15 MB.
 */
export const DEFAULT_MEMORY_RECORDS = 50_000;

/** Records a full memory store gives up last (a lockout): a flood of new keys must not end them. */
export type RetainedRecord = (space: string, record: FarmRecord, nowMs: number) => boolean;

/**
 * Records in this process only: what an instance counts on while its farm store is away
 * (`failure.policy=open`). Bounded: when full, expired records go first, then the record written
 * least recently (a Map keeps insertion order, and a write moves a record to the end) that `retain`
 * does not hold on to, and only when every record is retained the least recent of them; never the
 * whole table at once.
 */
export function createMemoryFarmStore(deps: { clock: Clock; maxRecords?: number; retain?: RetainedRecord }): FarmStore {
  const maxRecords = deps.maxRecords ?? DEFAULT_MEMORY_RECORDS;
  const records = new Map<string, FarmRecord>();
  const id = (space: string, key: string) => `${space}\u0000${key}`;
  const spaceOf = (at: string) => at.slice(0, at.indexOf('\u0000'));

  function leastRecentNotRetained(nowMs: number): string {
    if (deps.retain) {
      for (const [at, record] of records) if (!deps.retain(spaceOf(at), record, nowMs)) return at;
    }
    return records.keys().next().value!;
  }

  function makeRoom(nowMs: number): void {
    if (records.size < maxRecords) return;
    for (const [key, record] of records) if (record.expiresAtMs <= nowMs) records.delete(key);
    while (records.size >= maxRecords) records.delete(leastRecentNotRetained(nowMs));
  }

  return {
    backend: 'memory',
    location: 'this instance’s memory',
    async get(space, key) {
      return liveRecord(records.get(id(space, key)) ?? null, deps.clock.now());
    },
    async update(space, key, change) {
      const nowMs = deps.clock.now();
      const at = id(space, key);
      const before = liveRecord(records.get(at) ?? null, nowMs);
      const after = change(before, nowMs);
      if (after === before) return { before, after };
      records.delete(at);
      if (after !== null) {
        makeRoom(nowMs);
        records.set(at, after);
      }
      return { before, after };
    },
    async delete(space, key) {
      const at = id(space, key);
      const had = liveRecord(records.get(at) ?? null, deps.clock.now()) !== null;
      records.delete(at);
      return had;
    },
    async removeExpired() {
      const nowMs = deps.clock.now();
      let removed = 0;
      for (const [key, record] of records) {
        if (record.expiresAtMs <= nowMs) {
          records.delete(key);
          removed++;
        }
      }
      return removed;
    },
    async ping() {},
    async close() {
      records.clear();
    },
  };
}
