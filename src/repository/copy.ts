import { CapsuleError } from '../errors.js';
import { failpoint } from '../support/failpoint.js';
import { encodeProperties } from './properties.js';
import type { Repository, RepositoryNode, RepositoryReader, RepositoryWriter } from './types.js';

export interface CopyResult {
  readonly nodes: number;
  readonly counters: number;
}

/** Nodes read, written and compared per step: the memory a copy takes stays flat however large the home. */
const PAGE = 1000;

/** A repository that holds nothing yet: its root (no properties) and no counters. */
export async function isEmptyRepository(repo: Repository): Promise<boolean> {
  const root = await repo.getNode('/');
  return ((await repo.info()).nodeCount ?? 0) <= 1 && Object.keys(root?.properties ?? {}).length === 0 && Object.keys(await repo.readCounters()).length === 0;
}

function sameNode(a: RepositoryNode, b: RepositoryNode): boolean {
  return (
    a.id === b.id &&
    a.path === b.path &&
    a.type === b.type &&
    a.created.getTime() === b.created.getTime() &&
    a.modified.getTime() === b.modified.getTime() &&
    encodeProperties(a.properties) === encodeProperties(b.properties)
  );
}

/** Whether a repository (or an open transaction of it) holds nothing yet: its root without properties, no counters. */
async function holdsNothing(reader: RepositoryWriter): Promise<boolean> {
  const first = await reader.getNodesAfter('', 2);
  return first.length <= 1 && Object.keys(first[0]?.properties ?? {}).length === 0 && Object.keys(await reader.readCounters()).length === 0;
}

/** Every node of `reader` in path order, read a page at a time. */
async function* allNodes(reader: RepositoryReader): AsyncGenerator<RepositoryNode, void> {
  for (let after = ''; ; ) {
    const page = await reader.getNodesAfter(after, PAGE);
    yield* page;
    if (page.length < PAGE) return;
    after = page.at(-1)!.path;
  }
}

/** The repositories' order of paths (UTF-8 bytes), which is not JavaScript's past U+FFFF. */
const pathOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

interface Comparison {
  readonly sourceNodes: number;
  readonly copiedNodes: number;
  /** Source nodes missing from the copy or different there. */
  readonly different: number;
  readonly firstDifferent?: string;
}

/** Walks both repositories side by side in path order. */
async function compareNodes(source: RepositoryReader, copy: RepositoryReader): Promise<Comparison> {
  const expected = allNodes(source);
  const actual = allNodes(copy);
  let [a, b] = await Promise.all([expected.next(), actual.next()]);
  let sourceNodes = 0;
  let copiedNodes = 0;
  let different = 0;
  let firstDifferent: string | undefined;
  while (!a.done || !b.done) {
    const order = a.done ? 1 : b.done ? -1 : pathOrder(a.value.path, b.value.path);
    if (order <= 0) sourceNodes++;
    if (order >= 0) copiedNodes++;
    if (order !== 0 || !sameNode(a.value as RepositoryNode, b.value as RepositoryNode)) {
      if (order <= 0) different++;
      firstDifferent ??= (order <= 0 ? a.value : b.value)!.path;
    }
    if (order <= 0) a = await expected.next();
    if (order >= 0) b = await actual.next();
  }
  return { sourceNodes, copiedNodes, different, ...(firstDifferent === undefined ? {} : { firstDifferent }) };
}

/**
 * Copies every node (ids, types, properties and times kept) and every counter of `source` into
 * the empty `target`, then reads both back and compares them. The source is only read, in one
 * transaction (nodes and counters of one moment), a page at a time; the target is written in
 * batches of many nodes per statement (`putNodes`), so that no statement runs long however large
 * the home, but all in ONE transaction of the target, which also checks that the target is still
 * empty (two copies into one database at once: the second is refused, it never overwrites the
 * first) and compares the copy with its source before it commits: interrupted (killed, the server
 * gone) or different, the copy leaves the target empty, and it can run again.
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
  // For the progress shown and the check: the home is stopped, so it is the count the copy reads.
  const total = (await source.info()).nodeCount ?? 0;
  // The source's transaction inside the target's: a target transaction that runs again reads again.
  const { sourceNodes, counters } = await target.transaction((write) =>
    source.transaction(async (read) => {
      // Checked again where it counts: another copy may have filled the target since the look above.
      if (!(await holdsNothing(write))) throw new CapsuleError('INVALID_ARGUMENT', `${(await target.info({ countNodes: false })).location} is no longer empty: another copy or instance wrote to it meanwhile; nothing was copied`);
      let done = 0;
      let halfPassed = false;
      for (let after = ''; ; ) {
        const page = await read.getNodesAfter(after, PAGE);
        if (page.length === 0) break;
        await write.putNodes(page);
        done += page.length;
        after = page.at(-1)!.path;
        options.onProgress?.(done, total);
        if (!halfPassed && done >= Math.ceil(total / 2)) {
          halfPassed = true;
          failpoint('repository-copy:half-copied');
        }
      }
      const counters = await read.readCounters();
      for (const [name, value] of Object.entries(counters)) await write.setCounter(name, value);
      // Compared before the commit: a copy that differs is rolled back, never left behind.
      const { sourceNodes, copiedNodes, different, firstDifferent } = await compareNodes(read, write);
      const copiedCounters = await write.readCounters();
      // A node a walk in path order cannot reach (a damaged source: a row without a proper path)
      // would be missed by the copy and its check alike; the source's own count tells.
      if (sourceNodes !== total) {
        throw new CapsuleError('CHECK_FAILED', `the source holds ${total} nodes, but ${sourceNodes} can be read in path order (a damaged repository?); nothing was copied and the home was not switched`);
      }
      if (different > 0 || copiedNodes !== sourceNodes || JSON.stringify(copiedCounters) !== JSON.stringify(counters)) {
        throw new CapsuleError(
          'CHECK_FAILED',
          `the copy does not match its source (${sourceNodes} nodes, ${copiedNodes} copied, ${different} different${firstDifferent ? `, first ${firstDifferent}` : ''}); nothing was copied and the home was not switched`,
        );
      }
      return { sourceNodes, counters };
    }),
  );
  return { nodes: sourceNodes, counters: Object.keys(counters).length };
}
