import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { farmPaths, restartFarmMember, runFarm } from '../../src/farm/index.js';
import { livePid } from '../../src/farm/pid-files.js';
import { initLocalFarm } from '../helpers/local-farm.js';
import { waitUntil } from '../helpers/remote-farm.js';

// A member that stops again each time it is started is reported and left down, not spun; 'farm
// restart' starts it again once its cause is fixed. The supervisor runs here (short back-offs),
// its members and HAProxy as real processes.

describe('a member that keeps stopping', { timeout: 180_000 }, () => {
  it('is started again with a growing back-off, then left down and reported; farm restart starts it once fixed', async () => {
    const farm = await initLocalFarm(1);
    const paths = farmPaths(farm.dir);
    await assert.rejects(
      restartFarmMember(farm.dir, 'publish-1', { waitMs: 1000, clock: systemClock }),
      new RegExp(`^CapsuleError: the farm in ${paths.root} is not running; start it with 'capsule farm up --dir ${paths.root}' \\(it starts every member\\)$`),
    );
    const lines: string[] = [];
    const controller = new AbortController();
    const running = runFarm(farm.dir, {
      signal: controller.signal,
      onLine: (line) => lines.push(line),
      env: process.env,
      clock: systemClock,
      restart: { firstDelayMs: 50, maxDelayMs: 100, healthyAfterMs: 60_000, maxCrashes: 2 },
    });
    const failed = running.catch((error: Error) => error);
    try {
      await waitUntil('the farm to be up', async () => lines.some((line) => line.startsWith('farm up: ')), 60_000);
      // A key file of the wrong length: publish-1 refuses to start from now on.
      const hmac = join(farm.dir, 'publish-1', 'keys', 'hmac');
      const key = readFileSync(hmac);
      writeFileSync(hmac, 'not a key\n');
      process.kill(livePid(paths, 'publish-1')!, 'SIGKILL');
      await waitUntil('publish-1 to be left down', async () => lines.some((line) => line.includes('left down')), 60_000);
      const farmLines = lines.filter((line) => line.startsWith('farm: '));
      assert.deepEqual(farmLines, [
        'farm: restarting publish-1 in 0.05 s (1 of at most 2 restarts in a row)',
        'farm: restarting publish-1 in 0.1 s (2 of at most 2 restarts in a row)',
        `farm: publish-1 stopped 3 times in a row, each within 60 s of its start; left down (its output above says why); 'capsule farm restart publish-1 --dir ${paths.root}' starts it again`,
      ]);
      assert.equal(livePid(paths, 'publish-1'), null, 'not running');

      writeFileSync(hmac, key);
      const restarted = await restartFarmMember(farm.dir, 'publish-1', { waitMs: 60_000, clock: systemClock });
      assert.equal(restarted.previousPid, null);
      assert.match(restarted.message, /^restarted publish-1 \(pid \d+; it was down\); ready on http:\/\/127\.0\.0\.3:\d+$/);
      assert.ok(lines.includes("farm: starting publish-1 for 'farm restart'"));
    } finally {
      controller.abort();
      assert.equal(await failed, undefined, 'the farm stopped cleanly');
    }
    assert.equal(lines.at(-1), 'farm: every process has stopped');
  });
});
