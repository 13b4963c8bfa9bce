import type { Command } from 'commander';
import { systemClock } from '../../clock.js';
import { CapsuleError } from '../../errors.js';
import { createFarmAdminKey, listFarmAdminKeys, revokeFarmAdminKey } from '../../farm/index.js';
import { printJson, printTable, type CliIO } from '../io.js';
import { jsonOption } from '../with-home.js';
import { farmOptions, whichFarm, type FarmOption } from './farm-options.js';

export async function farmAdminKeysCreate(name: string, options: FarmOption & { expiresIn?: string }, io: CliIO) {
  let expiresAt: Date | null = null;
  if (options.expiresIn !== undefined) {
    const days = Number(options.expiresIn);
    if (!/^\d+$/.test(options.expiresIn) || !Number.isSafeInteger(days) || days < 1) throw new CapsuleError('INVALID_ARGUMENT', `--expires-in ${options.expiresIn}: a whole number of days, at least 1`);
    expiresAt = new Date(systemClock.now() + days * 86_400_000);
  }
  const farm = whichFarm(options, io);
  const created = await createFarmAdminKey(farm.manifest, farm.credentials, name, expiresAt);
  if (options.json) return printJson(io, { ...created.info, members: created.members, key: created.key });
  io.out(created.key);
  io.err(`created admin API key ${name} (id ${created.info.id}) on ${created.members.join(', ')}; it is shown this once: store it in a file only you can read (chmod 600) and give it with --api-key-file`);
}

export async function farmAdminKeysList(options: FarmOption, io: CliIO) {
  const farm = whichFarm(options, io);
  const members = await listFarmAdminKeys(farm.manifest, farm.credentials);
  if (options.json) return printJson(io, members);
  printTable(
    io,
    ['MEMBER', 'NAME', 'ID', 'CREATED', 'LAST USED', 'EXPIRES'],
    members.flatMap(({ member, keys }) => keys.map((key) => [member, key.name, key.id, key.createdAt, key.lastUsedAt ?? '-', key.expiresAt ?? 'never'])),
  );
}

export async function farmAdminKeysRevoke(nameOrId: string, options: FarmOption, io: CliIO) {
  const farm = whichFarm(options, io);
  const result = await revokeFarmAdminKey(farm.manifest, farm.credentials, nameOrId);
  if (options.json) return printJson(io, { nameOrId, ...result });
  io.out(`revoked admin API key ${nameOrId} on ${result.revokedOn.join(', ')}`);
}

/** `capsule farm admin-keys …`: one operator's key on every member of the farm, over their admin API. */
export function registerFarmAdminKeyCommands(farm: Command, io: CliIO): void {
  const keys = farm.command('admin-keys').description("operators' admin API keys on every member (the members get the key's hash, never the key)");
  jsonOption(farmOptions(keys.command('create <name>').description('make a key, install it on every member, print it once on standard output')))
    .option('--expires-in <days>', 'the key stops working after this many days')
    .action((name: string, options) => farmAdminKeysCreate(name, options, io));
  jsonOption(farmOptions(keys.command('list').description("every member's keys: name, id, created, last used, expires (never the key)"))).action((options) => farmAdminKeysList(options, io));
  jsonOption(farmOptions(keys.command('revoke <name-or-id>').description('revoke a key on every member'))).action((nameOrId: string, options) => farmAdminKeysRevoke(nameOrId, options, io));
}
