import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tokenOf, withToken } from '../helpers/http.js';
import { postgresInstalled, startPostgres } from '../helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

const ENV = { CAPSULE_ADMIN_PASSWORD: 'admin-password' };
const USERS = ['ann', 'ben', 'cat', 'dan', 'eve', 'fay'];
const PASSWORD = 'user-password-1';
const TOKENS_KEPT_PER_USER = 50;

interface Answer {
  readonly kind: 'login' | 'logout';
  readonly status: number;
  readonly code?: string;
}

async function codeOf(response: Response): Promise<string | undefined> {
  const body = (await response.json().catch(() => ({}))) as { code?: string; error?: { code?: string } };
  return body.code ?? body.error?.code;
}

/**
 * Logins (and logouts, which write too) from a few clients in a loop, spread over several users so
 * that no user reaches the limit of kept tokens (every token answered counts, logged out or not). Remembers every login answered 200 whose token
 * it did not log out, and lets the test wait for the next answer of a kind: events, not sleeps.
 */
function loginLoad(author: ServerProcess, clients: number) {
  const issued: { user: string; token: string }[] = [];
  const perUser = new Map(USERS.map((user) => [user, 0]));
  const waiters = new Set<{ matches: (answer: Answer) => boolean; resolve: () => void; reject: (error: Error) => void }>();
  let stopping = false;
  let exited: Error | undefined;
  author.child.once('exit', (code, signal) => {
    exited = new Error(`the instance exited (${code ?? signal}) under the load:\n${author.output().slice(-3000)}`);
    for (const waiter of waiters) waiter.reject(exited);
  });

  function answered(answer: Answer): void {
    for (const waiter of waiters) {
      if (!waiter.matches(answer)) continue;
      waiters.delete(waiter);
      waiter.resolve();
    }
  }

  async function client(number: number): Promise<void> {
    for (let round = 0; !stopping; round++) {
      const user = [...perUser.entries()].sort((a, b) => a[1] - b[1])[0]![0];
      perUser.set(user, perUser.get(user)! + 1);
      const response = await fetch(`${author.url}/j_security_check`, {
        method: 'POST',
        body: new URLSearchParams({ j_username: user, j_password: PASSWORD }),
      }).catch(() => null);
      const token = response?.status === 200 ? tokenOf(response) : null;
      const code = response ? await codeOf(response) : 'no answer';
      if (!token) perUser.set(user, perUser.get(user)! - 1);
      if (token && (round + number) % 3 === 2) {
        const logout = await fetch(`${author.url}/system/sling/logout`, { method: 'POST', ...withToken(token) }).catch(() => null);
        if (logout) await logout.arrayBuffer();
        answered({ kind: 'logout', status: logout?.status ?? 0 });
      } else if (token) {
        issued.push({ user, token });
      }
      answered({ kind: 'login', status: response?.status ?? 0, code });
    }
  }

  const running = Array.from({ length: clients }, (_, number) => client(number));
  return {
    issued,
    perUser,
    /** Resolves with the next answer that `matches`; fails at once if the instance exits. */
    next(what: string, matches: (answer: Answer) => boolean): Promise<void> {
      if (exited) return Promise.reject(exited);
      return new Promise<void>((resolve, reject) => {
        const waiter = { matches, resolve, reject };
        waiters.add(waiter);
        // A guard against waiting for ever, not a measure: the events come within seconds.
        setTimeout(() => {
          if (waiters.delete(waiter)) reject(new Error(`${what}: not seen within 60 s\n${author.output().slice(-3000)}`));
        }, 60_000).unref();
      });
    },
    async stop(): Promise<void> {
      stopping = true;
      await Promise.all(running);
    },
  };
}

async function assertServing(author: ServerProcess, when: string): Promise<void> {
  assert.equal(author.child.exitCode, null, `${when}: the instance is still running`);
  assert.doesNotThrow(() => process.kill(author.child.pid!, 0), `${when}: its PID is alive`);
  assert.equal((await fetch(`${author.url}/system/health/live`)).status, 200, `${when}: it serves /system/health/live`);
}

describe('an author on PostgreSQL when PostgreSQL drops its connections (postgres)', { skip: !postgresInstalled && 'PostgreSQL 15 is not installed' }, () => {
  it('answers 503 and never exits when PostgreSQL is killed, stopped or ends its connections, recovers, and keeps every token it answered 200 for', { timeout: 240_000 }, async () => {
    // synchronous_commit on (the throwaway clusters turn it off for speed): a commit PostgreSQL
    // acknowledged must survive its SIGKILL, as in production.
    const pg = await startPostgres({ settings: ['synchronous_commit=on'] });
    after(() => pg.stop());
    const database = new URL(await pg.createDatabase()).pathname.slice(1);
    const home = join(tempDir(), 'author');
    const author = await startServerProcess({ home, args: ['--repository', pg.url(database), '--name', 'author-1'], env: { ...ENV, ...pg.env } });
    for (const user of USERS) {
      const added = await runCli(['users', 'add', user, '--password-stdin', '--home', home], { stdin: PASSWORD, env: pg.env });
      assert.equal(added.code, 0, added.stderr);
    }

    const load = loginLoad(author, 3);
    const loginAnswered = (status: number) => (answer: Answer) => answer.kind === 'login' && answer.status === status;
    const unavailable = (answer: Answer) => answer.kind === 'login' && answer.status === 503 && answer.code === 'REPOSITORY_UNAVAILABLE';
    const terminateBackends = () =>
      pg.sql(
        'postgres',
        `WITH targets AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid())
         SELECT pid FROM targets WHERE pg_terminate_backend(pid)`,
        [database],
      );
    const faults = [
      { name: 'SIGKILL of the postmaster', cut: () => pg.kill(), away: true },
      { name: 'fast shutdown (pg_ctl stop -m fast)', cut: () => pg.stop(), away: true },
      { name: 'pg_terminate_backend of its connections', cut: terminateBackends, away: false },
    ];
    try {
      for (const fault of faults) {
        await load.next(`a login answered 200 before the ${fault.name}`, loginAnswered(200));
        await fault.cut();
        if (fault.away) {
          await load.next(`a login answered 503 REPOSITORY_UNAVAILABLE after the ${fault.name}`, unavailable);
          await assertServing(author, `while PostgreSQL is away after the ${fault.name}`);
          await pg.start();
        }
        await load.next(`a login answered 200 after the ${fault.name}`, loginAnswered(200));
        await assertServing(author, `after the ${fault.name}`);
      }
    } finally {
      await load.stop();
    }

    assert.ok(load.issued.length > 0);
    assert.ok([...load.perUser.values()].every((count) => count <= TOKENS_KEPT_PER_USER), 'no user reached the limit of kept tokens (add users otherwise)');
    const unknown: string[] = [];
    for (const { user, token } of load.issued) {
      const status = (await fetch(`${author.url}/api/session`, withToken(token))).status;
      if (status !== 200) unknown.push(`${user}: ${status}`);
    }
    assert.deepEqual(unknown, [], `every login answered 200 has its token (${load.issued.length} checked)`);
    await assertServing(author, 'at the end');
    assert.doesNotMatch(author.output(), /Unhandled 'error' event/);
    assert.equal(await author.stop(), 0);
  });
});
