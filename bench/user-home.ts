// A home with many users, made fast: user nodes written straight through the repository
// (`putNodes`) in big transactions, every user with the same argon2id hash (hashing a million
// passwords would take hours), ids `user-0000001`… in path order. What `UserManager.createUser`
// writes, minus the outbox (nothing replicates here) and the password policy (one known password).
import { randomUUID } from 'node:crypto';
import type { Properties, Repository, StoredNode } from '../src/repository/index.js';
import { authorizablePath } from '../src/users/ids.js';
import { MEMBERSHIP_TYPE, membershipPath } from '../src/users/memberships.js';
import { PROVIDER_USER, providerUserKey } from '../src/users/provider-users.js';
import { GROUP_TYPE, GROUPS_ROOT, USER_TYPE, USERS_COUNTER, USERS_ROOT } from '../src/users/types.js';

export const BENCH_PASSWORD = 'million-users-bench-password';
/** Users with `i % 100 === 7` are members of this group, so the group filter finds 1% of them. */
export const BENCH_GROUP = 'bench-editors';
/** Users with `i % 100 === 42` were provisioned by this (OpenID Connect) provider. */
export const BENCH_PROVIDER = 'bench-oidc';
const BATCH = 100_000;
const PUT_BATCH = 10_000;

export function benchUserId(i: number): string {
  return `user-${String(i).padStart(7, '0')}`;
}

/**
 * Writes users 1..`count` (and the group), `BATCH` per transaction, then bumps the users counter
 * so that running instances drop their caches. Node ids begin with a counter, so the id index is
 * appended to, as the path indexes are; `passwordHash` is an encoded argon2id hash of BENCH_PASSWORD.
 */
export async function writeBenchUsers(repo: Repository, count: number, passwordHash: string): Promise<void> {
  const now = new Date();
  let sequence = 0;
  const nodeId = () => (sequence++).toString(16).padStart(8, '0') + randomUUID().slice(8);
  const groupPath = authorizablePath(GROUPS_ROOT, BENCH_GROUP);
  await repo.transaction(async (tx) => {
    if (!(await tx.getNode(groupPath))) await tx.addNode(groupPath, { type: GROUP_TYPE, properties: { groupId: BENCH_GROUP } });
    const folder = authorizablePath(USERS_ROOT, benchUserId(0)).replace(/\/[^/]+$/, '');
    if (!(await tx.getNode(folder))) await tx.addNode(folder);
  });
  for (let first = 1; first <= count; first += BATCH) {
    const last = Math.min(count, first + BATCH - 1);
    await repo.transaction(async (tx) => {
      let nodes: StoredNode[] = [];
      for (let i = first; i <= last; i++) {
        const userId = benchUserId(i);
        const external: Properties = i % 100 === 42 ? { externalProvider: BENCH_PROVIDER, externalSubject: `subject-${i}`, externalGroups: [], [PROVIDER_USER]: providerUserKey(BENCH_PROVIDER, userId) } : {};
        nodes.push({
          id: nodeId(),
          path: authorizablePath(USERS_ROOT, userId),
          type: USER_TYPE,
          properties: { userId, passwordHash, disabled: false, generation: 0, ...external },
          created: now,
          modified: now,
        });
        if (i % 100 === 7) {
          nodes.push({
            id: nodeId(),
            path: membershipPath(groupPath, userId),
            type: MEMBERSHIP_TYPE,
            properties: { member: userId, group: BENCH_GROUP },
            created: now,
            modified: now,
          });
        }
        // Many nodes per statement on PostgreSQL (one by one, 100,000 users took over 12 minutes).
        if (nodes.length >= PUT_BATCH || i === last) {
          await tx.putNodes(nodes);
          nodes = [];
        }
      }
    });
  }
  await repo.transaction(async (tx) => void (await tx.bumpCounter(USERS_COUNTER)));
}
