import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

function hidden(folder: string): string[] {
  return readdirSync(folder).filter((name) => name.startsWith('.'));
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(args, { env: { ...PASS, ...env } });
}

let shared: Promise<string> | undefined;
const sharedHome = () => (shared ??= initialisedHome());

describe('what a killed backup or restore leaves', () => {
  for (const point of ['backup:snapshot-taken', 'backup:archive-written']) {
    it(`a backup killed at ${point} leaves a work folder with the repository in it, which the next backup to that file removes`, async () => {
      const home = await sharedHome();
      const folder = tempDir();
      const out = join(folder, 'home.backup');
      const killed = await cli(['backup', '--home', home, '--out', out], { CAPSULE_FAILPOINT: point });
      assert.equal(killed.code, null, 'killed');
      const [left] = hidden(folder);
      assert.match(left ?? '', /^\.home\.backup\.[A-Za-z0-9]{6}$/);
      assert.ok(existsSync(join(folder, left!, 'repository.sqlite')));
      // A work folder of a backup still running (this test's process stands for it) is left alone.
      const running = join(folder, '.home.backup.RUNNIN');
      mkdirSync(running);
      writeFileSync(join(running, 'owner'), `${process.pid} ${hostname()}\n`);
      // So is one for another output file.
      const other = join(folder, '.other.backup.Abc123');
      mkdirSync(other);
      writeFileSync(join(other, 'owner'), `999999999 ${hostname()}\n`);

      const again = await cli(['backup', '--home', home, '--out', out]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(hidden(folder).sort(), ['.home.backup.RUNNIN', '.other.backup.Abc123']);
    });
  }

  it('a restore killed before the new home is in place leaves a work folder with the keys in it, which the next restore of that home removes', async () => {
    const home = await sharedHome();
    const out = join(tempDir(), 'home.backup');
    assert.equal((await cli(['backup', '--home', home, '--out', out])).code, 0);
    const parent = tempDir();
    const target = join(parent, 'restored');
    const killed = await cli(['restore', '--in', out, '--home', target], { CAPSULE_FAILPOINT: 'restore:home-staged' });
    assert.equal(killed.code, null, 'killed');
    assert.ok(!existsSync(target));
    const [left] = hidden(parent);
    assert.match(left ?? '', /^\.restored\.restore-[A-Za-z0-9]{6}$/);
    assert.ok(existsSync(join(parent, left!, 'home', 'keys', 'master')));

    const again = await cli(['restore', '--in', out, '--home', target]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(readdirSync(parent), ['restored']);
  });
});
