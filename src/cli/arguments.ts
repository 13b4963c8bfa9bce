import { CapsuleError } from '../errors.js';
import type { CliIO } from './io.js';

export function parsePort(text: string, source: string): number {
  const port = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CapsuleError('INVALID_ARGUMENT', `invalid port '${text}' (${source}): use a whole number from 1 to 65535`);
  }
  return port;
}

/** `key=value` pairs from a command line. */
export function parseAssignments(pairs: readonly string[]): Record<string, string> {
  if (pairs.length === 0) throw new CapsuleError('INVALID_ARGUMENT', 'give at least one key=value');
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new CapsuleError('INVALID_ARGUMENT', `'${pair}' is not key=value`);
    result[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return result;
}

/** A password from standard input, without the line break that `echo` or a here-string adds. */
export async function readPasswordFromStdin(io: CliIO, given: boolean | undefined): Promise<string> {
  if (!given) {
    throw new CapsuleError('INVALID_ARGUMENT', 'pass the password on standard input with --password-stdin (never as an argument)');
  }
  const password = (await io.readStdin()).replace(/\r?\n$/, '');
  if (password.length === 0) throw new CapsuleError('INVALID_ARGUMENT', 'standard input held no password');
  return password;
}
