import type { Command } from 'commander';
import { resolveHome } from '../instance/home.js';
import { assertHomeReadable } from '../instance/home-lock.js';
import type { CliIO } from './io.js';

/** Before any command on a home: a home this user cannot read is said to be so, in one line. */
export function installHomeAccessCheck(program: Command, io: CliIO): void {
  program.hook('preAction', (_root, action) => {
    if (!action.options.some((option) => option.long === '--home')) return;
    const home = (action.opts() as { home?: unknown }).home;
    assertHomeReadable(resolveHome(typeof home === 'string' ? home : undefined, io.env));
  });
}
