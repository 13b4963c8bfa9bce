/** Serialises async work: a transaction holds the one connection until it commits. */
export interface Mutex {
  readonly locked: boolean;
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Resolves when no one holds the lock (returns at once when free). */
  idle(): Promise<void>;
}

export function createMutex(): Mutex {
  let tail: Promise<void> = Promise.resolve();
  let holders = 0;
  return {
    get locked() {
      return holders > 0;
    },
    run<T>(work: () => Promise<T>): Promise<T> {
      holders++;
      const result = tail.then(work);
      tail = result.then(
        () => {
          holders--;
        },
        () => {
          holders--;
        },
      );
      return result;
    },
    idle() {
      return holders > 0 ? tail : Promise.resolve();
    },
  };
}
