import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STATEFUL_TOKENS_COUNTER } from '../../src/auth/stateful-tokens.js';
import { createValidatedTokens } from '../../src/auth/validated-tokens.js';
import { fixedClock } from '../../src/clock.js';
import { watchCounters, type Repository } from '../../src/repository/index.js';
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
    const watch = watchCounters(repo, { handlers: { [STATEFUL_TOKENS_COUNTER]: () => tokens.empty() }, clock: fixedClock(0), recheckMs: 500, ownCommits: true });
    const tokens = createValidatedTokens({ watch });
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

/**
 * The repository as a watch sees it without PostgreSQL's announcements, for tests that count a
 * handler's calls: an announcement (the LISTEN connection ready, any bump of a watched counter,
 * this process's own too) starts a look of its own whenever it arrives, between the test's looks.
 */
function withoutAnnouncements(repo: Repository): Repository {
  return { ...repo, onCounterBumped: () => () => undefined };
}

// The one watch of the repository's change counters (repository/counter-watch.ts), which the
// caches (content nodes, the token handler) and the instance (configuration, keys) share. These
// tests fail if a handler is called for a counter that did not move, or at the first look; if a
// change by another process is not seen within recheckMs, or (PostgreSQL) with a stopped clock;
// if a commit of this process does not reach a cache before its transaction resolves; or if a
// polling watch reports an outage more than once.
for (const backend of repositoryBackends()) {
  describe(`the counter watch (${backend.name})`, () => {
    async function twoProcesses() {
      const location = await backend.location();
      const repo = await backend.open(location);
      // Another connection shares no listeners with the first, as another process would not.
      const other = await backend.reopen(location);
      return { repo, other };
    }

    it('calls the handler of each counter that moved since the last look, none at the first', async () => {
      const { repo, other } = await twoProcesses();
      await repo.bumpCounter('a');
      const told: string[] = [];
      const watch = watchCounters(repo, { handlers: { a: () => void told.push('a'), b: () => void told.push('b') }, clock: fixedClock(0), recheckMs: 500 });
      await watch.look();
      assert.deepEqual(told, [], 'the first look only notes where the counters stand');
      assert.equal(watch.generation(), 0);
      await other.bumpCounter('a');
      await watch.look();
      assert.deepEqual(told, ['a']);
      assert.equal(watch.generation(), 1);
      await other.bumpCounter('b');
      await watch.look();
      await watch.look();
      assert.deepEqual(told, ['a', 'b'], 'once: the second look sees nothing moved');
      await watch.stop();
    });

    it('runs every moved handler when one fails, and tries the failed one again at the next look', async () => {
      const { repo: listening, other } = await twoProcesses();
      // Counts the handlers' calls look by look; an announcement's look between the two bumps would call the failing one once more.
      const repo = withoutAnnouncements(listening);
      const told: string[] = [];
      let configFails = true;
      const watch = watchCounters(repo, {
        handlers: {
          config: () => {
            told.push('config');
            if (configFails) return Promise.reject(new Error('repository unavailable'));
          },
          keys: () => void told.push('keys'),
        },
        clock: fixedClock(0),
        recheckMs: 500,
      });
      await watch.look();
      await other.bumpCounter('config');
      await other.bumpCounter('keys');
      await assert.rejects(watch.look(), /repository unavailable/);
      assert.deepEqual(told, ['config', 'keys'], 'the keys were reloaded although the configuration failed');
      configFails = false;
      await watch.look();
      assert.deepEqual(told, ['config', 'keys', 'config'], 'the failed handler ran again, the one that succeeded did not');
      await watch.look();
      assert.equal(told.length, 3);
      await watch.stop();
    });

    it('looks when the clock was stepped back, rather than trusting the last look for the size of the step', async () => {
      const { repo } = await twoProcesses();
      const clock = fixedClock(3_600_000);
      const watch = watchCounters(repo, { handlers: { a: () => undefined }, clock, recheckMs: 500 });
      await watch.look();
      assert.equal(watch.lookIfDue(), undefined);
      clock.set(0); // NTP stepped the wall clock back an hour
      const look = watch.lookIfDue();
      assert.ok(look, 'a look is due');
      await look;
      await watch.stop();
    });

    it("sees another process's bump within recheckMs, and PostgreSQL's announcement with a clock that stands still", async () => {
      const { repo, other } = await twoProcesses();
      const clock = fixedClock(0);
      let told!: () => void;
      const moved = new Promise<void>((resolve) => (told = resolve));
      const watch = watchCounters(repo, { handlers: { a: () => told() }, clock, recheckMs: 500 });
      await watch.lookIfDue();
      assert.equal(watch.lookIfDue(), undefined, 'the last look is recent: none is due, nothing to await');
      await other.bumpCounter('a');
      if (backend.name === 'postgres') {
        await moved; // announced: seen although the clock did not move
      } else {
        assert.equal(watch.lookIfDue(), undefined, 'the staleness accepted: the clock has not moved');
        clock.advance(499);
        assert.equal(watch.lookIfDue(), undefined);
        clock.advance(1);
        await watch.lookIfDue();
        await moved;
      }
      assert.equal(watch.generation(), 1);
      await watch.stop();
    });

    it('with ownCommits, tells a commit of this process before its transaction resolves', async () => {
      const { repo: listening } = await twoProcesses();
      // The commit's own announcement would start a look that calls the handler again (harmless, but not what is counted here).
      const repo = withoutAnnouncements(listening);
      const told: string[] = [];
      const watch = watchCounters(repo, { handlers: { a: () => void told.push('a'), b: () => void told.push('b') }, clock: fixedClock(0), recheckMs: 500, ownCommits: true });
      await watch.lookIfDue();
      await repo.transaction(async (tx) => {
        await tx.bumpCounter('b');
        await tx.bumpCounter('c');
      });
      assert.deepEqual(told, ['b']);
      assert.equal(watch.generation(), 1);
      await watch.stop();
    });
  });
}

describe('a polling counter watch', () => {
  it('looks by itself, reports a failing repository once per outage, and once when it answers again', async () => {
    const [backend] = repositoryBackends();
    const opened = await backend!.open();
    let failing = false;
    let failedReads = 0;
    let severalFailed!: () => void;
    const outageLasted = new Promise<void>((resolve) => (severalFailed = resolve));
    const repo: Repository = {
      ...opened,
      readCounter: (name) => {
        if (!failing) return opened.readCounter(name);
        if (++failedReads === 3) severalFailed();
        return Promise.reject(new Error('the repository is away'));
      },
    };
    const reports: string[] = [];
    let recovered!: () => void;
    const back = new Promise<void>((resolve) => (recovered = resolve));
    let told!: () => void;
    const moved = new Promise<void>((resolve) => (told = resolve));
    const watch = watchCounters(repo, {
      handlers: { a: () => told() },
      clock: fixedClock(0),
      recheckMs: 5,
      polling: {
        onError: (error) => reports.push(`failed: ${(error as Error).message}`),
        onRecovered: () => {
          reports.push('works again');
          recovered();
        },
      },
    });
    await watch.look(); // where the counters stand
    failing = true;
    await outageLasted;
    failing = false;
    await back;
    assert.deepEqual(reports, ['failed: the repository is away', 'works again']);
    await opened.bumpCounter('a');
    await moved; // the timer's look, with a clock that stands still
    await watch.stop();
  });
});
