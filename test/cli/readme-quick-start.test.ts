import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function quickStartCommands(): string[] {
  const section = readme.slice(readme.indexOf('\n## Quick start\n'), readme.indexOf('\n## ', readme.indexOf('\n## Quick start\n') + 1));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
  return blocks.flatMap((block) => block.split('\n')).map((line) => line.replace(/#.*$/, '').trim()).filter((line) => line !== '');
}

test("the quick start's commands work pasted: capsule through npx, and each names a real command", () => {
  const commands = quickStartCommands();
  assert.ok(commands.includes('npm ci'), commands.join('\n'));
  const capsule = commands.filter((line) => /\bcapsule\b/.test(line) && !line.includes('capsule-home'));
  assert.ok(capsule.length >= 2, commands.join('\n'));
  const program = buildProgram({ out: () => undefined, err: () => undefined, readStdin: () => Promise.resolve(''), env: {}, stdinIsTTY: false });
  for (const line of capsule) {
    assert.match(line, /^npx capsule /, `${line}: not on PATH after npm ci`);
    let command: Command = program;
    for (const word of line.split(/\s+/).slice(2)) {
      if (word.startsWith('-')) break;
      const next = command.commands.find((sub) => sub.name() === word);
      assert.ok(next, `${line}: no command ${word}`);
      command = next;
    }
    assert.equal(command.commands.length, 0, `${line} names a group, not a command`);
  }
});
