// A snapshot applied in one process, SQLite to SQLite, without HTTP: the author's reader makes
// packages of 500, each goes through JSON and parsePackage as on the wire, and the publish's
// receiver applies it. Prints the time per user of each step and the time its COMMITs took (where
// SQLite's automatic checkpoints run), then applies it again with a reader holding the WAL (a
// checkpoint cannot restart it) to print every byte the commits wrote to it. Run on a commit
// before and after a change of the write path; used for the node-id change (BENCHMARKS.md §13):
//
//   npx tsx bench/snapshot-apply.ts [users, default 20000]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/clock.js';
import { createReceiver, parsePackage } from '../src/replication/index.js';
import { createSnapshotReader, SNAPSHOT_START, type SnapshotCursor } from '../src/replication/snapshot.js';
import { openSqliteRepository } from '../src/repository/index.js';
import { SqliteDatabase } from '../src/repository/sqlite/driver.js';
import { seedUsers } from '../test/helpers/seed-users.js';

const users = Number(process.argv[2] ?? 20_000);
// A stored argon2id hash's shape: the snapshot copies it, nothing checks it here.
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA';

/** The time spent in COMMIT, where SQLite runs its automatic checkpoints. */
let commitMs = 0;
const exec = SqliteDatabase.prototype.exec;
SqliteDatabase.prototype.exec = function timedExec(this: InstanceType<typeof SqliteDatabase>, sql: string) {
  const start = performance.now();
  try {
    return exec.call(this, sql);
  } finally {
    if (sql === 'COMMIT') commitMs += performance.now() - start;
  }
};

async function applyAll(dir: string, checkpoints: boolean): Promise<{ readMs: number; applyMs: number; walBytes: number; commitMs: number }> {
  const author = openSqliteRepository({ file: join(dir, 'author.sqlite'), clock: systemClock });
  const file = join(dir, `publish-${checkpoints}.sqlite`);
  const publish = openSqliteRepository({ file, create: true, clock: systemClock });
  // A read transaction open from before the first package: the WAL keeps every frame after it.
  const pin = checkpoints ? null : new SqliteDatabase(file);
  pin?.exec('BEGIN');
  pin?.prepare('SELECT count(*) FROM nodes').get();
  const reader = createSnapshotReader(author);
  const receiver = createReceiver({ repo: publish, clock: systemClock });
  commitMs = 0;
  let readMs = 0;
  let applyMs = 0;
  let walBytes = 0;
  for (let cursor: SnapshotCursor | null = SNAPSHOT_START, sequence = 1; cursor; sequence++) {
    let start = performance.now();
    const part = await reader.part(cursor, { items: 500, bytes: 1024 * 1024 });
    readMs += performance.now() - start;
    start = performance.now();
    await receiver.receive(parsePackage(JSON.parse(JSON.stringify({ format: 1, source: 'bench', sequence, items: part.items }))));
    applyMs += performance.now() - start;
    walBytes = Math.max(walBytes, statSync(`${file}-wal`).size);
    cursor = part.next;
  }
  const measured = { readMs, applyMs, walBytes, commitMs };
  pin?.close();
  await Promise.all([author.close(), publish.close()]);
  return measured;
}

const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-snapshot-apply-'));
try {
  const author = openSqliteRepository({ file: join(dir, 'author.sqlite'), create: true, clock: systemClock });
  await seedUsers(author, { count: users, groups: 20, passwordHash: HASH });
  await author.close();
  const withCheckpoints = await applyAll(dir, true);
  console.log(`${users.toLocaleString('en')} users in packages of 500, SQLite to SQLite in one process:`);
  console.log(`  read ${(withCheckpoints.readMs / users).toFixed(3)} ms/user, apply ${(withCheckpoints.applyMs / users).toFixed(3)} ms/user, of which COMMIT (with its checkpoints) ${(withCheckpoints.commitMs / 1000).toFixed(1)} s`);
  const held = await applyAll(dir, false);
  console.log(`  written to the WAL in all: ${(held.walBytes / 1e6).toFixed(1)} MB (${(held.walBytes / users / 1024).toFixed(1)} KiB per user)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
