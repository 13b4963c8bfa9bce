import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { farmOutputIsPretty } from '../../src/cli/commands/farm.js';
import { prettyLogLine } from '../../src/cli/pretty-log-line.js';
import { startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/temp.js';

// `farm up` on a terminal: the members' pino lines as a person reads them.

describe('pretty log lines of farm members', () => {
  it('turns the JSON lines a real instance writes into time, level, member, message and fields', async () => {
    const instance = await startServerProcess({ home: join(tempDir(), 'home'), env: { CAPSULE_ADMIN_PASSWORD: 'admin-password-correct-horse' } });
    await instance.stop();
    const raw = instance
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    assert.ok(raw.length >= 3, instance.output());
    const pretty = raw.map((line) => prettyLogLine('publish-1', line));
    for (const [index, line] of pretty.entries()) {
      const entry = JSON.parse(raw[index]!) as { time: number; msg: string };
      assert.ok(line.startsWith(`${new Date(entry.time).toISOString().slice(11, 23)} `), line);
      assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} (INFO |WARN |ERROR|DEBUG) \[publish-1\] /);
      assert.ok(line.includes(`[publish-1] ${entry.msg}`), line);
      assert.doesNotMatch(line, /"level"|"hostname"|pid=|hostname=/, 'what every line has is left out');
    }
    const started = pretty.find((line) => line.includes('instance started'));
    assert.match(started ?? '', new RegExp(`^\\S+ INFO  \\[publish-1\\] instance started url=${instance.url.replace(/\./g, '\\.')} name=`));
  });

  it('shows a line that is not JSON (HAProxy’s) as it is, and escapes control characters a member logged', () => {
    assert.equal(prettyLogLine('haproxy', '[NOTICE]   (1) : Loading success.'), '[haproxy] [NOTICE]   (1) : Loading success.');
    assert.equal(prettyLogLine('author', '{not json'), '[author] {not json');
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 1, hostname: 'h', userId: 'eve\u001b[2J', reason: 'two words', count: 3, err: { message: 'boom', stack: 'at x' }, msg: 'login failed' });
    assert.equal(prettyLogLine('publish-2', line), '03:04:05.006 WARN  [publish-2] login failed userId=eve\\x1b[2J reason="two words" count=3 err="boom"');
  });

  it('farm up writes readable lines on a terminal and JSON lines to a pipe, unless --pretty or --json says otherwise', () => {
    assert.equal(farmOutputIsPretty({}, true), true);
    assert.equal(farmOutputIsPretty({}, false), false);
    assert.equal(farmOutputIsPretty({ json: true }, true), false);
    assert.equal(farmOutputIsPretty({ pretty: true }, false), true);
    assert.throws(() => farmOutputIsPretty({ json: true, pretty: true }, true), /give --json or --pretty, not both/);
  });
});
