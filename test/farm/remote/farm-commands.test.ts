import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findHaproxy } from '../../../src/farm/index.js';
import { jsonOf, runCli } from '../../helpers/cli.js';
import { login, withToken } from '../../helpers/http.js';
import { adminToken, freePortOn, memberView, runIn, startRemoteFarm, waitUntil, type RemoteFarm } from '../../helpers/remote-farm.js';
import { tempDir } from '../../helpers/temp.js';

// `capsule farm status | rotate-hmac | haproxy-config --manifest`: run from a folder that holds
// no home, with a manifest of URLs only, against real instances on 127.0.0.2, 127.0.0.3, …

let farm: RemoteFarm;
/** Files the operator keeps beside the work folder (a folder of their own: the work folder's parent is the shared tmp). */
const besideWorkDir = tempDir('capsule-operator-files-');

function oneLine(result: { code: number | null; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, pattern);
}

async function views() {
  return Promise.all(farm.members.map(async (member) => memberView(member, await adminToken(member, farm.adminPassword))));
}

async function post(url: string, path: string, token: string, body: object): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'login-token': token }, body: JSON.stringify(body) });
}

describe('farm commands over HTTP, given only the members’ URLs', () => {
  before(async () => {
    farm = await startRemoteFarm(3);
  });

  it('farm status is green from a folder with no home, and touches nothing there', async () => {
    const result = await farm.cli(['farm', 'status', '--manifest', 'farm.json']);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /farm green/);
    for (const member of farm.members) assert.match(result.stdout, new RegExp(`${member.name}\\s+${member.role}\\s+${member.url.replace(/\./g, '\\.')}\\s+ok`));
    const json = jsonOf<{ green: boolean; members: Array<{ name: string; info: { keys: { hmac: { id: string } }; users: number } }> }>(
      await farm.cli(['farm', 'status', '--manifest', 'farm.json', '--json']),
    );
    assert.equal(json.green, true);
    assert.equal(new Set(json.members.map((member) => member.info.keys.hmac.id)).size, 1);
    assert.deepEqual(readdirSync(farm.workDir), ['farm.json'], 'no home, no audit log, nothing written');
  });

  it('reads the password from a 0600 file, and refuses one that others can read', async () => {
    const file = join(besideWorkDir, 'admin-password');
    writeFileSync(file, `${farm.adminPassword}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    oneLine(await farm.cli(['farm', 'status', '--manifest', 'farm.json', '--admin-password-file', file], { CAPSULE_ADMIN_PASSWORD: '' }), 2, /readable by others.*chmod 600/);
    chmodSync(file, 0o600);
    const result = await farm.cli(['farm', 'status', '--manifest', 'farm.json', '--admin-password-file', file], { CAPSULE_ADMIN_PASSWORD: '' });
    assert.equal(result.code, 0, result.stderr);
  });

  it('bad input gets one clear line: a wrong password, no password, a manifest failing its schema', async () => {
    oneLine(await farm.cli(['farm', 'status', '--manifest', 'farm.json'], { CAPSULE_ADMIN_PASSWORD: 'wrong' }), 2, /refused the login of admin.*CAPSULE_ADMIN_PASSWORD/);
    oneLine(await farm.cli(['farm', 'rotate-hmac', '--manifest', 'farm.json'], { CAPSULE_ADMIN_PASSWORD: 'wrong' }), 2, /refused the login/);
    // Two wrong passwords within a second lock admin on the author (Keycloak's quick-login check): the operator unlocks it.
    for (const member of farm.members) assert.equal((await runCli(['users', 'unlock', 'admin', '--home', member.home])).code, 0);
    oneLine(await farm.cli(['farm', 'status', '--manifest', 'farm.json'], { CAPSULE_ADMIN_PASSWORD: '' }), 2, /no admin password/);
    const bad = join(besideWorkDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ format: 'capsule-farm/2', members: [{ name: 'a', role: 'leader', url: 'http://127.0.0.2:1' }] }));
    oneLine(await farm.cli(['farm', 'status', '--manifest', bad]), 2, /not a capsule-farm\/2 manifest \(members\.0\.role/);
    oneLine(await farm.cli(['farm', 'haproxy-config', '--manifest', bad]), 2, /not a capsule-farm\/2 manifest/);
    oneLine(await farm.cli(['farm', 'status']), 2, /give --manifest FILE/);
    const views1 = await views();
    assert.ok(views1.every((view) => view.keys.stagedHmac === null && view.lock === null), 'nothing half-done');
  });

  it('an unreachable member: status is red naming it, rotate-hmac changes nothing anywhere', async () => {
    const manifest = JSON.parse(readFileSync(farm.manifestFile, 'utf8'));
    const gone = `http://127.0.0.9:${await freePortOn('127.0.0.9')}`;
    manifest.members.push({ name: 'publish-9', role: 'publish', url: gone });
    const file = join(besideWorkDir, 'with-gone.json');
    writeFileSync(file, JSON.stringify(manifest));
    const status = await farm.cli(['farm', 'status', '--manifest', file]);
    assert.equal(status.code, 1, status.stderr);
    assert.match(status.stdout, /RED: publish-9 \(http:\/\/127\.0\.0\.9:\d+\) does not answer \(connection refused\)/);
    const before = await views();
    oneLine(await farm.cli(['farm', 'rotate-hmac', '--manifest', file]), 1, /publish-9 .* does not answer.*nothing was changed/);
    assert.deepEqual((await views()).map((view) => view.keys), before.map((view) => view.keys), 'no member changed');
  });

  it('status is red (exit 1) when one member signs with another key, naming it and the fix', async () => {
    const odd = farm.members[2]!;
    const token = await adminToken(odd, farm.adminPassword);
    const staged = (await (await post(odd.url, '/system/farm/hmac/stage', token, {})).json()) as { staged: string };
    assert.equal((await post(odd.url, '/system/farm/hmac/promote', token, { expectedKid: staged.staged })).status, 200);
    const result = await farm.cli(['farm', 'status', '--manifest', 'farm.json']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, new RegExp(`RED: ${odd.name} signs with hmac ${staged.staged}, the others with [0-9a-f]{16}: copy the farm's keys`));
    assert.match(result.stderr, /farm red/);
    // rotate-hmac refuses to roll out over a split farm
    oneLine(await farm.cli(['farm', 'rotate-hmac', '--manifest', 'farm.json']), 2, new RegExp(`${odd.name} signs with hmac ${staged.staged}.*not one farm; nothing was changed`));
    // put the farm back together: the odd member takes the others' key back (it still holds it, retired)
    const authorKid = (await views())[0]!.keys.hmac.id;
    assert.equal((await post(odd.url, '/system/farm/hmac/stage', token, { kid: authorKid })).status, 200);
    assert.equal((await post(odd.url, '/system/farm/hmac/promote', token, { expectedKid: authorKid })).status, 200);
    assert.equal((await farm.cli(['farm', 'status', '--manifest', 'farm.json'])).code, 0);
  });

  it('a second run refuses while the lock on the author is held', async () => {
    const author = farm.members[0]!;
    const token = await adminToken(author, farm.adminPassword);
    assert.equal((await post(author.url, '/system/farm/lock', token, { holder: 'ops@elsewhere', leaseMs: 60_000 })).status, 200);
    const before = await views();
    oneLine(await farm.cli(['farm', 'rotate-hmac', '--manifest', 'farm.json']), 1, /the farm is locked by ops@elsewhere until/);
    assert.deepEqual((await views()).map((view) => view.keys), before.map((view) => view.keys));
    assert.equal((await post(author.url, '/system/farm/unlock', token, { holder: 'ops@elsewhere' })).status, 200);
  });

  it('interrupted after staging on some members, a second run finishes the same rotation', async () => {
    const killed = await farm.cli(['farm', 'rotate-hmac', '--manifest', 'farm.json', '--lock-lease', '2'], { CAPSULE_FAILPOINT: 'farm-rotate:staged-partly' });
    assert.notEqual(killed.code, 0);
    const half = await views();
    const target = half[0]!.keys.stagedHmac?.id;
    assert.ok(target, 'the author has staged the new key');
    assert.equal(half[1]!.keys.stagedHmac?.id, target);
    assert.equal(half[2]!.keys.stagedHmac, null, 'the third member has not got it yet');
    assert.equal((await farm.cli(['farm', 'status', '--manifest', 'farm.json'])).code, 1, 'status sees the unfinished rotation');
    // the dead run's lock lapses (2 s); the next run takes it over
    const author = farm.members[0]!;
    const token = await adminToken(author, farm.adminPassword);
    await waitUntil('the lapsed lock', async () => (await memberView(author, token)).lock === null);
    const rerun = await farm.cli(['farm', 'rotate-hmac', '--manifest', 'farm.json', '--json']);
    assert.equal(rerun.code, 0, rerun.stderr);
    const result = jsonOf<{ current: string; resumed: boolean }>(rerun);
    assert.equal(result.current, target, 'the same key');
    assert.equal(result.resumed, true);
    for (const view of await views()) {
      assert.equal(view.keys.hmac.id, target);
      assert.equal(view.keys.stagedHmac, null);
    }
  });

  it('interrupted after promoting on one member, a second run finishes the same rotation', async () => {
    const killed = await farm.cli(['farm', 'rotate-hmac', '--manifest', 'farm.json', '--lock-lease', '2'], { CAPSULE_FAILPOINT: 'farm-rotate:promoted-partly' });
    assert.notEqual(killed.code, 0);
    const half = await views();
    const target = half[1]!.keys.hmac.id;
    assert.notEqual(half[0]!.keys.hmac.id, target, 'the author has not promoted yet');
    const author = farm.members[0]!;
    const token = await adminToken(author, farm.adminPassword);
    await waitUntil('the lapsed lock', async () => (await memberView(author, token)).lock === null);
    const rerun = await farm.cli(['farm', 'rotate-hmac', '--manifest', 'farm.json', '--json']);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(jsonOf<{ current: string }>(rerun).current, target);
    for (const view of await views()) assert.equal(view.keys.hmac.id, target);
  });

  describe('through real HAProxy', () => {
    let haproxy: ReturnType<typeof spawn> | undefined;
    after(() => haproxy?.kill('SIGKILL'));

    it('haproxy-config balances the publish members; rotate-hmac under continuous load fails no request', async () => {
      const port = await freePortOn('127.0.0.1');
      // Fresh logins from one address all through the rotation: more than the default login limit.
      const config = await farm.cli(['farm', 'haproxy-config', '--manifest', 'farm.json', '--bind', `127.0.0.1:${port}`, '--check-interval', '200', '--login-limit', '100000']);
      assert.equal(config.code, 0, config.stderr);
      const text = config.stdout;
      assert.match(text, /balance roundrobin/);
      assert.match(text, /option httpchk GET \/system\/health\/ready/);
      assert.match(text, /option redispatch/);
      assert.match(text, /http-request del-header x-forwarded-for[\s\S]*option forwardfor/);
      for (const member of farm.members.slice(1)) assert.match(text, new RegExp(`server ${member.name} ${member.host}:\\d+ check`));
      assert.doesNotMatch(text, /server author /, 'the author is not balanced');
      assert.doesNotMatch(text, /cookie|stick (on|match|store)|balance source/, 'no stickiness');
      const file = join(besideWorkDir, 'haproxy.cfg');
      writeFileSync(file, text);
      haproxy = spawn(findHaproxy(process.env), ['-W', '-db', '-f', file], { stdio: 'ignore' });
      const lb = `http://127.0.0.1:${port}`;
      await waitUntil('HAProxy to serve both publishes', async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) {
          const response = await fetch(`${lb}/system/health/ready`);
          if (response.status === 200) seen.add(response.headers.get('x-capsule-instance') ?? '');
        }
        return seen.size === 2;
      });

      const token = await login(lb, 'admin', farm.adminPassword);
      const before = (await views())[1]!.keys.hmac.id;
      let stop = false;
      const failures: string[] = [];
      let requests = 0;
      const seenInstances = new Set<string>();
      const load = async () => {
        let current = token;
        while (!stop) {
          const response = await fetch(`${lb}/api/session`, withToken(current));
          requests++;
          seenInstances.add(response.headers.get('x-capsule-instance') ?? '?');
          if (response.status !== 200) failures.push(`${response.status} from ${response.headers.get('x-capsule-instance')}`);
          const renewed = /^login-token=([^;]+)/.exec(response.headers.getSetCookie()[0] ?? '')?.[1];
          if (renewed) current = renewed;
          await response.arrayBuffer();
        }
      };
      const freshLogins = async () => {
        while (!stop) {
          const fresh = await login(lb, 'admin', farm.adminPassword).catch((error: Error) => (failures.push(`login: ${error.message}`), ''));
          for (let i = 0; i < 4 && fresh; i++) {
            const response = await fetch(`${lb}/api/session`, withToken(fresh));
            requests++;
            if (response.status !== 200) failures.push(`fresh token: ${response.status} from ${response.headers.get('x-capsule-instance')}`);
            await response.arrayBuffer();
          }
        }
      };
      const workers = [load(), load(), freshLogins()];
      await waitUntil('load to begin', async () => requests > 20);
      const rotation = await farm.cli(['farm', 'rotate-hmac', '--manifest', 'farm.json', '--json']);
      const atRotation = requests;
      await waitUntil('more load after the rotation', async () => requests > atRotation + 40);
      stop = true;
      await Promise.all(workers);
      assert.equal(rotation.code, 0, rotation.stderr);
      const after = jsonOf<{ current: string; previous: string }>(rotation);
      assert.notEqual(after.current, before);
      assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
      assert.deepEqual([...seenInstances].sort(), ['publish-1', 'publish-2']);
      for (const view of await views()) assert.equal(view.keys.hmac.id, after.current);
    });
  });
});
