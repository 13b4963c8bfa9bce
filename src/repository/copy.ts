import { CapsuleError } from '../errors.js';
import { failpoint } from '../support/failpoint.js';
import { encodeProperties } from './properties.js';
import type { Repository, RepositoryNode } from './types.js';

export interface CopyResult {
  readonly nodes: number;
  readonly counters: number;
}

/** A repository that holds nothing yet: its root (no properties) and no counters. */
export async function isEmptyRepository(repo: Repository): Promise<boolean> {
  const root = await repo.getNode('/');
  return ((await repo.info()).nodeCount ?? 0) <= 1 && Object.keys(root?.properties ?? {}).length === 0 && Object.keys(await repo.readCounters()).length === 0;
}

function sameNode(a: RepositoryNode, b: RepositoryNode | undefined): boolean {
  return (
    b !== undefined &&
    a.id === b.id &&
    a.path === b.path &&
    a.type === b.type &&
    a.created.getTime() === b.created.getTime() &&
    a.modified.getTime() === b.modified.getTime() &&
    encodeProperties(a.properties) === encodeProperties(b.properties)
  );
}

/**
 * Copies every node (ids, types, properties and times kept) and every counter of `source` into
 * the empty `target`, in one transaction of the target: interrupted, the target is left empty and
 * the copy can run again; the source is only read. Then reads both back and compares them.
 */
export async function copyRepository(
  source: Repository,
  target: Repository,
  options: { onProgress?: (done: number, total: number) => void } = {},
): Promise<CopyResult> {
  if (!(await isEmptyRepository(target))) {
    const { nodeCount, location } = await target.info();
    throw new CapsuleError('INVALID_ARGUMENT', `${location} is not empty (${nodeCount} nodes); copy into an empty database or a new file`);
  }
  // One read transaction of the source: nodes and counters of the same moment.
  const { nodes, counters } = await source.transaction(async (tx) => ({ nodes: await tx.getSubtree('/'), counters: await tx.readCounters() }));
  await target.transaction(async (tx) => {
    let done = 0;
    for (const node of nodes) {
      await tx.putNode(node);
      options.onProgress?.(++done, nodes.length);
      if (done === Math.ceil(nodes.length / 2)) failpoint('repository-copy:half-copied');
    }
    for (const [name, value] of Object.entries(counters)) await tx.setCounter(name, value);
  });

  const copied = new Map((await target.getSubtree('/')).map((node) => [node.id, node]));
  const different = nodes.filter((node) => !sameNode(node, copied.get(node.id)));
  const copiedCounters = await target.readCounters();
  if (copied.size !== nodes.length || different.length > 0 || JSON.stringify(copiedCounters) !== JSON.stringify(counters)) {
    throw new CapsuleError(
      'CHECK_FAILED',
      `the copy does not match its source (${nodes.length} nodes, ${copied.size} copied, ${different.length} different${different[0] ? `, first ${different[0].path}` : ''}); the home was not switched`,
    );
  }
  return { nodes: nodes.length, counters: Object.keys(counters).length };
}
