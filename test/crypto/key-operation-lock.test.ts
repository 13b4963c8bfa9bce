import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { constants, open } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { createBundle, keyId } from '../../src/crypto/index.js';
import { CAPSULE_BIN, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { hashHomeFiles } from '../helpers/home-snapshot.js';
import { writeProtectedValues, readProtectedValues, EXPECTED_VALUES } from '../helpers/protected-home.js';
import { tempDir } from '../helpers/temp.js';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

it('a key command while another runs on the same home is refused, naming its pid, and changes nothing', { timeout: 120_000 }, async () => {
  const home = await initialisedHome();
  await writeProtectedValues(home);
  const oldMaster = keyId(readFileSync(join(home, 'keys', 'master')));
  const gate = join(tempDir(), 'gate');
  execFileSync('mkfifo', [gate]);
  // The first rotation holds the lock and waits at the barrier until the test opens the FIFO.
  const first = spawn(process.execPath, [CAPSULE_BIN, 'keys', 'rotate', '--master', '--home', home], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CAPSULE_HOME: '', CAPSULE_PAUSEPOINT: 'keys:locked', CAPSULE_PAUSEPOINT_GATE: gate },
  });
  let stderr = '';
  const paused = new Promise<number>((resolve) => {
    first.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const pid = /pausepoint keys:locked reached by PID (\d+)/.exec(stderr)?.[1];
      if (pid) resolve(Number(pid));
    });
  });
  const exited = new Promise<number | null>((resolve) => first.on('exit', resolve));
  const pid = await paused;

  const bundle = join(tempDir(), 'other.keys');
  writeFileSync(bundle, createBundle({ master: randomBytes(32), hmac: randomBytes(32), retiredHmac: [] }, PASS.CAPSULE_KEYS_PASSPHRASE, Date.now()));
  const before = hashHomeFiles(home, { except: ['audit.log'] });
  for (const args of [['keys', 'rotate', '--master'], ['keys', 'rotate', '--hmac'], ['keys', 'import', '--in', bundle, '--force'], ['keys', 'remove-retired-master', '0123456789abcdef', '--yes']]) {
    const second = await runCli([...args, '--home', home], { env: PASS });
    assert.notEqual(second.code, 0, args.join(' '));
    assert.match(second.stderr, new RegExp(`another key command is running on this home \\(pid ${pid}\\); nothing was changed`), second.stderr);
  }
  assert.deepEqual(hashHomeFiles(home, { except: ['audit.log'] }), before, 'the refused commands changed nothing');

  const opened = await open(gate, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    assert.equal(await exited, 0, stderr);
  } finally {
    await opened.close();
  }
  assert.deepEqual(readdirSync(join(home, 'keys', 'retired-master')), [oldMaster]);
  assert.equal(existsSync(join(home, 'keys.lock')), false);
  assert.deepEqual(await readProtectedValues(home), EXPECTED_VALUES);
});

it('a lock left by a key command that died is taken over', async () => {
  const home = await initialisedHome();
  const dead = spawn('true');
  await new Promise((resolve) => dead.on('exit', resolve));
  writeFileSync(join(home, 'keys.lock'), `${dead.pid}\n`);
  const result = await runCli(['keys', 'rotate', '--hmac', '--home', home]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(existsSync(join(home, 'keys.lock')), false);
});
