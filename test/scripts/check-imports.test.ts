import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkImports, reportLines } from '../../scripts/check-imports.js';
import { tempDir } from '../helpers/temp.js';

/** A src/ tree of the given files (path relative to src/ -> text). */
function sourceTree(files: Readonly<Record<string, string>>): string {
  const src = join(tempDir(), 'src');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), text);
  }
  return src;
}

const BROKEN = {
  'errors.ts': 'export class CapsuleError extends Error {}\n',
  // a circle of two files in one folder (allowed by the layers, refused as a circle)
  'users/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
  'users/b.ts': "import type { a } from './a.js';\nexport const b = 1; export type A = typeof a;\n",
  // a domain folder importing upwards, through a dynamic import
  'repository/store.ts': "import { CapsuleError } from '../errors.js';\nexport const load = () => import('../http/app.js');\nexport { CapsuleError };\n",
  'http/app.ts': "export { a } from '../users/a.js';\n",
  'content/missing.ts': "import { gone } from './gone.js';\nexport { gone };\n",
  'somewhere/new.ts': 'export const x = 1;\n',
};

describe('the import check (scripts/check-imports.ts)', () => {
  it('reports a circle, an upward import, a file that does not resolve and a folder outside the table', () => {
    const findings = checkImports(sourceTree(BROKEN));
    assert.deepEqual(findings.circles, [['src/users/a.ts', 'src/users/b.ts']]);
    assert.deepEqual(findings.violations, [
      'src/repository/store.ts -> src/http/app.ts (repository/ may not import http/)',
      'src/somewhere/new.ts is in no layer of the table (scripts/check-imports.ts)',
    ]);
    assert.deepEqual(findings.unresolved, ['src/content/missing.ts -> ./gone.js (no such file)']);
  });

  it('finds nothing in a tree whose imports point downward', () => {
    const findings = checkImports(
      sourceTree({
        'errors.ts': 'export const e = 1;\n',
        'users/a.ts': "import { e } from '../errors.js';\nexport const a = e;\n",
        'http/app.ts': "import { a } from '../users/a.js';\nexport const app = a;\n",
      }),
    );
    assert.deepEqual(reportLines(findings), []);
  });

  it('holds a unit with an ONLY list to it, where the list may name single files of another unit', () => {
    const findings = checkImports(
      sourceTree({
        'errors.ts': 'export const e = 1;\n',
        'crypto/keys.ts': 'export const k = 1;\n',
        'member/server.ts': 'export const s = 1;\n',
        // the shared contract may not reach a member's server code, so farm/ cannot reach it through it
        'member/protocol.ts': "import { k } from '../crypto/keys.js';\nexport { s } from './server.js';\nexport const p = k;\n",
        'instance/new-home.ts': 'export const home = 1;\n',
        'instance/instance.ts': 'export const start = 1;\n',
        'farm/init.ts': "import { home } from '../instance/new-home.js';\nimport { p } from '../member/protocol.js';\nexport const i = home + p;\n",
        'farm/start.ts': "export { start } from '../instance/instance.js';\n",
      }),
    );
    assert.deepEqual(findings.violations, [
      'src/farm/start.ts -> src/instance/instance.ts (farm/ may not import instance/)',
      'src/member/protocol.ts -> src/member/server.ts (member/protocol.ts may not import member/)',
    ]);
  });

  it('fails the command (exit 1) with one line per finding, and passes a clean tree', async () => {
    const run = promisify(execFile);
    const script = fileURLToPath(new URL('../../scripts/check-imports.ts', import.meta.url));
    const failed = await run(process.execPath, ['--import', 'tsx', script, sourceTree(BROKEN)]).then(
      () => assert.fail('the check passed a tree with a circle'),
      (error: { code: number; stdout: string }) => error,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /^circle of 2 files: src\/users\/a\.ts, src\/users\/b\.ts$/m);
    assert.match(failed.stdout, /^src\/repository\/store\.ts -> src\/http\/app\.ts \(repository\/ may not import http\/\)$/m);
    const passed = await run(process.execPath, ['--import', 'tsx', script, sourceTree({ 'errors.ts': 'export const e = 1;\n' })]);
    assert.match(passed.stdout, /no circle, no upward import/);
  });

  it("resolves every relative import of the project's own src/", () => {
    // Circles and layer findings on src/ are what `npm run check-imports` prints; here, only that the check reads the tree.
    const findings = checkImports(fileURLToPath(new URL('../../src', import.meta.url)));
    assert.deepEqual(findings.unresolved, []);
    assert.ok(findings.files > 100);
  });
});
