import type { Command } from 'commander';
import { createAdminKeyStore, type AdminKeyInfo } from '../../auth/index.js';
import { CapsuleError } from '../../errors.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { homeOption, jsonOption, withHome, type HomeOptions, type JsonOption } from '../with-home.js';

type Options = HomeOptions & JsonOption;

/** What is shown of a key: never the key, nor its hash. */
function keyJson(info: AdminKeyInfo) {
  const iso = (date: Date | null) => (date ? date.toISOString() : null);
  return { id: info.id, name: info.name, createdAt: info.createdAt.toISOString(), lastUsedAt: iso(info.lastUsedAt), expiresAt: iso(info.expiresAt) };
}

function days(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < 1) throw new CapsuleError('INVALID_ARGUMENT', `--expires-in ${value}: a whole number of days, at least 1`);
  return parsed;
}

export async function adminKeysCreate(name: string, options: Options & { expiresIn?: string }, io: CliIO) {
  const expiresInDays = options.expiresIn === undefined ? undefined : days(options.expiresIn);
  const { key, info } = await withHome(options, io, (s) => createAdminKeyStore({ repo: s.repo, clock: s.clock }).create(name, { expiresInDays }));
  if (options.json) return printJson(io, { ...keyJson(info), key });
  io.out(key);
  io.err(`created admin API key ${info.name} (id ${info.id}${info.expiresAt ? `, expires ${info.expiresAt.toISOString()}` : ''}); it is shown this once: store it in a file only you can read (chmod 600)`);
}

export async function adminKeysList(options: Options, io: CliIO) {
  const keys = await withHome(options, io, (s) => createAdminKeyStore({ repo: s.repo, clock: s.clock }).list());
  if (options.json) return printJson(io, keys.map(keyJson));
  printTable(
    io,
    ['NAME', 'ID', 'CREATED', 'LAST USED', 'EXPIRES'],
    keys.map((info) => {
      const row = keyJson(info);
      return [row.name, row.id, row.createdAt, row.lastUsedAt ?? '-', row.expiresAt ?? 'never'];
    }),
  );
}

export async function adminKeysRevoke(nameOrId: string, options: Options, io: CliIO) {
  const revoked = await withHome(options, io, (s) => createAdminKeyStore({ repo: s.repo, clock: s.clock }).revoke(nameOrId));
  if (!revoked) throw new CapsuleError('INVALID_ARGUMENT', `no admin API key named '${nameOrId}' or with that id; 'capsule admin keys list' shows them; nothing was changed`);
  if (options.json) return printJson(io, { ...keyJson(revoked), revoked: true });
  io.out(`revoked admin API key ${revoked.name} (id ${revoked.id})`);
}

export function registerAdminCommands(program: Command, io: CliIO): void {
  const admin = program.command('admin').description("operators' access to the admin API");
  const keys = admin.command('keys').description('API keys for the admin API (/system/farm/*, key refresh, logout-everywhere), one per operator');
  jsonOption(homeOption(keys.command('create <name>').description('create a key and print it once on standard output')))
    .option('--expires-in <days>', 'the key stops working after this many days')
    .action((name: string, options) => adminKeysCreate(name, options, io));
  jsonOption(homeOption(keys.command('list').description('list keys: name, id, created, last used, expires (never the key)'))).action((options) => adminKeysList(options, io));
  jsonOption(homeOption(keys.command('revoke <name-or-id>').description('revoke a key at once'))).action((nameOrId: string, options) => adminKeysRevoke(nameOrId, options, io));
}
