/**
 * Keeps the process up while `promise` is pending: services' timers (polling, back-off) are
 * unref'd, as an instance's server keeps the loop alive, and a test that only waits for them has none.
 */
export async function awaitAlive<T>(promise: Promise<T>): Promise<T> {
  const alive = setInterval(() => undefined, 60_000);
  try {
    return await promise;
  } finally {
    clearInterval(alive);
  }
}
