import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { systemClock } from '../../../src/clock.js';
import { isCapsuleError } from '../../../src/errors.js';
import { openSqliteRepository } from '../../../src/repository/index.js';
import { SqliteDatabase } from '../../../src/repository/sqlite/driver.js';
import { tempDir } from '../../helpers/temp.js';

// A write lock held by another connection past the busy timeout is a busy repository
// (REPOSITORY_UNAVAILABLE, which the CLI and HTTP answer as such), not "unexpected error: database is locked".
it('a transaction that cannot get the write lock within the busy timeout fails as REPOSITORY_UNAVAILABLE, writing nothing', async () => {
  const file = join(tempDir(), 'repository.sqlite');
  await openSqliteRepository({ file, create: true, clock: systemClock }).close();
  const repo = openSqliteRepository({ file, busyTimeoutMs: 50, clock: systemClock });
  const other = new SqliteDatabase(file);
  try {
    other.exec('BEGIN IMMEDIATE'); // what another process's writer holds
    await assert.rejects(
      repo.transaction((tx) => tx.addNode('/content/x')),
      (error) => isCapsuleError(error, 'REPOSITORY_UNAVAILABLE') && /stayed locked by another process/.test(error.message),
    );
    other.exec('ROLLBACK');
    assert.equal(await repo.getNode('/content/x'), null);
  } finally {
    other.close();
    await repo.close();
  }
});
