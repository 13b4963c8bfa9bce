// `tsx bench/find-users-once.ts <home> <users>`: opens the home in this process and times
// `UserManager.findUsers` (each query's first call, then the median of a few more) and
// `countUsers`, printing one JSON line per query as it finishes; a child of the bench, so that a
// list that reads every user (the contract's stub) is killed at a deadline instead of the bench,
// and so that this process's peak memory is the lists' alone. The bench imports its types only.
import { openServices } from '../src/instance/index.js';
import { systemClock } from '../src/clock.js';
import type { UserQuery } from '../src/users/index.js';
import { median } from './measure.js';
import { rssOf } from './pinning.js';
import { BENCH_GROUP, BENCH_PROVIDER, benchUserId } from './user-home.js';

export interface FindUsersLine {
  readonly name: string;
  readonly firstMs: number;
  /** Median of the repeats (NaN when the first call was too slow to repeat). */
  readonly medianMs: number;
  readonly found: number;
  /** This process's resident memory after the query, and its peak so far, in MiB. */
  readonly rssMiB: number;
  readonly peakMiB: number;
}

function findUsersQueries(users: number): ReadonlyArray<{ name: string; query?: UserQuery }> {
  return [
    { name: 'first page (50)', query: { limit: 50 } },
    { name: `prefix 'user-00009' (50)`, query: { prefix: 'user-00009', limit: 50 } },
    { name: `after the middle (50)`, query: { after: benchUserId(Math.floor(users / 2)), limit: 50 } },
    { name: `group '${BENCH_GROUP}' (50)`, query: { group: BENCH_GROUP, limit: 50 } },
    { name: `provider '${BENCH_PROVIDER}' (50)`, query: { provider: BENCH_PROVIDER, limit: 50 } },
  ];
}

const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const started = process.hrtime.bigint();
  const value = await work();
  return [value, Number(process.hrtime.bigint() - started) / 1e6];
};

{
  const home = process.argv[2]!;
  const services = await openServices({ home, keys: 'load', clock: systemClock, onWarning: () => undefined });
  const print = (line: FindUsersLine) => console.log(JSON.stringify(line));
  const memory = () => ({ rssMiB: rssOf(process.pid).rssMiB, peakMiB: rssOf(process.pid).peakMiB });
  // The lists run before the count: a count walks an index, which on SQLite maps its pages into
  // this process, and the peak (VmHWM) never comes down, so the lists' own peak is read first.
  const users = Number(process.argv[3]);
  for (const { name, query } of findUsersQueries(users)) {
    const [page, firstMs] = await timed(() => services.users.findUsers(query));
    const repeats: number[] = [];
    for (let i = 0; i < 9 && firstMs < 2000; i++) repeats.push((await timed(() => services.users.findUsers(query)))[1]);
    print({ name, firstMs, medianMs: repeats.length ? median(repeats) : NaN, found: page.users.length, ...memory() });
  }
  const [count, countMs] = await timed(() => services.users.countUsers());
  print({ name: 'countUsers', firstMs: countMs, medianMs: NaN, found: count, ...memory() });
  await services.close();
}
