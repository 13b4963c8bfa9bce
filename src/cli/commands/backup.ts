import { readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { checkOutputFile, checkRestoreTarget, createBackup, restoreBackup, type BackupCounts, type BackupKeyIds } from '../../backup/index.js';
import { systemClock } from '../../clock.js';
import { diagnoseKeys } from '../../crypto/index.js';
import { CapsuleError } from '../../errors.js';
import { homeLayout, resolveHome } from '../../instance/home.js';
import { CheckFailed } from '../check-failed.js';
import { printJson, type CliIO } from '../io.js';
import { readPassphrase } from '../passphrase.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

/** Below this a backup takes a moment; a bar would only flicker. */
const PROGRESS_BAR_MIN_BYTES = 8 * 1024 * 1024;
const PAGE_BYTES = 4096;

function capsuleVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** A bar on standard error, only for a person watching a terminal (as `keys rotate --master`). */
function progressBar(options: JsonOption): { update(label: string, done: number, total: number, bytes: number): void; stop(): void } {
  const show = process.stdout.isTTY === true && process.stderr.isTTY === true && !options.json;
  let bar: SingleBar | null = null;
  let label = '';
  return {
    update(nextLabel, done, total, bytes) {
      if (!show || bytes < PROGRESS_BAR_MIN_BYTES) return;
      if (nextLabel !== label) {
        bar?.stop();
        label = nextLabel;
        bar = new SingleBar({ format: `${label.padEnd(10)} {bar} {percentage}%`, stream: process.stderr });
        bar.start(total, 0);
      }
      bar?.update(done);
    },
    stop: () => bar?.stop(),
  };
}

function countsLine(counts: BackupCounts): string {
  return `${counts.nodes} nodes (${counts.users} users, ${counts.groups} groups, ${counts.content} content nodes, ${counts.configurations} configurations), ${counts.protectedValues} protected values`;
}

function keysLine(keys: BackupKeyIds): string {
  const retired = keys.retiredHmac.length > 0 ? `, retired hmac ${keys.retiredHmac.join(' ')}` : '';
  return `keys (${keys.storage} storage): master ${keys.master}, hmac ${keys.hmac}${retired}`;
}

export async function backupHome(options: HomeOptions & JsonOption & { out?: string }, io: CliIO): Promise<void> {
  if (!options.out) throw new CapsuleError('INVALID_ARGUMENT', 'name the backup file with --out FILE');
  checkOutputFile(options.out); // before the passphrase prompt
  const home = homeLayout(resolveHome(options.home, io.env));
  const passphrase = await readPassphrase(io, { confirm: true });
  const bar = progressBar(options);
  const result = await createBackup({
    home,
    out: options.out,
    passphrase,
    clock: systemClock,
    capsuleVersion: capsuleVersion(),
    onProgress: (phase, done, total) =>
      phase === 'snapshot' ? bar.update('snapshot', done, total, total * PAGE_BYTES) : bar.update('writing', done, total, total),
  }).finally(() => bar.stop());
  if (options.json) return printJson(io, result);
  io.out(
    [
      `wrote ${result.file} (${result.bytes} bytes, mode 0600) from ${home.root}`,
      `  ${countsLine(result.counts)}`,
      `  ${keysLine(result.keys)}, in a bundle encrypted with the passphrase`,
      `  files: ${result.files.join(', ')}`,
      ...result.warnings.map((warning) => `warning: ${warning}`),
    ].join('\n'),
  );
}

export async function restoreHome(options: HomeOptions & JsonOption & { in?: string; dryRun?: boolean }, io: CliIO): Promise<void> {
  if (!options.in) throw new CapsuleError('INVALID_ARGUMENT', 'name the backup file with --in FILE');
  // Not $CAPSULE_HOME: a restore must not land in whatever home the shell points at.
  if (!options.home) throw new CapsuleError('INVALID_ARGUMENT', 'name the home to create with --home DIR (a new or empty folder)');
  const home = homeLayout(resolveHome(options.home, io.env));
  checkRestoreTarget(home); // before the passphrase prompt
  const bar = progressBar(options);
  const result = await restoreBackup({
    file: options.in,
    home,
    passphrase: () => readPassphrase(io, { confirm: false }),
    clock: systemClock,
    dryRun: options.dryRun,
    onProgress: (done, total) => bar.update(options.dryRun ? 'checking' : 'restoring', done, total, total),
  }).finally(() => bar.stop());
  const summary = [
    `  backup of ${result.source}, taken ${result.created} (Capsule ${result.capsuleVersion})`,
    `  ${countsLine(result.counts)}`,
    `  ${keysLine(result.keys)}`,
    `  files: ${result.files.map((file) => `${file.name} (${file.size} bytes)`).join(', ')}`,
  ];
  if (result.dryRun) {
    if (options.json) return printJson(io, result);
    io.out([`dry run: the backup ${options.in} is sound and the passphrase opens it; restoring it would create ${home.root} with:`, ...summary, 'nothing was written'].join('\n'));
    return;
  }
  const doctor = await withHome({ home: home.root }, io, (services) => diagnoseKeys(services.home, services.repo));
  const problems = doctor.findings.filter((finding) => finding.level === 'error');
  const warnings = doctor.findings.filter((finding) => finding.level === 'warn');
  if (options.json) printJson(io, { ...result, doctor });
  else {
    const decrypting = doctor.values.filter((value) => value.decrypts).length;
    io.out(
      [
        `restored ${options.in} into ${home.root}:`,
        ...summary,
        `keys doctor: ${problems.length} problem${problems.length === 1 ? '' : 's'}, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}; ${decrypting} of ${doctor.values.length} protected values decrypt`,
        ...[...problems, ...warnings].map((finding) => `${finding.level === 'error' ? 'ERROR' : 'WARN '} ${finding.subject}: ${finding.message}`),
        ...(problems.length === 0 ? [`start it with: capsule start --home ${home.root}`] : []),
      ].join('\n'),
    );
  }
  if (problems.length > 0) {
    throw new CheckFailed(`the home was restored, but keys doctor found ${problems.length} problem${problems.length === 1 ? '' : 's'}; run 'capsule keys doctor --home ${home.root}' for the report`);
  }
}

export function registerBackupCommands(program: Command, io: CliIO): void {
  jsonOption(
    homeOption(
      program
        .command('backup')
        .description('a consistent online backup of a home (running or stopped): repository, keys (passphrase-encrypted), configuration, in one file')
        .addHelpText(
          'after',
          [
            '',
            'The passphrase is $CAPSULE_KEYS_PASSPHRASE, or asked twice on a terminal (at least 12 characters).',
            'The file is written with mode 0600, appears only when complete, and never replaces a file.',
            'In it: the repository, the keys, keys/storage and config/*.json (the files an instance reads;',
            'links followed, but not into /proc, /dev or /sys). Left out: initial-admin-password, instance.lock,',
            'audit.log, keys/backup-*, any other file of config/ (each named in a warning).',
            'Only the keys are encrypted: the repository and the configuration files are in clear inside',
            'the file; keep it where you keep the home.',
            'A killed backup leaves a hidden .FILE.XXXXXX folder beside FILE; the next backup to FILE removes it.',
            'A home on PostgreSQL is refused: back it up with pg_dump and capsule keys export.',
            '',
            'Example:',
            '  CAPSULE_KEYS_PASSPHRASE=... capsule backup --home /srv/capsule --out /backups/capsule-$(date +%F).backup',
          ].join('\n'),
        ),
    ),
  )
    .option('--out <file>', 'the backup file to write (must not exist)')
    .action((options) => backupHome(options, io));
  jsonOption(
    homeOption(
      program
        .command('restore')
        .description('restore a backup into a new home, then run keys doctor on it (exit 1 on a problem)')
        .addHelpText(
          'after',
          [
            '',
            '--home names the home to create: a new or empty folder (the folder above it must exist);',
            'an empty folder (a mount point, a link to a folder) is filled and kept, with its owner and mode.',
            'it must be given ($CAPSULE_HOME is not used, so a restore never lands in the home a shell points at).',
            'The passphrase is $CAPSULE_KEYS_PASSPHRASE, or asked on a terminal.',
            'A wrong passphrase or a damaged file is refused and nothing is written.',
            '',
            'Example:',
            '  capsule restore --in /backups/capsule-2026-12-07.backup --home /srv/capsule-restored --dry-run',
          ].join('\n'),
        ),
    ),
  )
    .option('--in <file>', 'the backup file to read')
    .option('--dry-run', 'check the file and the passphrase, and print what would be restored; write nothing')
    .action((options) => restoreHome(options, io));
}
