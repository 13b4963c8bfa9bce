import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createValidatedTokens } from '../../src/auth/validated-tokens.js';
import { fixedClock } from '../../src/clock.js';
import type { Repository } from '../../src/repository/index.js';
import { repositoryBackends } from '../helpers/postgres.js';

// The kept-answer paths ask the counter watch whether a look is due and drop the look's promise.
// This test fails if a look that fails (the repository gone) becomes an unhandled rejection,
// which ends a Node process.
describe('a counter look nobody waits for', () => {
  it('fails quietly when the repository is gone, and an awaiting caller still sees the error', async () => {
    const [backend] = repositoryBackends();
    const opened = await backend!.open();
    let readFailed!: () => void;
    const failedRead = new Promise<void>((resolve) => (readFailed = resolve));
    const repo: Repository = {
      ...opened,
      readCounter: (name) => {
        const reading = opened.readCounter(name);
        reading.catch(() => readFailed());
        return reading;
      },
    };
    const tokens = createValidatedTokens({ repo, clock: fixedClock(0) });
    await repo.close();
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      assert.equal(tokens.kept('46503ad2-f60f-42f6-818e-99e61144d4da_secret', 0), undefined, 'a look is due: not answered');
      await failedRead;
      // Node reports a rejection nobody handled once the turn of the event loop that made it ends.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      await assert.rejects(tokens.lookup('46503ad2-f60f-42f6-818e-99e61144d4da_secret', 0));
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
