/**
 * Tells each `onCommit` listener what a committed transaction bumped. A listener that throws
 * cannot undo the commit: its error is reported as a process warning, the others are still told,
 * and the transaction is still reported committed.
 */
export function tellCommitListeners(listeners: Iterable<(bumped: ReadonlySet<string>) => void>, bumped: ReadonlySet<string>): void {
  for (const listener of listeners) {
    try {
      listener(bumped);
    } catch (error) {
      process.emitWarning(`a commit listener failed (the transaction committed): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
