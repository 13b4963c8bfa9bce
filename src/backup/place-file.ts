import { closeSync, linkSync, openSync, renameSync, rmSync } from 'node:fs';

/** What link(2) says where a file system has no hard links (vfat, exFAT, SMB shares). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS']);

/**
 * Puts the complete file `from` at `to`, which must not exist: a hard link where the file system
 * has them, else an empty file created exclusively at `to` (so a file that appeared meanwhile is
 * refused, as link refuses it) and then replaced by `from`. Throws EEXIST if `to` exists.
 */
export function placeWithoutReplacing(from: string, to: string): void {
  try {
    linkSync(from, to);
    return;
  } catch (error) {
    if (!NO_HARD_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
  closeSync(openSync(to, 'wx', 0o600));
  try {
    renameSync(from, to);
  } catch (error) {
    rmSync(to, { force: true });
    throw error;
  }
}
