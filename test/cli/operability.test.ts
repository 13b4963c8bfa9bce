import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, startInstance } from '../../src/instance/index.js';
import { CAPSULE_BIN, jsonOf, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { freePort } from '../helpers/ports.js';
import { fastHasher } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

const ENV = { CAPSULE_ADMIN_PASSWORD: 'admin-password' };
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the CLI as an operator meets it', () => {
  it('prints help for `capsule` and `capsule users` without a subcommand, and nothing odd after it', async () => {
    for (const args of [[], ['users'], ['groups'], ['config']]) {
      const result = await runCli(args);
      assert.notEqual(result.code, 0, `capsule ${args.join(' ')} is not a command by itself`);
      const output = result.stdout + result.stderr;
      assert.match(output, /^Usage: capsule/m);
      assert.doesNotMatch(output, /outputHelp|see --help/, `capsule ${args.join(' ')}`);
    }
  });

  it('says in one line that a --host is not an address, and that an export folder does not exist (making none)', async () => {
    const home = await initialisedHome();
    const start = await runCli(['start', '--home', home, '--host', '999.1.1.1', '--port', String(await freePort())], { env: ENV });
    assert.equal(start.code, 2);
    assert.equal(start.stderr, "capsule: --host '999.1.1.1' is neither an IP address nor a name this machine can resolve\n");

    const missing = join(tempDir(), 'no-such-folder');
    const exported = await runCli(['keys', 'export', '--out', join(missing, 'keys.bundle'), '--home', home], { env: { CAPSULE_KEYS_PASSPHRASE: 'a long enough passphrase' } });
    assert.equal(exported.code, 2);
    assert.match(exported.stderr, /^capsule: the folder .*no-such-folder does not exist; create it first/);
    assert.equal(existsSync(missing), false, 'no folder was made');
  });

  it('listens on $CAPSULE_HOST when --host is not given, and makes no home for a --host that is no address', { timeout: 60_000 }, async () => {
    const home = join(tempDir(), 'home');
    const typo = await runCli(['start', '--home', home, '--host', '10.0.0.300', '--port', String(await freePort())], { env: ENV });
    assert.equal(typo.code, 2);
    assert.equal(typo.stderr, "capsule: --host '10.0.0.300' is neither an IP address nor a name this machine can resolve\n");
    assert.equal(existsSync(home), false, 'no home was made');

    const port = await freePort();
    const child = spawn(process.execPath, [CAPSULE_BIN, 'start', '--home', home, '--port', String(port)], {
      env: { ...process.env, CAPSULE_HOME: '', CAPSULE_HOST: '127.0.0.3', ...ENV },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const deadline = Date.now() + 20_000;
      let status = 0;
      while (status !== 200) {
        status = await fetch(`http://127.0.0.3:${port}/system/health/live`).then((response) => response.status, () => 0);
        if (child.exitCode !== null || Date.now() > deadline) throw new Error('capsule start did not listen on 127.0.0.3');
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const elsewhere = await fetch(`http://127.0.0.1:${port}/system/health/live`).then((response) => response.status, () => 'refused');
      assert.equal(elsewhere, 'refused', 'only the address asked for');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('with keys/hmac deleted: start blames the tokens, and keys doctor reports one problem per ERROR line while values still decrypt', async () => {
    const home = await initialisedHome();
    const add = await runCli(['oauth', 'add', 'svc', '--token-endpoint', 'http://127.0.0.1:9/token', '--client-id', 'svc', '--client-secret-stdin', '--home', home], { stdin: 'client-secret' });
    assert.equal(add.code, 0, add.stderr);
    rmSync(join(home, 'keys', 'hmac'));

    const start = await runCli(['start', '--home', home, '--port', String(await freePort())], { env: ENV });
    assert.equal(start.code, 2);
    assert.match(start.stderr, /keys\/hmac is missing \(the login tokens it signed depend on it; protected values do not\)/);
    assert.doesNotMatch(start.stderr, /protected values? depends? on it/);

    const doctor = await runCli(['keys', 'doctor', '--home', home, '--verbose']);
    assert.equal(doctor.code, 1);
    const errors = doctor.stdout.split('\n').filter((line) => line.startsWith('ERROR'));
    assert.deepEqual(errors.length, 1, doctor.stdout);
    assert.match(errors[0]!, /the hmac key .* is missing/);
    assert.match(doctor.stdout, /^ok {4}repository \/conf\/system\/capsule\.oauth\.client~svc client\.secret: key [0-9a-f]+, decrypts$/m);
    assert.doesNotMatch(doctor.stdout, /master key is none/);
    assert.equal(doctor.stderr, 'capsule: keys doctor found 1 problem\n');
    const report = jsonOf<{ values: Array<{ decrypts: boolean }> }>(await runCli(['keys', 'doctor', '--json', '--home', home]));
    assert.deepEqual(report.values.map((value) => value.decrypts), [true]);
  });

  it('says a home is not readable by this user (run as nobody)', (t) => {
    if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v runuser'], { stdio: 'ignore' }).status !== 0) {
      t.skip('needs root and runuser to play another user');
      return;
    }
    const open = join('/tmp', `capsule-ops-${process.pid}`); // a folder nobody can enter, with a root-only home in it
    mkdirSync(open, { mode: 0o755 });
    t.after(() => rmSync(open, { recursive: true, force: true }));
    const home = join(open, 'home');
    mkdirSync(join(home, 'repository'), { recursive: true, mode: 0o700 });
    chmodSync(home, 0o700);
    for (const args of [['users', 'list'], ['start', '--port', '4599']]) {
      const result = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CAPSULE_BIN, ...args, '--home', home], { encoding: 'utf8', env: { ...process.env, CAPSULE_HOME: '' } });
      assert.equal(result.status, 2, result.stderr);
      assert.equal(result.stderr, `capsule: the home ${home} is not readable by this user (uid 65534); run capsule as the user that owns it (uid 0), or fix its permissions\n`);
    }
  });

  it('prompts for --password-stdin at a terminal without echoing it', async (t) => {
    if (spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status !== 0) {
      t.skip('python3 with the pty module plays the terminal');
      return;
    }
    const started = await initialisedHome();
    {
      // A terminal: the prompt, two typed answers, and everything the terminal showed.
      const script = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
def read_until(marker):
    global out
    deadline = time.time() + 20
    while marker not in out and time.time() < deadline:
        try:
            out += os.read(fd, 1024)
        except OSError:
            break
read_until(b'Password: ')
os.write(fd, b'typed-secret-71\\r')
read_until(b'Again: ')
os.write(fd, b'typed-secret-71\\r')
read_until(b'added user')
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`;
      const result = spawnSync('python3', ['-c', script, process.execPath, CAPSULE_BIN, 'users', 'add', 'carol', '--password-stdin', '--home', started], {
        encoding: 'utf8',
        env: { ...process.env, CAPSULE_HOME: '' },
        timeout: 60_000,
      });
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /Password: /);
      assert.match(result.stdout, /Again: /);
      assert.match(result.stdout, /added user carol/);
      assert.ok(!result.stdout.includes('typed-secret-71'), 'the password is not echoed');
      const server = await startInstance({ home: started, port: 0, hasher: fastHasher, env: ENV });
      try {
        const login = await fetch(`${server.url}/j_security_check`, { method: 'POST', body: new URLSearchParams({ j_username: 'carol', j_password: 'typed-secret-71' }) });
        assert.equal(login.status, 200, 'the typed password is the password');
      } finally {
        await server.stop();
      }
    }
  });

  it("runs the README's first users and groups commands on a fresh home, and keys fingerprint on a home given keys but never started", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Users and groups'));
    const block = section.slice(section.indexOf('```sh') + 5, section.indexOf('```', section.indexOf('```sh') + 5));
    const commands = block
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').replace(/^printf '%s' "\$PASSWORD" \| /, '').trim())
      .filter((line) => /^capsule (groups add|users add) /.test(line));
    assert.ok(commands.length >= 2, block);
    const home = await initialisedHome();
    for (const command of commands) {
      const result = await runCli([...command.split(/\s+/).slice(1), '--home', home], { stdin: 'readme-password' });
      assert.equal(result.code, 0, `${command}: ${result.stderr}`);
    }

    const bundle = join(tempDir(), 'keys.bundle');
    const passphrase = { CAPSULE_KEYS_PASSPHRASE: 'a long enough passphrase' };
    assert.equal((await runCli(['keys', 'export', '--out', bundle, '--home', home], { env: passphrase })).code, 0);
    const target = join(tempDir(), 'target');
    assert.equal((await runCli(['keys', 'import', '--in', bundle, '--home', target], { env: passphrase })).code, 0);
    const [source, copy] = await Promise.all([home, target].map((dir) => runCli(['keys', 'fingerprint', '--home', dir])));
    assert.equal(copy!.code, 0, copy!.stderr);
    assert.equal(copy!.stdout, source!.stdout);
  });

  it('warns at start about a file in <home>/config/ whose PID no component has', async () => {
    const home = await initialisedHome();
    mkdirSync(join(home, 'config'), { recursive: true });
    writeFileSync(join(home, 'config', 'capsule.auth.tokn.json'), JSON.stringify({ 'token.encapsulated': true }));
    let log = '';
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    const instance = await startInstance({ home, port: 0, hasher: fastHasher, env: ENV, logger: createLogger({ destination, pretty: false }) });
    await instance.stop();
    const warning = log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; configuration?: string; msg: string })
      .find((line) => line.level === 40 && line.configuration === 'capsule.auth.tokn');
    assert.ok(warning, log);
    assert.match(warning.msg, /no component has the PID capsule\.auth\.tokn of .*capsule\.auth\.tokn\.json \(a typo\?\)/);
  });
});
