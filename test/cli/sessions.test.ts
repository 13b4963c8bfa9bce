import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listSessionsWith, revokeAllSessionsWith, revokeSessionWith, type SessionCommandDeps } from '../../src/cli/commands/sessions.js';
import type { CliIO } from '../../src/cli/io.js';
import { systemClock } from '../../src/clock.js';
import { isCapsuleError } from '../../src/errors.js';
import { openServices, startInstance, type Services } from '../../src/instance/index.js';
import { jsonOf, runCli } from '../helpers/cli.js';
import { login } from '../helpers/http.js';
import { fastHasher } from '../helpers/services.js';
import { FIREFOX_ON_WINDOWS, SAFARI_ON_IPHONE } from '../helpers/sessions-instance.js';
import { sessionRegistryDouble, type SessionRegistryDouble } from '../helpers/sessions-registry-double.js';
import { tempDir } from '../helpers/temp.js';

function capturedIO(): CliIO & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (text) => lines.push(text), err: (text) => lines.push(text), readStdin: async () => '', env: {}, stdinIsTTY: false };
}

describe('capsule sessions list|revoke|revoke-all: the commands over a registry', () => {
  let deps: SessionCommandDeps;
  let sessions: SessionRegistryDouble;
  const start = async (userId: string, userAgent = FIREFOX_ON_WINDOWS) =>
    sessions.start({ id: userId, generation: 0 }, { method: 'password', clientAddress: '192.0.2.5', userAgent }, Date.now() + 3_600_000);
  const active = (id: string) => sessions.records().find((record) => record.id === id)?.endedAtMs === null;

  let services: Services;
  before(async () => {
    services = await openServices({ home: join(tempDir(), 'home'), create: true, hasher: fastHasher, clock: systemClock });
    for (const user of ['alice', 'bob']) await services.users.createUser(user, { password: `${user}-pw-correct-horse` });
    sessions = sessionRegistryDouble();
    deps = { sessions, users: services.users };
  });
  after(() => services.close());

  it("lists a user's sessions as a table, or JSON with --json", async () => {
    const phone = await start('alice', SAFARI_ON_IPHONE);
    await start('bob');
    const io = capturedIO();
    await listSessionsWith(deps, { user: 'alice' }, io);
    assert.match(io.lines[0]!, /^ID\s+DEVICE\s+ADDRESS\s+SIGNED IN\s+LAST SEEN\s+HOW\s+INSTANCE\s+STATE/);
    assert.match(io.lines[0]!, new RegExp(`${phone}\\s+Safari 18 on iOS 18[^\\n]*192\\.0\\.2\\.5[^\\n]*password[^\\n]*active`));
    const json = capturedIO();
    await listSessionsWith(deps, { user: 'alice', json: true }, json);
    const parsed = JSON.parse(json.lines[0]!) as { userId: string; sessions: Array<{ id: string; userId: string }> };
    assert.equal(parsed.userId, 'alice');
    assert.ok(parsed.sessions.length >= 1 && parsed.sessions.every((session) => session.userId === 'alice'));
  });

  it('refuses an unknown user (USER_NOT_FOUND), and a session of another user (NOT_FOUND): nothing ended', async () => {
    const bobs = await start('bob');
    await assert.rejects(listSessionsWith(deps, { user: 'nobody' }, capturedIO()), (error) => isCapsuleError(error, 'USER_NOT_FOUND'));
    await assert.rejects(revokeAllSessionsWith(deps, { user: 'nobody' }, capturedIO()), (error) => isCapsuleError(error, 'USER_NOT_FOUND'));
    await assert.rejects(revokeSessionWith(deps, bobs, { user: 'alice' }, capturedIO()), (error) => isCapsuleError(error, 'NOT_FOUND') && /nothing was changed/.test(error.message));
    assert.equal(active(bobs), true);
  });

  it('revoke ends one session; revoke-all the rest of the user, no one else', async () => {
    const laptop = await start('alice');
    const phone = await start('alice', SAFARI_ON_IPHONE);
    const bobs = await start('bob');
    const io = capturedIO();
    await revokeSessionWith(deps, laptop, { user: 'alice' }, io);
    assert.match(io.lines[0]!, new RegExp(`^ended session ${laptop} of alice \\(Firefox 133 on Windows`));
    assert.equal(active(laptop), false);
    assert.equal(active(phone), true);
    const all = capturedIO();
    await revokeAllSessionsWith(deps, { user: 'alice', json: true }, all);
    assert.ok((JSON.parse(all.lines[0]!) as { ended: number }).ended >= 1);
    assert.equal(active(phone), false);
    assert.equal(active(bobs), true);
  });
});

describe('capsule sessions --help', () => {
  it('describes each command and its options', async () => {
    for (const command of ['list', 'revoke', 'revoke-all']) {
      const result = await runCli(['sessions', command, '--help']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /--user <id>/);
      assert.match(result.stdout, /--home <dir>/);
      assert.match(result.stdout, /--json/);
    }
  });
});

/** Needs the integrated tree: `openSessionRegistry` wired to the registry of src/sessions/, and sign-ins recorded by the token handler. */
describe('capsule sessions on a home (integrated registry)', () => {
  it("lists the sessions an instance recorded, ends one, then all; an unknown user's list fails with exit 2", async () => {
    const home = join(tempDir(), 'home');
    const instance = await startInstance({ home, port: 0, hasher: fastHasher, env: { CAPSULE_ADMIN_PASSWORD: 'admin-password' } });
    try {
      await instance.services.users.createUser('alice', { password: 'alice-pw-correct-horse' });
      await login(instance.url, 'alice', 'alice-pw-correct-horse');
      await login(instance.url, 'alice', 'alice-pw-correct-horse');
    } finally {
      await instance.stop();
    }
    const listed = await runCli(['sessions', 'list', '--user', 'alice', '--home', home, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const sessions = jsonOf<{ sessions: Array<{ id: string; state: string; method: string }> }>(listed).sessions;
    assert.equal(sessions.length, 2);
    assert.ok(sessions.every((session) => session.state === 'active' && session.method === 'password'));
    const revoked = await runCli(['sessions', 'revoke', sessions[0]!.id, '--user', 'alice', '--home', home]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const all = await runCli(['sessions', 'revoke-all', '--user', 'alice', '--home', home, '--json']);
    assert.equal(jsonOf<{ ended: number }>(all).ended, 1);
    const unknown = await runCli(['sessions', 'list', '--user', 'nobody', '--home', home]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no user 'nobody'/);
  });
});
