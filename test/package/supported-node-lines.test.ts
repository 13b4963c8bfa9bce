import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

// semver comes with fastify (a runtime dependency), so it is always installed; it has no types of its own here.
const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};

interface LockedPackage {
  readonly engines?: { readonly node?: string } | readonly string[];
  readonly optional?: boolean;
}

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as { packages: Record<string, LockedPackage> };

/** The Node.js lines the README names as supported, each from the first release `engines` allows. */
const SUPPORTED_LINES = [20, 22, 24];

function firstAllowed(line: number): string {
  const lowest = semver.minVersion(manifest.engines.node)?.version ?? '0.0.0';
  return Number(lowest.split('.')[0]) === line ? lowest : `${line}.0.0`;
}

function nodeRange(pkg: LockedPackage): string | undefined {
  return Array.isArray(pkg.engines) ? undefined : (pkg.engines as { node?: string } | undefined)?.node;
}

test("package.json's engines allows every supported line and no line below the lowest", () => {
  for (const line of SUPPORTED_LINES) assert.ok(semver.satisfies(firstAllowed(line), manifest.engines.node), `engines.node ${manifest.engines.node} excludes Node.js ${line}`);
  assert.equal(semver.minVersion(manifest.engines.node)?.version.split('.')[0], String(SUPPORTED_LINES[0]));
});

test('no installed package that npm must install asks for a Node.js the supported lines lack (npm ci would warn EBADENGINE)', () => {
  const refused: string[] = [];
  for (const [path, pkg] of Object.entries(lock.packages)) {
    const range = nodeRange(pkg);
    if (path === '' || range === undefined) continue;
    // An optional package npm skips, without a warning, on a Node.js its engines excludes.
    const lines = pkg.optional === true ? SUPPORTED_LINES.filter((line) => line >= 22) : SUPPORTED_LINES;
    for (const line of lines) {
      if (!semver.satisfies(firstAllowed(line), range)) refused.push(`${path} (engines.node ${range}) on Node.js ${firstAllowed(line)}`);
    }
  }
  assert.deepEqual(refused, []);
});
