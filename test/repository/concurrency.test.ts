import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteRepository } from '../../src/repository/index.js';
import { tempDir } from '../helpers/temp.js';

const WRITER = `
import { openSqliteRepository } from './src/repository/index.ts';
const [file, prefix, count] = process.argv.slice(-3);
const repo = openSqliteRepository({ file });
for (let i = 0; i < Number(count); i++) {
  await repo.transaction(async (tx) => {
    await tx.addNode('/shared/' + prefix + '-' + i, { properties: { i } });
    await tx.bumpCounter('writes');
  });
}
await repo.close();
`;

function writer(file: string, prefix: string, count: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WRITER, file, prefix, String(count)], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

describe('repository shared by two processes', () => {
  it('loses no write when both write at once', async () => {
    const file = join(tempDir(), 'repository.sqlite');
    const repo = openSqliteRepository({ file, create: true });
    await repo.addNode('/shared');
    const count = 150;
    const codes = await Promise.all([writer(file, 'a', count), writer(file, 'b', count)]);
    assert.deepEqual(codes, [0, 0]);
    assert.equal((await repo.getChildren('/shared')).length, 2 * count);
    assert.equal(await repo.readCounter('writes'), 2 * count);
    await repo.close();
  });
});
