import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKERFILE = join(ROOT, 'deploy', 'Dockerfile');
const UNIT = join(ROOT, 'deploy', 'capsule.service');

function installed(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** Every CAPSULE_* variable that Capsule's code reads from an environment (test hooks aside). */
function variablesRead(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      for (const name of variablesRead(path)) found.add(name);
    } else if (path.endsWith('.ts') && !path.endsWith(join('support', 'failpoint.ts'))) {
      // failpoint.ts reads the crash and pause points of the tests, which are not for operators.
      for (const match of readFileSync(path, 'utf8').matchAll(/env\.(CAPSULE_[A-Z_]+)/g)) found.add(match[1]!);
    }
  }
  return found;
}

describe('deployment files', () => {
  it('systemd unit: passes systemd-analyze verify, runs capsule start as its own user with the home in the state directory', (t) => {
    const unit = readFileSync(UNIT, 'utf8');
    assert.match(unit, /^ExecStart=\S*node \S*\/bin\/capsule start\b/m);
    assert.match(unit, /^User=capsule$/m);
    assert.match(unit, /^Environment=CAPSULE_HOME=\/var\/lib\/capsule$/m);
    assert.match(unit, /^StateDirectory=capsule$/m);
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m, 'reload is SIGHUP: the keys are reloaded');
    if (!installed('systemd-analyze')) {
      t.skip('systemd-analyze is not installed here (not installed on purpose)');
      return;
    }
    const verify = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '', 'no warning either');
  });

  it('Dockerfile: Node 22 slim, a non-root user, the home as a volume, a HEALTHCHECK on ready; hadolint-clean where hadolint exists', (t) => {
    const dockerfile = readFileSync(DOCKERFILE, 'utf8');
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    assert.ok(stages.length > 0 && stages.every((image) => image === 'node:22-slim'), `base images: ${stages.join(', ')}`);
    const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((match) => match[1]!);
    assert.ok(users.length > 0 && !/^(root|0)(:|$)/.test(users.at(-1)!), `the image runs as ${users.at(-1)}`);
    assert.match(dockerfile, /^ENV [\s\S]*CAPSULE_HOME=\/var\/lib\/capsule/m);
    assert.match(dockerfile, /^VOLUME \["\/var\/lib\/capsule"\]$/m);
    assert.match(dockerfile, /^HEALTHCHECK [\s\S]*\/system\/health\/ready/m);
    if (!installed('hadolint')) {
      t.skip('hadolint is not installed here (not installed on purpose)');
      return;
    }
    const lint = spawnSync('hadolint', [DOCKERFILE], { encoding: 'utf8' });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  });

  it("the README's table names every CAPSULE_ variable the code reads, with its flag", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('### Environment variables'), readme.indexOf('### Deploying'));
    assert.ok(table.length > 0, 'the README has the section');
    const rows = table.split('\n').filter((line) => line.startsWith('| `CAPSULE_'));
    const documented = new Set(rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`(CAPSULE_[A-Z_]+)`/g)].map((match) => match[1]!)));
    const read = [...variablesRead(join(ROOT, 'src'))];
    assert.deepEqual(read.filter((name) => !documented.has(name)).sort(), [], 'variables the code reads but the table lacks');
    for (const row of rows) assert.equal(row.split('|').length, 6, `a row with variable, flag, command and meaning: ${row}`);
    assert.match(readme, /\(deploy\/Dockerfile\)/);
    assert.match(readme, /\(deploy\/capsule\.service\)/);
  });
});
