/** Runs `op` for about `ms` and returns operations per second. */
export function measureSync(op: (i: number) => unknown, ms = 300): number {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let count = 0;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) op(count++);
    now = process.hrtime.bigint();
  }
  return count / (Number(now - start) / 1e9);
}

/** Like `measureSync` for async work, `inFlight` operations at a time. */
export async function measureAsync(op: (i: number) => Promise<unknown>, ms = 300, inFlight = 256): Promise<number> {
  let count = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    const jobs = [];
    for (let i = 0; i < inFlight; i++) jobs.push(op(count++));
    await Promise.all(jobs);
    now = process.hrtime.bigint();
  }
  return count / (Number(now - start) / 1e9);
}

/** The middle value (the mean of the two middle ones for an even count). */
/** The value at percentile `p` (0–100) of values sorted ascending; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export type Candidate = { readonly name: string; readonly run: () => number | Promise<number> };

/**
 * Measures the candidates in interleaved rounds and keeps each one's best round, so that a
 * burst of load from another process hurts every candidate alike instead of whichever ran then.
 */
export async function compare(candidates: readonly Candidate[], rounds = 7): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    for (const candidate of candidates) {
      const rate = await candidate.run();
      if (round > 0) best[candidate.name] = Math.max(best[candidate.name] ?? 0, rate); // round 0 warms up
    }
  }
  return best;
}

export function formatRate(perSecond: number): string {
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M/s` : `${(perSecond / 1e3).toFixed(1)} k/s`;
}
