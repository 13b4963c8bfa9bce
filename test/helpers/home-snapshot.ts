import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** SHA-256 of every file under `home`, by path relative to it: two equal snapshots mean nothing changed. */
export function snapshotHome(home: string, options: { except?: readonly string[] } = {}): Record<string, string> {
  const snapshot: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = relative(home, path);
      if (options.except?.includes(name)) continue;
      if (entry.isDirectory()) visit(path);
      else snapshot[name] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  visit(home);
  return snapshot;
}
