import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { exitCodeOf } from '../../src/cli/exit-codes.js';
import type { CliIO } from '../../src/cli/io.js';
import { buildProgram, run } from '../../src/cli/program.js';
import { runCli } from '../helpers/cli.js';

function capturingIO(): CliIO & { output(): string } {
  let output = '';
  return {
    out: (text) => void (output += text),
    err: (text) => void (output += text),
    readStdin: () => Promise.resolve(''),
    env: { CAPSULE_HOME: '' },
    stdinIsTTY: false,
    output: () => output,
  };
}

function commandPaths(command: Command, path: readonly string[] = []): string[][] {
  return command.commands.flatMap((sub) => [[...path, sub.name()], ...commandPaths(sub, [...path, sub.name()])]);
}

describe('--help', () => {
  it('an unknown or misspelled command with --help is refused with a suggestion and the usage exit code, not answered with the help of another', async () => {
    for (const [args, message] of [
      [['sam1', '--help'], "capsule: unknown command 'sam1' (Did you mean saml?); see --help\n"],
      [['saml', 'ad', '--help'], "capsule: unknown command 'ad' (Did you mean add?); see --help\n"],
      [['sam1', '-h'], "capsule: unknown command 'sam1' (Did you mean saml?); see --help\n"],
    ] as const) {
      const result = await runCli(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stderr, message);
      assert.equal(result.stdout, '');
    }
  });

  it("every real command's --help prints its own usage and exits 0", async () => {
    const paths = commandPaths(buildProgram(capturingIO()));
    assert.ok(paths.length > 50, `only ${paths.length} commands found`);
    for (const path of [[], ...paths]) {
      const io = capturingIO();
      const error = await run([...path, '--help'], io).then(
        () => assert.fail(`${path.join(' ')} --help ran the command`),
        (thrown: unknown) => thrown,
      );
      assert.equal(exitCodeOf(error), 0, `capsule ${path.join(' ')} --help: ${String(error)}`);
      assert.ok(io.output().startsWith(`Usage: ${['capsule', ...path].join(' ')} `), io.output());
    }
  });
});
