import type { SnapshotPart } from './snapshot.js';

/**
 * The next part of a snapshot, read while the current one is on its way to the publish and being
 * applied there: the author's read and the publish's apply overlap instead of taking turns. One
 * part at most (a package, about 1 MB). A part read earlier than it would otherwise be is as good:
 * every part is read after the snapshot's outbox position, and what changes later comes after
 * the snapshot anyway (snapshot.ts). A part for another position (a resync, another author's
 * round meanwhile) is dropped, and a read that failed is read again.
 */
export interface PartPrefetch {
  /** Starts reading the part `key` names once the event loop has turned (the package's request goes out first); nothing if it holds that part already. */
  start(key: string, read: () => Promise<SnapshotPart>): void;
  /** The part read ahead for `key`, or null; whatever was held is dropped either way. */
  take(key: string): Promise<SnapshotPart | null> | null;
}

export function partKey(snapshotAt: number, cursor: string, packageItems: number): string {
  return `${snapshotAt}\n${cursor}\n${packageItems}`;
}

export function createPartPrefetch(): PartPrefetch {
  let held: { key: string; part: Promise<SnapshotPart | null> } | null = null;
  return {
    start(key, read) {
      // A part held for this very position is kept: a blocked queue sends the same package again
      // and again, and must not read the next part again at every retry.
      if (held?.key === key) return;
      const part = new Promise((resolve) => setImmediate(resolve)).then(read).catch(() => null);
      held = { key, part };
    },
    take(key) {
      const taken = held;
      held = null;
      return taken !== null && taken.key === key ? taken.part : null;
    },
  };
}
