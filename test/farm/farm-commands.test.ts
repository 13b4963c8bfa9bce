import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { keyId } from '../../src/crypto/index.js';
import { findHaproxy } from '../../src/farm/index.js';
import { openServices } from '../../src/instance/index.js';
import { jsonOf, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

// The farm commands on farms that are not running: what they write, what they refuse, and
// what `farm status` says. The load-balanced behaviour is in load-balanced-farm.test.ts.

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

interface KeyFingerprints {
  master: { id: string };
  hmac: { id: string };
  stagedHmac: { id: string } | null;
  retiredHmac: Array<{ id: string }>;
}

async function newFarm(publishers = 3): Promise<string> {
  const dir = join(tempDir(), 'farm');
  const result = await runCli(['farm', 'init', '--dir', dir, '--publishers', String(publishers), '--port', '18080']);
  assert.equal(result.code, 0, result.stderr);
  return dir;
}

async function fingerprints(home: string): Promise<KeyFingerprints> {
  return jsonOf<KeyFingerprints>(await runCli(['keys', 'fingerprint', '--json', '--home', home]));
}

function assertOneLineRefusal(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, pattern);
}

describe('capsule farm init', () => {
  it('makes N homes with one set of keys, encapsulated tokens, one admin, and a valid HAProxy configuration without stickiness', async () => {
    const dir = await newFarm(3);
    const names = ['publish-1', 'publish-2', 'publish-3'];
    assert.deepEqual(readdirSync(dir).sort(), ['admin-password', 'farm.json', 'haproxy.cfg', ...names]);
    const keys = await Promise.all(names.map((name) => fingerprints(join(dir, name))));
    assert.equal(new Set(keys.map((key) => `${key.master.id}/${key.hmac.id}`)).size, 1, 'the same keys everywhere');
    const adminPassword = readFileSync(join(dir, 'admin-password'), 'utf8').trim();
    for (const name of names) {
      assert.deepEqual(JSON.parse(readFileSync(join(dir, name, 'config', 'capsule.auth.token.json'), 'utf8')), { 'token.encapsulated': true });
      const services = await openServices({ home: join(dir, name) });
      assert.equal((await services.users.authenticate('admin', adminPassword))?.id, 'admin', `${name} has the farm's admin`);
      await services.close();
    }

    const config = readFileSync(join(dir, 'haproxy.cfg'), 'utf8');
    assert.match(config, /bind 127\.0\.0\.1:18080/);
    assert.match(config, /balance roundrobin/);
    assert.match(config, /option httpchk GET \/system\/health/);
    assert.match(config, /retries 3/);
    assert.match(config, /option redispatch/);
    assert.match(config, /retry-on conn-failure empty-response/);
    assert.deepEqual(config.match(/server publish-\d 127\.0\.0\.1:\d+ check/g), ['server publish-1 127.0.0.1:18081 check', 'server publish-2 127.0.0.1:18082 check', 'server publish-3 127.0.0.1:18083 check']);
    assert.doesNotMatch(config, /^\s*(cookie|stick|balance source|hash-type)/m, 'no sticky sessions');
    execFileSync(findHaproxy(process.env), ['-c', '-q', '-f', join(dir, 'haproxy.cfg')]); // throws when HAProxy refuses it
  });

  it('refuses an existing non-empty folder and a number of publishers outside 1..32, with one line and exit 2', async () => {
    const taken = join(tempDir(), 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'notes.txt'), 'mine');
    assertOneLineRefusal(await runCli(['farm', 'init', '--dir', taken, '--publishers', '2']), /is not empty/);
    assert.deepEqual(readdirSync(taken), ['notes.txt']);

    for (const count of ['0', '33', 'two']) {
      const dir = join(tempDir(), 'farm');
      assertOneLineRefusal(await runCli(['farm', 'init', '--dir', dir, '--publishers', count]), /--publishers/);
      assert.equal(existsSync(dir), false, 'nothing was written');
    }
    assertOneLineRefusal(await runCli(['farm', 'init', '--dir', join(tempDir(), 'farm'), '--publishers', '3', '--port', '65534']), /--port 65534/);
    assertOneLineRefusal(await runCli(['farm', 'status', '--dir', join(tempDir(), 'nothing')]), /no farm at .*capsule farm init/);
  });
});

describe('capsule farm up', () => {
  it('says how to install HAProxy when it is missing', () => {
    assert.throws(() => findHaproxy({ PATH: tempDir() }, []), /haproxy is not installed .*'sudo apt-get install haproxy'/);
  });
});

describe('capsule farm status', () => {
  it('is green when the keys agree, and red (exit 1) naming the instance with a foreign HMAC key and the command that fixes it', async () => {
    const dir = await newFarm(3);
    const green = await runCli(['farm', 'status', '--dir', dir]);
    assert.equal(green.code, 0, green.stdout + green.stderr);
    assert.match(green.stdout, /^NAME\s+PORT\s+PID\s+HEALTH\s+HMAC\s+MASTER\s+USERS$/m);
    assert.match(green.stdout, /^publish-2\s+18082\s+-\s+down\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+1$/m);
    assert.match(green.stdout, /farm green/);

    // publish-3 gets an HMAC key of its own, as a home that was started before its keys were imported would.
    assert.equal((await runCli(['keys', 'rotate', '--hmac', '--home', join(dir, 'publish-3')])).code, 0);
    const red = await runCli(['farm', 'status', '--dir', dir, '--json']);
    assert.equal(red.code, 1);
    const status = jsonOf<{ green: boolean; problems: string[]; instances: Array<{ name: string; hmac: string; master: string }> }>(red);
    assert.equal(status.green, false);
    assert.equal(status.problems.length, 1);
    const [problem] = status.problems;
    const odd = status.instances.find((instance) => instance.name === 'publish-3')!;
    assert.notEqual(odd.hmac, status.instances[0]!.hmac);
    assert.match(problem!, new RegExp(`^publish-3 has hmac ${odd.hmac} where the farm has hmac ${status.instances[0]!.hmac}`));
    assert.match(problem!, /'capsule keys import --in farm-keys\.bundle --force --home .*publish-3'/);
    assert.match(red.stderr, /farm red: 1 problem/);
    const text = await runCli(['farm', 'status', '--dir', dir]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^RED: publish-3 has hmac/m);

    // The fix the message names.
    const bundle = join(dir, 'farm-keys.bundle');
    assert.equal((await runCli(['keys', 'export', '--out', bundle, '--home', join(dir, 'publish-1')], { env: PASS })).code, 0);
    assert.equal((await runCli(['keys', 'import', '--in', bundle, '--force', '--home', join(dir, 'publish-3')], { env: PASS })).code, 0);
    assert.equal((await runCli(['farm', 'status', '--dir', dir])).code, 0);
  });
});

describe('capsule farm users and add-instance', () => {
  it('keeps the same users on every instance, and a new instance gets the keys and the users', async () => {
    const dir = await newFarm(2);
    const add = await runCli(['farm', 'users', 'add', 'bob', '--password-stdin', '--group', 'editors', '--dir', dir], { stdin: 'bob-pw\n' });
    assert.equal(add.code, 0, add.stderr);
    const again = await runCli(['farm', 'users', 'add', 'bob', '--password-stdin', '--dir', dir], { stdin: 'x' });
    assertOneLineRefusal(again, /bob already exists on publish-1, publish-2; nothing was changed/);

    // bob goes missing on one instance; status warns, and passwd puts him back everywhere.
    assert.equal((await runCli(['users', 'remove', 'bob', '--home', join(dir, 'publish-1')])).code, 0);
    const warned = await runCli(['farm', 'status', '--dir', dir]);
    assert.match(warned.stdout, /warn: user bob is missing on publish-1/);
    const passwd = await runCli(['farm', 'users', 'passwd', 'bob', '--password-stdin', '--dir', dir], { stdin: 'bob-new' });
    assert.equal(passwd.code, 0, passwd.stderr);
    assert.match(passwd.stdout, /added bob to publish-1, where it was missing/);

    const added = await runCli(['farm', 'add-instance', '--dir', dir, '--json']);
    assert.equal(added.code, 0, added.stderr);
    const instance = jsonOf<{ name: string; port: number; users: number }>(added);
    assert.equal(instance.name, 'publish-3');
    assert.equal(instance.port, 18083);
    const [reference, copy] = await Promise.all([fingerprints(join(dir, 'publish-1')), fingerprints(join(dir, 'publish-3'))]);
    assert.deepEqual([copy.master.id, copy.hmac.id], [reference.master.id, reference.hmac.id]);
    for (const name of ['publish-1', 'publish-2', 'publish-3']) {
      const services = await openServices({ home: join(dir, name) });
      const bob = await services.users.authenticate('bob', 'bob-new');
      assert.deepEqual(bob?.groups, ['editors'], `${name}: bob logs in with the new password and is an editor`);
      await services.close();
    }
    assert.match(readFileSync(join(dir, 'haproxy.cfg'), 'utf8'), /server publish-3 127\.0\.0\.1:18083 check/);
    assert.equal((await runCli(['farm', 'status', '--dir', dir])).code, 0);

    const remove = await runCli(['farm', 'users', 'remove', 'bob', '--dir', dir]);
    assert.equal(remove.code, 0, remove.stderr);
    assert.match(remove.stdout, /removed user bob from publish-1, publish-2, publish-3/);
    assertOneLineRefusal(await runCli(['farm', 'users', 'remove', 'bob', '--dir', dir]), /no user bob on any instance/);
  });
});

describe('capsule farm rotate-hmac on stopped instances', () => {
  it('rotates every home, keeping the old key as retired', async () => {
    const dir = await newFarm(2);
    const before = await fingerprints(join(dir, 'publish-1'));
    const result = await runCli(['farm', 'rotate-hmac', '--dir', dir, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const rotation = jsonOf<{ previous: string; current: string; running: string[] }>(result);
    assert.deepEqual([rotation.previous, rotation.running], [before.hmac.id, []]);
    for (const name of ['publish-1', 'publish-2']) {
      const keys = await fingerprints(join(dir, name));
      assert.equal(keys.hmac.id, rotation.current);
      assert.equal(keys.stagedHmac, null);
      assert.deepEqual(keys.retiredHmac.map((retired) => retired.id), [before.hmac.id]);
    }
  });

  for (const failpoint of ['promote-hmac:retired', 'promote-hmac:promoted']) {
    it(`killed at ${failpoint}: every home still verifies both keys, and a rerun finishes the same rotation`, async () => {
      const dir = await newFarm(3);
      const oldKey = readFileSync(join(dir, 'publish-1', 'keys', 'hmac'));
      const killed = await runCli(['farm', 'rotate-hmac', '--dir', dir], { env: { CAPSULE_FAILPOINT: failpoint } });
      assert.equal(killed.code, null, `the process died at ${failpoint}: ${killed.stderr}`);
      const newKey = readFileSync(join(dir, 'publish-3', 'keys', 'staged', 'hmac'));
      for (const name of ['publish-1', 'publish-2', 'publish-3']) {
        const services = await openServices({ home: join(dir, name) });
        for (const key of [oldKey, newKey]) {
          assert.equal(services.crypto.verify('t', createHmac('sha256', key).update('t').digest()), true, `${name} verifies ${keyId(key)}`);
        }
        await services.close();
      }
      const rerun = await runCli(['farm', 'rotate-hmac', '--dir', dir, '--json']);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.equal(jsonOf<{ current: string }>(rerun).current, keyId(newKey), 'the interrupted rotation was finished, not another one started');
      const status = await runCli(['farm', 'status', '--dir', dir, '--json']);
      assert.equal(status.code, 0, status.stdout);
      assert.deepEqual(
        jsonOf<{ instances: Array<{ hmac: string; stagedHmac: string | null }> }>(status).instances.map((instance) => [instance.hmac, instance.stagedHmac]),
        Array(3).fill([keyId(newKey), null]),
      );
    });
  }
});
