import { mkdtempSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CapsuleError } from '../errors.js';

/**
 * A hidden folder (mode 0700) beside `target`, on its file system, where a backup or a restore
 * assembles its result before one link or rename puts it in place.
 */
export function makeWorkFolder(target: string, suffix: string): string {
  try {
    return mkdtempSync(join(dirname(target), `.${basename(target)}.${suffix}`));
  } catch (error) {
    throw new CapsuleError('INVALID_ARGUMENT', `cannot write in ${dirname(target)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose a folder this user may write to`);
  }
}
