import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { CapsuleError } from '../errors.js';
import { COUNTED_TREES, treeCounter, type Repository, type RepositoryNode } from '../repository/index.js';

/** The content service's reads of the content tree. */
export interface ContentNodes {
  node(path: string): Promise<RepositoryNode | null>;
  children(path: string): Promise<readonly RepositoryNode[]>;
}

export interface ContentNodesOptions {
  readonly clock?: Clock;
  /** How old the last look at the tree's counter may be before a read looks again (default 500 ms, the change-watch interval). */
  readonly recheckMs?: number;
  /** Nodes and child lists kept at most; past it the cache starts empty again. */
  readonly maxEntries?: number;
}

/**
 * The nodes of a counted tree (`COUNTED_TREES`) as last read, kept until the tree changes. Why:
 * every content GET checks the node and each ancestor for `allowedGroups`, one repository read
 * per level without a cache, which was the largest share of the server's time on an anonymous
 * GET. Every access decision is still made per request, from these nodes.
 *
 * Never staler than this:
 * - a change committed by this process empties the cache as it commits (`repo.onCommit`);
 * - the tree's counter is read again once the last look is `recheckMs` old, so a change by
 *   another process (a CLI command, another author on PostgreSQL) is seen within that interval;
 *   PostgreSQL announces it at once (`onCounterBumped`);
 * - a read that began before an emptying is not kept (it may hold what was there before).
 */
export function createContentNodes(repo: Repository, root: string, options: ContentNodesOptions = {}): ContentNodes {
  if (!COUNTED_TREES.includes(root)) throw new CapsuleError('INTERNAL', `${root} is not a counted tree (COUNTED_TREES): nothing would tell its cache of a change`);
  const clock = options.clock ?? systemClock;
  const recheckMs = options.recheckMs ?? 500;
  const maxEntries = options.maxEntries ?? 10_000;
  const counter = treeCounter(root);
  const nodes = new Map<string, RepositoryNode | null>();
  const childLists = new Map<string, readonly RepositoryNode[]>();
  let generation = 0;
  let seen: number | undefined;
  let checkedAt = -Infinity;
  let checking: Promise<void> | undefined;
  let listening = false;

  function empty(): void {
    generation++;
    nodes.clear();
    childLists.clear();
  }

  // Subscribed on first read: a CLI command that only writes opens no PostgreSQL LISTEN for it.
  function listen(): void {
    listening = true;
    repo.onCommit((bumped) => {
      if (bumped.has(counter)) empty();
    });
    repo.onCounterBumped((name) => {
      if (name === counter || name === '') empty(); // '': bumps may have been missed
    });
  }

  function recheck(): Promise<void> {
    checking ??= (async () => {
      const startedAt = clock.now(); // counted from before the read: never trusted longer than recheckMs
      try {
        const value = await repo.readCounter(counter);
        if (value !== seen) {
          seen = value;
          empty();
        }
        checkedAt = startedAt;
      } finally {
        checking = undefined;
      }
    })();
    return checking;
  }

  async function cached<T>(map: Map<string, T>, path: string, read: (path: string) => Promise<T>): Promise<T> {
    if (!listening) listen();
    if (clock.now() - checkedAt >= recheckMs) await recheck();
    const hit = map.get(path);
    if (hit !== undefined) return hit;
    const at = generation;
    const value = await read(path);
    if (at === generation) {
      if (nodes.size + childLists.size >= maxEntries) empty();
      else map.set(path, value);
    }
    return value;
  }

  return {
    node: (path) => cached(nodes, path, (at) => repo.getNode(at)),
    children: (path) => cached(childLists, path, (at) => repo.getChildren(at)),
  };
}
