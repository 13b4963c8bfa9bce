import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { CONFIG_COUNTER } from '../../config/index.js';
import {
  bundleKeysOf,
  createBundle,
  describeKey,
  diagnoseKeys,
  importKeys,
  loadKeySet,
  migrateKeys,
  openBundle,
  planHmacRotation,
  planMasterRotation,
  readBundleHeader,
  removeRetiredMaster,
  rotateHmacKey,
  rotateMasterKey,
  type DoctorReport,
  type Finding,
  type KeyStorageMode,
} from '../../crypto/index.js';
import { systemClock } from '../../clock.js';
import { CapsuleError } from '../../errors.js';
import type { Repository } from '../../repository/index.js';
import { homeHasRepository, homeLayout, resolveHome } from '../../instance/home.js';
import { writeFileAtomic } from '../../support/atomic-file.js';
import { CheckFailed } from '../check-failed.js';
import { printJson, type CliIO } from '../io.js';
import { readPassphrase } from '../passphrase.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

function report(io: CliIO, options: JsonOption, text: string, json: object): void {
  if (options.json) printJson(io, json);
  else io.out(text);
}

async function readInput(io: CliIO): Promise<string> {
  return (await io.readStdin()).replace(/\r?\n$/, '');
}

/**
 * A home's keys for reading, also before its first start (keys just imported into a new home of a
 * farm): key files need no repository. Keys kept in the repository do, and say so.
 */
async function readKeys(options: HomeOptions, io: CliIO) {
  const home = homeLayout(resolveHome(options.home, io.env));
  if (homeHasRepository(home)) return withHome(options, io, (s) => loadKeySet(s.home.keysDir, s.repo));
  const noRepository = new Proxy({} as Repository, {
    get() {
      throw new CapsuleError('HOME_UNREADABLE', `${home.root} has no repository yet, and its keys are kept there; start an instance on it first`);
    },
  });
  return loadKeySet(home.keysDir, noRepository);
}

export async function keysFingerprint(options: Options, io: CliIO) {
  const keys = await readKeys(options, io);
  const result = {
    storage: keys.storage,
    master: describeKey(keys.master),
    hmac: describeKey(keys.hmac),
    stagedMaster: keys.stagedMaster ? describeKey(keys.stagedMaster) : null,
    retiredMaster: (keys.retiredMaster ?? []).map((retired) => ({ ...describeKey(retired.key), retiredAt: new Date(retired.retiredAt).toISOString() })),
    stagedHmac: keys.stagedHmac ? describeKey(keys.stagedHmac) : null,
    retiredHmac: keys.retiredHmac.map((retired) => ({ ...describeKey(retired.key), retiredAt: new Date(retired.retiredAt).toISOString() })),
  };
  if (options.json) return printJson(io, result);
  const lines = [
    `storage  ${result.storage}`,
    `master   ${result.master.id}  sha256 ${result.master.sha256}`,
    `hmac     ${result.hmac.id}  sha256 ${result.hmac.sha256}`,
    ...(result.stagedMaster ? [`staged master ${result.stagedMaster.id}  (rotation in progress)`] : []),
    ...(result.stagedHmac ? [`staged hmac   ${result.stagedHmac.id}  (verifies, does not sign)`] : []),
    ...result.retiredMaster.map((retired) => `retired master ${retired.id}  since ${retired.retiredAt}  (decrypts values and backups written with it)`),
    ...result.retiredHmac.map((retired) => `retired hmac ${retired.id}  since ${retired.retiredAt}`),
  ];
  io.out(lines.join('\n'));
}

export async function keysProtect(options: HomeOptions, io: CliIO) {
  const plain = await readInput(io);
  if (plain.length === 0) throw new CapsuleError('INVALID_ARGUMENT', 'standard input was empty; pipe the value to protect');
  io.out(await withHome(options, io, async (s) => s.crypto.protect(plain)));
}

export async function keysUnprotect(options: HomeOptions, io: CliIO) {
  const value = (await readInput(io)).trim();
  io.out(await withHome(options, io, async (s) => s.crypto.unprotect(value)));
}

export async function keysMigrate(options: Options & { to?: string; cluster?: boolean; dryRun?: boolean }, io: CliIO) {
  const to = (options.to ?? 'file') as KeyStorageMode;
  if (to !== 'file' && to !== 'repository') {
    throw new CapsuleError('INVALID_ARGUMENT', `--to '${options.to}' is neither 'file' nor 'repository'`);
  }
  const result = await withHome(options, io, (s) => migrateKeys(s.home, s.repo, to, { cluster: options.cluster, dryRun: options.dryRun }));
  report(io, options, result.message, result);
}

export async function keysExport(options: Options & { out?: string }, io: CliIO) {
  if (!options.out) throw new CapsuleError('INVALID_ARGUMENT', 'name the bundle file with --out FILE');
  if (existsSync(options.out)) throw new CapsuleError('INVALID_ARGUMENT', `${options.out} exists; choose another name (an export never overwrites)`);
  const folder = dirname(resolve(options.out));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new CapsuleError('INVALID_ARGUMENT', `the folder ${folder} does not exist; create it first (an export makes no folders, so a typo cannot scatter keys)`);
  }
  const keys = await withHome(options, io, (s) => loadKeySet(s.home.keysDir, s.repo));
  const passphrase = await readPassphrase(io, { confirm: true });
  const bundle = createBundle(bundleKeysOf(keys), passphrase, systemClock.now());
  writeFileAtomic(options.out, bundle, 0o600);
  const { fingerprints } = readBundleHeader(bundle);
  const retiredMasters = fingerprints.retiredMaster?.length ?? 0;
  report(
    io,
    options,
    `wrote ${options.out} (mode 0600): master ${fingerprints.master.id} sha256 ${fingerprints.master.sha256}, hmac ${fingerprints.hmac.id} sha256 ${fingerprints.hmac.sha256}${retiredMasters ? `, ${retiredMasters} retired master key${retiredMasters === 1 ? '' : 's'}` : ''}`,
    { file: options.out, fingerprints },
  );
}

export async function keysImport(options: Options & { in?: string; force?: boolean; dryRun?: boolean }, io: CliIO) {
  if (!options.in) throw new CapsuleError('INVALID_ARGUMENT', 'name the bundle file with --in FILE');
  const text = await readFile(options.in, 'utf8').catch((error: Error) => {
    throw new CapsuleError('INVALID_ARGUMENT', `cannot read ${options.in}: ${error.message}`);
  });
  readBundleHeader(text); // a damaged file is refused before asking for a passphrase
  const passphrase = await readPassphrase(io, { confirm: false });
  const { keys } = openBundle(text, passphrase);
  const home = homeLayout(resolveHome(options.home, io.env));
  // A home that was never started has no repository yet: a farm imports keys before the first start.
  const result = homeHasRepository(home)
    ? await withHome(options, io, (s) => importKeys(s.home, s.repo, keys, { force: options.force, dryRun: options.dryRun, now: s.clock.now() }))
    : await importKeys(home, null, keys, { force: options.force, dryRun: options.dryRun, now: systemClock.now() });
  report(io, options, result.message, result);
}

export async function keysRotate(options: Options & { hmac?: boolean; master?: boolean; discardOld?: boolean; dryRun?: boolean }, io: CliIO) {
  if (options.hmac === options.master) throw new CapsuleError('INVALID_ARGUMENT', 'choose one of --hmac or --master');
  if (options.discardOld && !options.hmac) throw new CapsuleError('INVALID_ARGUMENT', '--discard-old goes with --hmac');
  if (options.dryRun) {
    const plan = await withHome(options, io, async (s) =>
      options.hmac ? planHmacRotation(s.home, s.repo, { keepPrevious: !options.discardOld }) : planMasterRotation(s.home, s.repo),
    );
    return report(io, options, plan.message, { dryRun: true, ...plan });
  }
  if (options.hmac) {
    const result = await withHome(options, io, (s) => rotateHmacKey(s.home, s.repo, { keepPrevious: !options.discardOld, now: s.clock.now() }));
    const advice = `export the keys now ('capsule keys export --out FILE'): a bundle exported before lacks hmac ${result.current}`;
    return report(io, options, `${result.message}\n${advice}`, { ...result, advice });
  }
  const bar = process.stderr.isTTY && !options.json ? new SingleBar({ format: 're-encrypting {bar} {value}/{total}', stream: process.stderr }) : null;
  const result = await withHome(options, io, (s) =>
    rotateMasterKey(s.home, s.repo, {
      bumpCounters: [CONFIG_COUNTER],
      now: s.clock.now(),
      onProgress: (done, total) => {
        if (done === 1) bar?.start(total, 0);
        bar?.update(done);
      },
    }),
  ).finally(() => bar?.stop());
  const advice = `export the keys now ('capsule keys export --out FILE'): a bundle exported before lacks master ${result.current}, and backups taken from now on need it`;
  report(io, options, `${result.message}\n${advice}`, { ...result, advice });
}

export async function keysRemoveRetiredMaster(kid: string, options: Options & { yes?: boolean; ignoreReferences?: boolean }, io: CliIO) {
  const result = await withHome(options, io, (s) =>
    removeRetiredMaster(s.home, s.repo, kid, { confirmed: options.yes === true, ignoreReferences: options.ignoreReferences === true }),
  );
  report(io, options, result.message, result);
}

/** Up to this many values that do not decrypt get a line each without --verbose; more are counted. */
const FAILED_VALUES_LISTED = 10;

function doctorLines(result: DoctorReport, verbose: boolean): string[] {
  const mark = { ok: 'ok   ', warn: 'WARN ', error: 'ERROR' };
  const line = (finding: Finding) => `${mark[finding.level]} ${finding.subject}: ${finding.message}`;
  const failed = result.findings.filter((finding) => finding.protectedValue);
  const lines = result.findings.filter((finding) => !finding.protectedValue).map(line);
  if (verbose || failed.length <= FAILED_VALUES_LISTED) lines.push(...failed.map(line));
  else {
    const byMessage = new Map<string, number>();
    for (const finding of failed) byMessage.set(finding.message, (byMessage.get(finding.message) ?? 0) + 1);
    for (const [message, count] of byMessage) lines.push(`ERROR protected values: ${count} do not decrypt (${message}); --verbose lists each`);
  }
  const decrypting = result.values.filter((value) => value.decrypts);
  if (verbose) lines.push(...decrypting.map((value) => `ok    ${value.source} ${value.path} ${value.property}: key ${value.kid}, decrypts`));
  if (failed.length > 0) lines.push(`      protected values: ${decrypting.length} decrypt, ${failed.length} do not, of ${result.values.length}`);
  return lines;
}

export async function keysDoctor(options: Options & { verbose?: boolean }, io: CliIO) {
  const result = await withHome(options, io, (s) => diagnoseKeys(s.home, s.repo));
  if (options.json) printJson(io, result);
  else io.out(doctorLines(result, options.verbose === true).join('\n'));
  const errors = result.findings.filter((finding) => finding.level === 'error').length;
  if (errors > 0) throw new CheckFailed(`keys doctor found ${errors} problem${errors === 1 ? '' : 's'}`);
}

export function registerKeyCommands(program: Command, io: CliIO): void {
  const keys = program.command('keys').description('the master and HMAC keys: fingerprints, migrate, export, import, rotate, remove-retired-master, doctor');
  jsonOption(homeOption(keys.command('fingerprint').description('storage mode, key ids and SHA-256 fingerprints (compare across instances)'))).action(
    (options) => keysFingerprint(options, io),
  );
  homeOption(keys.command('protect').description('encrypt standard input with the master key; prints {cap1:…}')).action((options) =>
    keysProtect(options, io),
  );
  homeOption(keys.command('unprotect').description('decrypt a protected value read from standard input')).action((options) =>
    keysUnprotect(options, io),
  );
  jsonOption(homeOption(keys.command('migrate').description('move the keys from the repository (/etc/key) to the file system, verified, in one step')))
    .option('--to <storage>', "'file' (default) or 'repository'")
    .option('--cluster', 'on a shared PostgreSQL repository: copy /etc/key into this home and leave it there for the other authors')
    .option('--dry-run', 'say what would change; change nothing')
    .action((options) => keysMigrate(options, io));
  jsonOption(homeOption(keys.command('export').description('write the keys to a passphrase-encrypted bundle ($CAPSULE_KEYS_PASSPHRASE or a prompt)')))
    .option('--out <file>', 'the bundle to write')
    .action((options) => keysExport(options, io));
  jsonOption(homeOption(keys.command('import').description('install the keys of a bundle; different keys are replaced only with --force')))
    .option('--in <file>', 'the bundle to read')
    .option('--force', 'replace different keys (copied to keys/backup-<time>/ first)')
    .option('--dry-run', 'say what would change; change nothing')
    .action((options) => keysImport(options, io));
  jsonOption(homeOption(keys.command('rotate').description('a new HMAC key (old one verifies until its tokens expire) or master key (re-encrypts every value)')))
    .option('--hmac', 'rotate the HMAC key that signs tokens')
    .option('--master', 'rotate the master key and re-encrypt every protected value')
    .option('--discard-old', 'with --hmac: drop the old key at once, ending every token (after a compromise)')
    .option('--dry-run', 'print which keys, values and files would change, and change nothing')
    .action((options) => keysRotate(options, io));
  jsonOption(
    homeOption(
      keys
        .command('remove-retired-master')
        .argument('<kid>', 'the id of the retired master key (capsule keys fingerprint, keys doctor)')
        .description('remove a retired master key for good, once no value uses it (backups taken before its rotation no longer decrypt)'),
    ),
  )
    .option('--yes', 'confirm: backups taken before the key was retired will no longer decrypt with this home\'s keys')
    .option('--ignore-references', 'confirm: no secret property that holds a reference ($[env:…], $[secret:…]) gives the instance a value protected with this key')
    .action((kid: string, options) => keysRemoveRetiredMaster(kid, options, io));
  jsonOption(homeOption(keys.command('doctor').description('check marker, key files, modes and every protected value (counted; --verbose lists each); exit 1 on a problem')))
    .option('--verbose', 'a line for every protected value')
    .action((options) => keysDoctor(options, io));
}
