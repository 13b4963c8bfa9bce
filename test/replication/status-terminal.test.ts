import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openServices } from '../../src/instance/index.js';
import { ensureAgentState, updateAgentState } from '../../src/replication/agent-state.js';
import { runCliInProcess } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/homes.js';
import { fastHasher } from '../helpers/services.js';
import { systemClock } from '../../src/clock.js';

// A publish's answer is stored as the agent's last error and shown to the operator: it must not
// drive the operator's terminal (clear the screen, make a link, print lines of its own).
const HOSTILE =
  '\x1b[2J\x1b[Hscreen cleared \x1b]8;;https://evil.example/\x07a link\x1b]8;;\x07\nAGENT  STATE  QUEUED\np9     ok     0\r\u202eright to left\u009b31m\x7f';

it('replication status shows control characters of a last error escaped, and JSON keeps the text exact', async () => {
  const home = await initialisedHome();
  const added = await runCliInProcess(['replication', 'add-agent', 'p1', '--url', 'http://127.0.0.2:4503', '--transport-user', 'r', '--transport-password-stdin', '--home', home], { stdin: 'pw-correct-horse\n' });
  assert.equal(added.code, 0, added.stderr);
  const services = await openServices({ home, hasher: fastHasher, clock: systemClock });
  try {
    await ensureAgentState(services.repo, 'p1');
    await updateAgentState(services.repo, 'p1', () => ({ lastError: HOSTILE, blockedSince: new Date() }));
  } finally {
    await services.close();
  }

  const human = await runCliInProcess(['replication', 'status', '--home', home]);
  assert.equal(human.code, 0, human.stderr);
  assert.doesNotMatch(human.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/, 'no control character reaches the terminal');
  const lines = human.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, `a header and one row:\n${human.stdout}`);
  assert.ok(lines[1]!.endsWith(String.raw`\x1b[2J\x1b[Hscreen cleared \x1b]8;;https://evil.example/\x07a link\x1b]8;;\x07\x0aAGENT  STATE  QUEUED\x0ap9     ok     0\x0d\u202eright to left\x9b31m\x7f`), lines[1]);

  const json = await runCliInProcess(['replication', 'status', '--json', '--home', home]);
  assert.equal((JSON.parse(json.stdout) as Array<{ lastError: string }>)[0]!.lastError, HOSTILE);
});

it('an error message shows the control characters it quotes escaped, on one line', async () => {
  const home = await initialisedHome();
  const result = await runCliInProcess(['content', 'activate', '/content/x\x1b[2J\nRED: fake', '--home', home]);
  assert.equal(result.code, 2, result.stderr);
  assert.doesNotMatch(result.stderr, /[\x00-\x09\x0b-\x1f]/);
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /x\\x1b\[2J\\x0aRED: fake/);
});
