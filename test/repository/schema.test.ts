import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isCapsuleError } from '../../src/errors.js';
import { openSqliteRepository } from '../../src/repository/index.js';
import { SCHEMA_VERSION } from '../../src/repository/sqlite/migrations.js';
import { tempDir } from '../helpers/temp.js';

describe('repository schema', () => {
  it('creates a WAL database with mode 0600 and reopens it with its data', async () => {
    const file = join(tempDir(), 'repository.sqlite');
    const repo = openSqliteRepository({ file, create: true });
    await repo.addNode('/kept', { properties: { v: 'yes' } });
    await repo.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const again = openSqliteRepository({ file });
    assert.equal((await again.getNode('/kept'))?.properties.v, 'yes');
    assert.equal((await again.info()).schemaVersion, SCHEMA_VERSION);
    await again.close();
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.close();
  });

  it('refuses a repository written by a newer Capsule and leaves it untouched', async () => {
    const file = join(tempDir(), 'repository.sqlite');
    const repo = openSqliteRepository({ file, create: true });
    await repo.close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const before = readFileSync(file);
    assert.throws(
      () => openSqliteRepository({ file }),
      (e) => isCapsuleError(e, 'REPOSITORY_SCHEMA_NEWER') && /newer than this Capsule supports/.test(e.message),
    );
    assert.ok(readFileSync(file).equals(before), 'the file was not rewritten');
  });

  it('refuses a damaged file and a database that is not a Capsule repository', () => {
    const dir = tempDir();
    const garbage = join(dir, 'garbage.sqlite');
    writeFileSync(garbage, Buffer.alloc(8192, 7));
    assert.throws(() => openSqliteRepository({ file: garbage }), (e) => isCapsuleError(e, 'REPOSITORY_DAMAGED'));
    assert.deepEqual(readFileSync(garbage), Buffer.alloc(8192, 7));

    const foreign = join(dir, 'foreign.sqlite');
    const raw = new Database(foreign);
    raw.exec('CREATE TABLE other (x)');
    raw.close();
    assert.throws(
      () => openSqliteRepository({ file: foreign }),
      (e) => isCapsuleError(e, 'REPOSITORY_DAMAGED') && /not a Capsule repository/.test(e.message),
    );
  });

  it('does not create a repository unless asked to', () => {
    const file = join(tempDir(), 'absent.sqlite');
    assert.throws(() => openSqliteRepository({ file }), (e) => isCapsuleError(e, 'HOME_UNREADABLE'));
  });
});
