import type { RepositoryReader } from '../../src/repository/index.js';
import type { ReplicationItem } from '../../src/replication/index.js';
import { createSnapshotReader, SNAPSHOT_START, type PackageLimits } from '../../src/replication/snapshot.js';

/** An author's snapshot, part by part, as an agent reads it (no agent, no transport). */
export async function* snapshotPackages(reader: RepositoryReader, limits: PackageLimits): AsyncGenerator<ReplicationItem[]> {
  const snapshot = createSnapshotReader(reader);
  for (let from = SNAPSHOT_START; ; ) {
    const part = await snapshot.part(from, limits);
    yield part.items;
    if (!part.next) return;
    from = part.next;
  }
}
