import type { Repository } from '../../src/repository/index.js';

/**
 * Resolves with the value of `condition` once it holds: checked now, then again after each
 * transaction of this process that commits a change to `repo` (its `onCommit` event), never on
 * a timer. Fails after `boundMs`, saying what it waited for.
 */
export function whenCommitted<T>(repo: Repository, what: string, condition: () => Promise<T | null | undefined | false>, boundMs = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let checking = false;
    let again = false;
    const settle = (finish: () => void) => {
      settled = true;
      stopListening();
      clearTimeout(bound);
      finish();
    };
    // One check at a time; a commit during a check asks for one more after it.
    const check = async () => {
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          const value = await condition();
          if (value) return settle(() => resolve(value));
        } while (again && !settled);
      } catch (error) {
        settle(() => reject(error));
      } finally {
        checking = false;
      }
    };
    const stopListening = repo.onCommit(() => void check());
    const bound = setTimeout(() => settle(() => reject(new Error(`gave up waiting for ${what}`))), boundMs);
    void check();
  });
}
