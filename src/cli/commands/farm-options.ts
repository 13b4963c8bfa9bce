import type { Command } from 'commander';
import { CapsuleError } from '../../errors.js';
import { adminCredentials, farmCredentials, farmPaths, readFarmManifest, readManifestV2, type AdminCredentials, type FarmManifestV2 } from '../../farm/index.js';
import type { CliIO } from '../io.js';
import type { JsonOption } from '../with-home.js';

/**
 * A farm given by `--manifest` (members by URL; an API key from --api-key-file or
 * CAPSULE_ADMIN_API_KEY, else the password from CAPSULE_ADMIN_PASSWORD or --admin-password-file) or `--dir` (a folder made by `farm init`: its farm.json and its
 * admin-password). Either way the commands reach the members over HTTP only.
 */
export interface FarmOption extends JsonOption {
  readonly dir?: string;
  readonly manifest?: string;
  readonly adminUser?: string;
  readonly adminPasswordFile?: string;
  readonly apiKeyFile?: string;
  readonly allowPlainHttp?: boolean;
}

interface ChosenFarm {
  readonly manifest: FarmManifestV2;
  /** How to name the farm in a message's next command (`--manifest F` or `--dir D`). */
  readonly file: string;
  readonly credentials: AdminCredentials;
}

export function whichFarm(options: FarmOption, io: CliIO): ChosenFarm {
  if (options.dir !== undefined && options.manifest !== undefined) throw new CapsuleError('INVALID_ARGUMENT', 'give --manifest FILE (members by URL) or --dir DIR (a local farm), not both');
  if (options.manifest !== undefined) {
    return {
      manifest: readManifestV2(options.manifest),
      file: options.manifest,
      credentials: adminCredentials({ user: options.adminUser, passwordFile: options.adminPasswordFile, apiKeyFile: options.apiKeyFile, allowPlainHttp: options.allowPlainHttp, env: io.env }),
    };
  }
  if (options.dir !== undefined) {
    const paths = farmPaths(options.dir);
    return {
      manifest: readFarmManifest(paths),
      file: paths.manifest,
      credentials: farmCredentials(paths, { user: options.adminUser, passwordFile: options.adminPasswordFile, apiKeyFile: options.apiKeyFile, env: io.env }),
    };
  }
  throw new CapsuleError('INVALID_ARGUMENT', "give --manifest FILE (a capsule-farm/2 manifest of member URLs), or --dir DIR for a farm made by 'capsule farm init'");
}

/** `--manifest` (members by URL) or `--dir` (a local farm's farm.json and admin-password), and how to log in to them. */
export function farmOptions(command: Command): Command {
  return command
    .option('--manifest <file>', 'a capsule-farm/2 manifest: the members by URL (the commands use their admin API, never a home)')
    .option('--dir <dir>', "a farm made by 'capsule farm init': its farm.json, and its admin-password unless --admin-password-file")
    .option('--api-key-file <file>', "an admin API key ('capsule admin keys create'), in a file of mode 0600 (default: CAPSULE_ADMIN_API_KEY); used instead of the admin password, so failed logins cannot lock it out")
    .option('--admin-user <id>', 'the administrator the commands log in as on every member when no API key is given (default admin)')
    .option('--admin-password-file <file>', "without an API key: that administrator's password, in a file of mode 0600 (default: CAPSULE_ADMIN_PASSWORD, or DIR/admin-password with --dir)")
    .option('--allow-plain-http', 'send the admin password over plain http to members on other machines (default: https, or plain http to loopback only)');
}

