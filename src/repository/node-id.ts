import { randomFillSync } from 'node:crypto';

// Random bytes drawn in blocks: one system call per 256 ids, not per id (ids are made in bulk).
const pool = Buffer.alloc(256 * 10);
let poolAt = pool.length;

/**
 * A new node id: a version 7 UUID (RFC 9562 §5.7), 48 bits of Unix milliseconds then 74 random
 * bits, as text. Ids made close in time sort close together, so a transaction that adds many
 * nodes (a backfill package of 500 users, a copy) appends to the indexes keyed by id instead of
 * dirtying a random page of each for every node: with random (version 4) ids a package's commit
 * wrote about twice the pages to SQLite's WAL (BENCHMARKS.md §13). The time is the machine's,
 * not the instance's Clock: it orders ids, it means nothing. An id tells when its node was made
 * (to the millisecond), never anything that lets it be guessed: a stateful token's id is its
 * public half, and its secret is separate. Written here, not taken from a package: a dozen lines,
 * and Node.js has only version 4 built in.
 */
export function newNodeId(nowMs: number = Date.now()): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(Math.min(Math.max(0, Math.trunc(nowMs)), 2 ** 48 - 1), 0, 6);
  pool.copy(bytes, 6, poolAt, poolAt + 10);
  poolAt += 10;
  bytes[6] = (bytes[6]! & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
