import { SqliteDatabase } from './driver.js';

/** Pages copied per step: small enough to report progress, large enough not to crawl. */
const PAGES_PER_STEP = 1024;
/** "Everything that is left", in one step (sqlite3_backup_step takes an int). */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies a live SQLite database to `destination` with SQLite's online backup API: a consistent
 * snapshot while the instance that holds the database keeps writing (WAL mode: readers and the
 * writer do not block each other). A write by another process restarts a step-wise backup, so
 * after the first restart the rest is copied in one step, inside one read transaction, which
 * always finishes.
 */
export async function backupSqliteDatabase(
  source: string,
  destination: string,
  onProgress?: (copiedPages: number, totalPages: number) => void,
): Promise<{ totalPages: number }> {
  // Read-write (it only reads): a read-only connection would leave -wal and -shm files behind in
  // a stopped home, where the last read-write connection removes them on close.
  const db = new SqliteDatabase(source, { fileMustExist: true, timeout: 10_000 });
  try {
    let lastRemaining = Number.POSITIVE_INFINITY;
    let restarted = false;
    const result = await db.backup(destination, {
      progress: ({ totalPages, remainingPages }) => {
        if (remainingPages > lastRemaining) restarted = true;
        lastRemaining = remainingPages;
        onProgress?.(totalPages - remainingPages, totalPages);
        return restarted ? ALL_PAGES : PAGES_PER_STEP;
      },
    });
    onProgress?.(result.totalPages, result.totalPages);
    return { totalPages: result.totalPages };
  } finally {
    db.close();
  }
}
