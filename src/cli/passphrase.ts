import { CapsuleError } from '../errors.js';
import type { CliIO } from './io.js';

export const MIN_PASSPHRASE_LENGTH = 12;

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    // Echo off before the question shows: what is typed at once is not echoed either.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.resume();
    let answer = '';
    const finish = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new CapsuleError('INVALID_ARGUMENT', 'cancelled'));
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    stdin.on('data', onData);
  });
}

/** `CAPSULE_KEYS_PASSPHRASE`, else a prompt on the terminal (twice when `confirm`). */
export async function readPassphrase(io: CliIO, options: { confirm: boolean }): Promise<string> {
  let passphrase = io.env.CAPSULE_KEYS_PASSPHRASE;
  if (passphrase === undefined || passphrase === '') {
    if (!io.stdinIsTTY) {
      throw new CapsuleError('INVALID_ARGUMENT', 'no passphrase: set CAPSULE_KEYS_PASSPHRASE, or run the command in a terminal to be asked');
    }
    passphrase = await promptHidden('Key bundle passphrase: ');
    if (options.confirm && (await promptHidden('Again: ')) !== passphrase) {
      throw new CapsuleError('INVALID_ARGUMENT', 'the two passphrases differ; nothing was written');
    }
  }
  if (options.confirm && passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new CapsuleError('INVALID_ARGUMENT', `the passphrase is shorter than ${MIN_PASSPHRASE_LENGTH} characters; choose a longer one`);
  }
  return passphrase;
}

/**
 * A user's password for `--password-stdin`: standard input when it is a pipe or a file (the
 * trailing line break dropped); at a terminal a prompt that does not echo, asked twice.
 */
export async function readPassword(io: CliIO, given: boolean | undefined): Promise<string> {
  if (!given) throw new CapsuleError('INVALID_ARGUMENT', 'pass the password on standard input with --password-stdin (never as an argument)');
  let password: string;
  if (io.stdinIsTTY) {
    password = await promptHidden('Password: ');
    if ((await promptHidden('Again: ')) !== password) throw new CapsuleError('INVALID_ARGUMENT', 'the two passwords differ; nothing was changed');
  } else {
    password = (await io.readStdin()).replace(/\r?\n$/, '');
  }
  if (password.length === 0) throw new CapsuleError('INVALID_ARGUMENT', io.stdinIsTTY ? 'no password was typed' : 'standard input held no password');
  return password;
}
