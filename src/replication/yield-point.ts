/**
 * Lets the event loop run every `every` calls: a long piece of work (applying a replication
 * package) awaits it after each unit, so that the process keeps answering (its liveness check,
 * other requests) meanwhile. better-sqlite3 is synchronous and an awaited resolved promise
 * yields to nothing, so without it a package of thousands of memberships held the process for
 * seconds. Counted in units, not timed, so a run does the same thing whatever the machine.
 */
export function createYieldPoint(every: number): () => Promise<void> {
  let units = 0;
  return async () => {
    units++;
    if (units % every === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  };
}
