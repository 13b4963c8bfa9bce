import type { Repository, RepositoryNode, RepositoryWriter } from '../../src/repository/index.js';

/**
 * The real repository, forwarded to in full, counting the nodes its reads hand back (a node
 * returned is a node read and decoded). Not a double: every answer is the real one's.
 */
export interface CountingRepository {
  readonly repo: Repository;
  /** Nodes returned by reads since the last `reset`. */
  nodesRead(): number;
  /** Calls of the method `name` since the last `reset`. */
  calls(name: string): number;
  reset(): void;
}

export function countingRepository(real: Repository): CountingRepository {
  let count = 0;
  const calls = new Map<string, number>();
  const counted = <T>(value: T): T => {
    if (Array.isArray(value)) count += value.filter(isNode).length;
    else if (isNode(value)) count += 1;
    return value;
  };
  const wrap = <R extends RepositoryWriter>(target: R): R =>
    new Proxy(target, {
      get(object, name, receiver) {
        const member = Reflect.get(object, name, receiver) as unknown;
        if (typeof member !== 'function') return member;
        if (name === 'transaction') {
          return (work: (tx: RepositoryWriter) => Promise<unknown>, options?: unknown) =>
            (member as Repository['transaction']).call(object, (tx) => work(wrap(tx)), options as undefined);
        }
        return (...args: unknown[]) => {
          calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
          const result = (member as (...a: unknown[]) => unknown).apply(object, args);
          return result instanceof Promise ? result.then(counted) : result;
        };
      },
    });
  return {
    repo: wrap(real),
    nodesRead: () => count,
    calls: (name) => calls.get(name) ?? 0,
    reset: () => {
      count = 0;
      calls.clear();
    },
  };
}

function isNode(value: unknown): value is RepositoryNode {
  return typeof value === 'object' && value !== null && 'path' in value && 'properties' in value && 'id' in value;
}
