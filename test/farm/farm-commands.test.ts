import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { findHaproxy, parseManifestV2 } from '../../src/farm/index.js';
import { openServices } from '../../src/instance/index.js';
import { isProtectedValue } from '../../src/crypto/index.js';
import { jsonOf, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { freePortOnAll, runIn } from '../helpers/remote-farm.js';
import { systemClock } from '../../src/clock.js';

// What `farm init` writes, and what the other farm commands say when the farm is not running:
// they reach the members over HTTP only, so a stopped farm is "does not answer", never a home
// read behind its back. The running farm is in load-balanced-farm.test.ts.

interface KeyFingerprints {
  master: { id: string };
  hmac: { id: string };
}

function assertOneLine(result: { code: number | null; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, pattern);
}

describe('capsule farm init', () => {
  let dir: string;
  let memberPort: number;

  before(async () => {
    dir = join(tempDir(), 'farm');
    memberPort = await freePortOnAll(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
    const result = await runCli(['farm', 'init', '--dir', dir, '--publishers', '3', '--port', '18080', '--member-port', String(memberPort)]);
    assert.equal(result.code, 0, result.stderr);
  });

  it('makes an author and N publishes, each on its own loopback address, in a capsule-farm/2 manifest', () => {
    const names = ['author', 'publish-1', 'publish-2', 'publish-3'];
    assert.deepEqual(readdirSync(dir).sort(), ['admin-password', 'farm.json', 'haproxy.cfg', ...names].sort());
    const text = readFileSync(join(dir, 'farm.json'), 'utf8');
    const manifest = parseManifestV2(text, 'farm.json'); // what every --manifest command reads
    assert.deepEqual(
      manifest.members,
      names.map((name, index) => ({ name, role: index === 0 ? 'author' : 'publish', url: `http://127.0.0.${index + 2}:${memberPort}` })),
    );
    assert.equal(statSync(join(dir, 'admin-password')).mode & 0o777, 0o600);
  });

  it('gives every member the same keys, encapsulated tokens and admin; a transport user on each publish and an agent for it on the author', async () => {
    const adminPassword = readFileSync(join(dir, 'admin-password'), 'utf8').trim();
    const keys = await Promise.all(['author', 'publish-1', 'publish-2', 'publish-3'].map(async (name) => jsonOf<KeyFingerprints>(await runCli(['keys', 'fingerprint', '--json', '--home', join(dir, name)]))));
    assert.equal(new Set(keys.map((key) => `${key.master.id}/${key.hmac.id}`)).size, 1, 'the same keys everywhere');
    for (const name of ['author', 'publish-1', 'publish-2', 'publish-3']) {
      assert.deepEqual(JSON.parse(readFileSync(join(dir, name, 'config', 'capsule.auth.token.json'), 'utf8')), { 'token.encapsulated': true });
      const services = await openServices({ home: join(dir, name), clock: systemClock });
      try {
        assert.equal((await services.users.authenticate('admin', adminPassword))?.id, 'admin', `${name} has the farm's admin`);
        const replicator = await services.users.getUser('replicator');
        if (name === 'author') {
          assert.equal(replicator, null);
          const agents = services.config.list().map(({ pid }) => pid).filter((pid) => pid.startsWith('capsule.replication.agent~'));
          assert.deepEqual(agents.sort(), ['capsule.replication.agent~publish-1', 'capsule.replication.agent~publish-2', 'capsule.replication.agent~publish-3']);
          const stored = services.config.stored('capsule.replication.agent~publish-2')!;
          assert.equal(stored.url, `http://127.0.0.4:${memberPort}`);
          assert.equal(stored['transport.user'], 'replicator');
          assert.ok(isProtectedValue(String(stored['transport.password'])), 'the transport password is protected with the master key');
        } else {
          assert.deepEqual(replicator?.groups, ['replication-receivers'], `${name} has its transport user`);
        }
      } finally {
        await services.close();
      }
    }
  });

  it('writes a valid HAProxy configuration for the publishes only, without stickiness', () => {
    const config = readFileSync(join(dir, 'haproxy.cfg'), 'utf8');
    assert.match(config, /bind 127\.0\.0\.1:18080/);
    assert.match(config, /balance roundrobin/);
    assert.match(config, /option httpchk GET \/system\/health\/ready/);
    assert.match(config, /option redispatch/);
    assert.deepEqual(
      config.match(/server \S+ \S+ check/g),
      [1, 2, 3].map((index) => `server publish-${index} 127.0.0.${index + 2}:${memberPort} check`),
    );
    assert.doesNotMatch(config, /^\s*(cookie|stick (on|match|store)|balance source|hash-type)/m, 'no sticky sessions');
    execFileSync(findHaproxy(process.env), ['-c', '-q', '-f', join(dir, 'haproxy.cfg')]); // throws when HAProxy refuses it
  });

  it('refuses an existing non-empty folder, a number of publishers outside 1..32 and a bad port, with one line and exit 2', async () => {
    const taken = join(tempDir(), 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'notes.txt'), 'mine');
    assertOneLine(await runCli(['farm', 'init', '--dir', taken, '--publishers', '2']), 2, /is not empty/);
    assert.deepEqual(readdirSync(taken), ['notes.txt']);
    for (const count of ['0', '33', 'two']) {
      const target = join(tempDir(), 'farm');
      assertOneLine(await runCli(['farm', 'init', '--dir', target, '--publishers', count]), 2, /--publishers/);
      assert.equal(existsSync(target), false, 'nothing was written');
    }
    assertOneLine(await runCli(['farm', 'init', '--dir', join(tempDir(), 'farm'), '--publishers', '2', '--member-port', '70000']), 2, /--member-port/);
    assertOneLine(await runCli(['farm', 'status', '--dir', join(tempDir(), 'nothing')]), 2, /no farm at .*capsule farm init/);
  });

  it('with nothing running, every other farm command says the author does not answer and changes nothing', async () => {
    const before = readdirSync(dir).sort();
    const manifest = readFileSync(join(dir, 'farm.json'), 'utf8');
    const status = await runCli(['farm', 'status', '--dir', dir]);
    assert.equal(status.code, 1, status.stderr);
    for (const name of ['author', 'publish-1', 'publish-2', 'publish-3']) assert.match(status.stdout, new RegExp(`^RED: ${name} \\(http://127\\.0\\.0\\.\\d:${memberPort}\\) does not answer`, 'm'));
    const down = /author \(http:\/\/127\.0\.0\.2:\d+\) does not answer \(connection refused\); start it/;
    assertOneLine(await runCli(['farm', 'users', 'add', 'bob', '--password-stdin', '--dir', dir], { stdin: 'bob-pw-correct-horse' }), 1, down);
    assertOneLine(await runCli(['farm', 'users', 'remove', 'bob', '--dir', dir]), 1, down);
    assertOneLine(await runCli(['farm', 'rotate-hmac', '--dir', dir]), 1, down);
    assertOneLine(await runCli(['farm', 'add-instance', '--dir', dir]), 1, down);
    assert.deepEqual(readdirSync(dir).sort(), before, 'no half-made publish');
    assert.equal(readFileSync(join(dir, 'farm.json'), 'utf8'), manifest);
  });

  it('--dir reads only farm.json and admin-password: a copy of the two in a folder with no home behaves the same', async () => {
    const operator = tempDir('capsule-operator-');
    writeFileSync(join(operator, 'farm.json'), readFileSync(join(dir, 'farm.json')));
    writeFileSync(join(operator, 'admin-password'), readFileSync(join(dir, 'admin-password')), { mode: 0o600 });
    const status = await runIn(operator, ['farm', 'status', '--dir', '.', '--json']);
    assert.equal(status.code, 1);
    assert.deepEqual(
      jsonOf<{ members: Array<{ name: string; ready: string }> }>(status).members.map((member) => [member.name, member.ready]),
      [['author', 'down'], ['publish-1', 'down'], ['publish-2', 'down'], ['publish-3', 'down']],
    );
    chmodSync(join(operator, 'admin-password'), 0o644);
    assertOneLine(await runIn(operator, ['farm', 'status', '--dir', '.']), 2, /admin-password is readable by others .*chmod 600/);
    assertOneLine(await runIn(operator, ['farm', 'up', '--dir', join(tempDir(), 'none')]), 2, /no farm at/);
  });
});

describe('capsule farm up', () => {
  it('says how to install HAProxy when it is missing', () => {
    assert.throws(() => findHaproxy({ PATH: tempDir() }, []), /haproxy is not installed .*'sudo apt-get install haproxy'/);
  });

  it('refuses a manifest without the local part: it runs only a farm made by farm init', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'farm.json'), JSON.stringify({ format: 'capsule-farm/2', members: [{ name: 'a', role: 'author', url: 'http://10.0.0.2:4502' }] }));
    assertOneLine(await runCli(['farm', 'up', '--dir', dir]), 2, /no valid "local" part .*describes a farm on other machines/);
  });
});
