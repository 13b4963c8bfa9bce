import type { Clock } from '../clock.js';
import { CapsuleError } from '../errors.js';
import { COUNTED_TREES, treeCounter, watchCounters, type Repository, type RepositoryNode } from '../repository/index.js';

/** The content service's reads of the content tree. */
export interface ContentNodes {
  node(path: string): Promise<RepositoryNode | null>;
  children(path: string): Promise<readonly RepositoryNode[]>;
  /** Moves whenever the tree may have changed: what was made from reads before is then stale. */
  generation(): number;
  /** Looks at the tree's counter if the last look is `recheckMs` old (see counter-watch.ts); undefined when no look is due. */
  lookIfDue(): Promise<void> | undefined;
  /**
   * A response made from these nodes (`keep`), while they are current. Undefined when not kept,
   * or when the tree's counter is due a look (which this starts): the caller then reads again.
   */
  kept(key: string): string | undefined;
  /** Keeps a response made from reads that began at `since` (`generation()`), unless the tree moved meanwhile. */
  keep(key: string, response: string, since: number): void;
}

export interface ContentNodesOptions {
  readonly clock: Clock;
  /** How old the last look at the tree's counter may be before a read looks again (default 500 ms, the change-watch interval). */
  readonly recheckMs?: number;
  /** Nodes, child lists and responses kept at most; past it the cache starts empty again. */
  readonly maxEntries?: number;
  /** Characters of kept responses at most (default 32 Mi); past it the responses alone start empty again. */
  readonly maxResponseChars?: number;
}

/**
 * The nodes of a counted tree (`COUNTED_TREES`) as last read, kept until the tree changes. Why:
 * every content GET checks the node and each ancestor for `allowedGroups`, one repository read
 * per level without a cache, which was the largest share of the server's time on an anonymous
 * GET. Every access decision is still made per request, from these nodes.
 *
 * Never staler than the counter watch allows (repository/counter-watch.ts): a change committed
 * by this process empties it at once; another process's change is seen within `recheckMs`.
 */
export function createContentNodes(repo: Repository, root: string, options: ContentNodesOptions): ContentNodes {
  if (!COUNTED_TREES.includes(root)) throw new CapsuleError('INTERNAL', `${root} is not a counted tree (COUNTED_TREES): nothing would tell its cache of a change`);
  const { clock } = options;
  const recheckMs = options.recheckMs ?? 500;
  const maxEntries = options.maxEntries ?? 10_000;
  const nodes = new Map<string, RepositoryNode | null>();
  const childLists = new Map<string, readonly RepositoryNode[]>();
  const maxResponseChars = options.maxResponseChars ?? 32 * 2 ** 20;
  const responses = new Map<string, string>();
  let responseChars = 0;
  const size = () => nodes.size + childLists.size + responses.size;
  const watch = watchCounters(repo, {
    handlers: {
      [treeCounter(root)]: () => {
        nodes.clear();
        childLists.clear();
        responses.clear();
        responseChars = 0;
      },
    },
    clock,
    recheckMs,
    ownCommits: true,
  });

  async function cached<T>(map: Map<string, T>, path: string, read: (path: string) => Promise<T>): Promise<T> {
    const looking = watch.lookIfDue();
    if (looking) await looking; // no await when the last look is recent: this runs per ancestor on every GET
    const hit = map.get(path);
    if (hit !== undefined) return hit;
    const at = watch.generation();
    const value = await read(path);
    if (at === watch.generation()) {
      if (size() >= maxEntries) watch.changed();
      else map.set(path, value);
    }
    return value;
  }

  return {
    node: (path) => cached(nodes, path, (at) => repo.getNode(at)),
    children: (path) => cached(childLists, path, (at) => repo.getChildren(at)),
    generation: () => watch.generation(),
    lookIfDue: () => watch.lookIfDue(),
    kept: (key) => (watch.lookIfDue() ? undefined : responses.get(key)),
    keep(key, response, since) {
      if (since !== watch.generation() || response.length > maxResponseChars || responses.has(key)) return;
      if (size() >= maxEntries) return watch.changed();
      // Bounded in size as well as in number: a few large pages must not fill the memory.
      if (responseChars + response.length > maxResponseChars) {
        responses.clear();
        responseChars = 0;
      }
      responses.set(key, response);
      responseChars += response.length;
    },
  };
}
