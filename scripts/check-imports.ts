/**
 * The import check (`npm run check-imports`, part of `npm test`): every relative import of
 * src/**\/*.ts names a file, no file reaches itself through imports (a circle), and no layer
 * imports a layer above it. Prints one line per finding and exits 1 on any, so a change that
 * brings a circle or an upward import back fails the tests.
 *
 * Imports are read with TypeScript's scanner (`ts.preProcessFile`): `import`, `import type`,
 * `export … from` and `import('…')` with a literal all count, since a type-only import still
 * ties the two files' meaning together.
 *
 * THE TABLE (`LAYERS`, from the bottom): a unit is a folder of src/ (`users/`, `auth/oidc/`) or
 * one file (`clock.ts`, `member/protocol.ts`); a file belongs to the longest unit that holds
 * it. A file may import
 *   - files of its own unit,
 *   - any unit of a layer below its own,
 *   - a unit of its own layer only where `SIDEWAYS` lists the pair,
 * unless `ONLY` gives its unit a shorter list: then that list alone (plus its own unit); such a
 * list may also name single files inside a unit (`instance/new-home.ts`).
 * A file in no unit of the table is a finding too: a new folder gets its place here first.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

export interface ImportRules {
  /** Layers from the bottom; each a list of units. */
  readonly layers: readonly (readonly string[])[];
  /** Same-layer imports that are allowed: `from` may import `to`. */
  readonly sideways: readonly { readonly from: string; readonly to: string }[];
  /** Units that may import these units (or single files of a unit) alone, besides their own, whatever lies below them. */
  readonly only: Readonly<Record<string, readonly string[]>>;
}

/** The foundation every layer may use. */
const FOUNDATION = ['errors.ts', 'clock.ts', 'log.ts'];

export const LAYERS: readonly (readonly string[])[] = [
  FOUNDATION,
  ['support/'], // atomic files, failpoints, PID locks: no domain knowledge
  ['repository/'], // the node store and its backends
  ['crypto/', 'users/'], // keys and protected values; users and groups: both on the node store
  ['config/', 'content/'], // configuration admin (protects secrets with crypto); the content tree
  ['farm-store/'], // state the farm's members share (failed logins, used assertions): PostgreSQL or the repository
  ['sessions/'], // one record per sign-in, and the revoked ids every member holds: on the farm store's database or the repository
  ['health/', 'auth/', 'replication/'], // the health registry; the token handler; outbox, agents, receiver
  ['auth/oidc/', 'auth/saml/', 'oauth/'], // external login handlers plug into auth's provisioning seam; OAuth clients register health checks
  ['member/protocol.ts'], // the farm's wire types and bodies, shared by both sides
  ['member/', 'console/'], // what an instance serves its farm's operators; the web console's pages
  ['http/'], // the Fastify app and its routes
  ['instance/'], // the composition root: builds every service, starts and stops the server
  ['backup/', 'farm/'], // backups of a home; the operator's side of a farm
  ['cli/'], // one command group per file
  ['index.ts'], // the library's face
];

export const SIDEWAYS: readonly { readonly from: string; readonly to: string }[] = [];

export const ONLY: Readonly<Record<string, readonly string[]>> = {
  // The operator's side reaches members over HTTP: it shares their wire types, never their server code.
  'farm/': [...FOUNDATION, 'support/', 'instance/new-home.ts', 'instance/new-home-keys.ts', 'instance/keys-request.ts', 'member/protocol.ts'],
  // The wire contract both sides share: were it to import a member's server code, farm/ would reach it one hop away.
  'member/protocol.ts': [...FOUNDATION, 'crypto/'],
};

export const RULES: ImportRules = { layers: LAYERS, sideways: SIDEWAYS, only: ONLY };

export interface ImportFindings {
  /** `src/a.ts -> ./b.js (no such file)` */
  readonly unresolved: readonly string[];
  /** Each circle's files, sorted. */
  readonly circles: readonly (readonly string[])[];
  /** `src/a/x.ts -> src/b/y.ts (a/ may not import b/)` */
  readonly violations: readonly string[];
  readonly files: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
    });
}

/** NodeNext spelling: `./x.js` names `./x.ts`. */
function resolveImport(from: string, specifier: string, known: ReadonlySet<string>): string | null {
  const target = resolve(dirname(from), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), target, `${target}.ts`, join(target, 'index.ts')]) {
    if (known.has(candidate)) return candidate;
  }
  return null;
}

/** The longest unit holding `path` (relative to src/, with `/`); null when the table has none. */
function unitOf(path: string, units: readonly string[]): string | null {
  let best: string | null = null;
  for (const unit of units) {
    const holds = unit.endsWith('/') ? path.startsWith(unit) : path === unit;
    if (holds && (best === null || unit.length > best.length)) best = unit;
  }
  return best;
}

/** `target` is the imported file, relative to src/: an `ONLY` list may name it alone. */
function mayImport(from: string, to: string, target: string, rules: ImportRules, layerOf: ReadonlyMap<string, number>): boolean {
  if (from === to) return true;
  const only = rules.only[from];
  if (only) return only.includes(to) || only.includes(target);
  const fromLayer = layerOf.get(from)!;
  const toLayer = layerOf.get(to)!;
  if (toLayer < fromLayer) return true;
  return toLayer === fromLayer && rules.sideways.some((pair) => pair.from === from && pair.to === to);
}

/** Tarjan's strongly connected components: each with more than one file (or a file importing itself) is a circle. */
function circlesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  function visit(file: string): void {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) circles.push(component.sort());
    }
  }
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return circles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Checks the TypeScript files under `srcDir`; paths in the findings are relative to `srcDir`'s parent (`src/…`). */
export function checkImports(srcDir: string, rules: ImportRules = RULES): ImportFindings {
  const root = resolve(srcDir);
  const shown = (file: string) => relative(dirname(root), file).split(sep).join('/');
  const inSrc = (file: string) => relative(root, file).split(sep).join('/');
  const files = sourceFiles(root);
  const known = new Set(files);
  const units = rules.layers.flat();
  const layerOf = new Map(rules.layers.flatMap((layer, at) => layer.map((unit) => [unit, at] as const)));
  const unresolved: string[] = [];
  const violations: string[] = [];
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets: string[] = [];
    graph.set(file, targets);
    const from = unitOf(inSrc(file), units);
    if (from === null) violations.push(`${shown(file)} is in no layer of the table (scripts/check-imports.ts)`);
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue; // a package or node: built-in
      const target = resolveImport(file, fileName, known);
      if (target === null) {
        unresolved.push(`${shown(file)} -> ${fileName} (no such file)`);
        continue;
      }
      if (!targets.includes(target)) targets.push(target);
      const to = unitOf(inSrc(target), units);
      if (from !== null && to !== null && !mayImport(from, to, inSrc(target), rules, layerOf)) {
        violations.push(`${shown(file)} -> ${shown(target)} (${from} may not import ${to})`);
      }
    }
  }
  return { unresolved, circles: circlesOf(graph).map((circle) => circle.map(shown)), violations, files: files.length };
}

/** The findings as the lines `npm run check-imports` prints; none when all holds. */
export function reportLines(findings: ImportFindings): string[] {
  return [
    ...findings.unresolved,
    ...findings.circles.map((circle) => `circle of ${circle.length} files: ${circle.join(', ')}`),
    ...findings.violations,
  ];
}

function main(argv: readonly string[]): number {
  const srcDir = argv[0] ?? 'src';
  const findings = checkImports(srcDir);
  const lines = reportLines(findings);
  for (const line of lines) console.log(line);
  if (lines.length > 0) {
    console.error(`import check: ${lines.length} finding${lines.length === 1 ? '' : 's'} in ${findings.files} files; the layers are in scripts/check-imports.ts`);
    return 1;
  }
  console.log(`import check: ${findings.files} files, no circle, no upward import`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
