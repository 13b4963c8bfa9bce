import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { KEY_NODE } from './repository-keys.js';

/**
 * A PostgreSQL repository may be shared by several authors, and nothing in it says how many
 * there are (an author that is stopped leaves no trace): every key command treats it as shared.
 * On such a repository `/etc/key` is the cluster's copy of the keys, read by every author that
 * keeps its keys in the repository and by every new home that joins.
 */
export function isSharedRepository(repo: Repository): boolean {
  return repo.backend === 'postgres';
}

/**
 * Rotation writes one home's key files (staged, then current, then retired): on a shared
 * repository the other authors would keep the old keys while this one signs tokens and
 * re-encrypts values with the new ones. Refused before anything is written.
 */
export function refuseRotationOnSharedRepository(repo: Repository, operation: string): void {
  if (!isSharedRepository(repo)) return;
  throw new CapsuleError(
    'KEY_CONFLICT',
    `${operation} is refused on a repository shared by several authors (PostgreSQL): it would change the keys of this author only, and the others could no longer verify its tokens or decrypt the values it re-encrypts; nothing was changed; the authors keep working with the keys they share (${KEY_NODE}); see 'Author cluster on PostgreSQL' in the README`,
  );
}
