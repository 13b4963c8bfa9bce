import { randomBytes } from 'node:crypto';
import { CapsuleError, isCapsuleError } from '../errors.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import { REPLICATION_RECEIVERS } from '../replication/index.js';
import { ADMINISTRATORS, checkNewPassword, DEFAULT_PASSWORD_POLICY } from '../users/index.js';
import type { Services } from './services.js';

const MARKER_PATH = '/etc/capsule';

export interface InitialAdmin {
  /** Where the generated password was written; absent when it came from CAPSULE_ADMIN_PASSWORD. */
  readonly passwordFile?: string;
}

/**
 * Creates `admin` in `administrators` once per repository. A marker node records that it
 * was done, so an operator who removes `admin` does not see it come back.
 */
export async function createInitialAdmin(services: Services, env: NodeJS.ProcessEnv): Promise<InitialAdmin | null> {
  const marker = await services.repo.getNode(MARKER_PATH);
  if (marker?.properties.initialized === true) return null;
  const fromEnv = env.CAPSULE_ADMIN_PASSWORD;
  const password = fromEnv && fromEnv.length > 0 ? fromEnv : randomBytes(18).toString('base64url');
  if (!(await services.users.getGroup(ADMINISTRATORS))) await services.users.createGroup(ADMINISTRATORS);
  // The transport users of replication agents go here on a publish (see POST /bin/receive).
  if (!(await services.users.getGroup(REPLICATION_RECEIVERS))) await services.users.createGroup(REPLICATION_RECEIVERS);
  try {
    if (await services.users.getUser('admin')) await services.users.setPassword('admin', password);
    else await services.users.createUser('admin', { password, groups: [ADMINISTRATORS] });
  } catch (error) {
    throw fromEnv ? namingTheVariable(error) : error;
  }
  let passwordFile: string | undefined;
  if (!fromEnv) {
    passwordFile = services.home.initialAdminPasswordFile;
    writeFileAtomic(passwordFile, `${password}\n`, 0o600);
  }
  if (marker) await services.repo.setProperties(MARKER_PATH, { initialized: true });
  else await services.repo.addNode(MARKER_PATH, { type: 'capsule:Marker', properties: { initialized: true } });
  return passwordFile ? { passwordFile } : {};
}

/**
 * Before a new home on SQLite is made: its policy is the default one then (configuration files are
 * applied after the admin is created), so a CAPSULE_ADMIN_PASSWORD it refuses stops the start
 * before anything is written, instead of leaving a home without its admin.
 */
export async function checkAdminPasswordForNewHome(env: NodeJS.ProcessEnv): Promise<void> {
  const fromEnv = env.CAPSULE_ADMIN_PASSWORD;
  if (fromEnv) await checkNewPassword(fromEnv, DEFAULT_PASSWORD_POLICY).catch((error: unknown) => Promise.reject(namingTheVariable(error)));
}

function namingTheVariable(error: unknown): unknown {
  return isCapsuleError(error, 'PASSWORD_POLICY') ? new CapsuleError('PASSWORD_POLICY', `CAPSULE_ADMIN_PASSWORD: ${error.message}`) : error;
}
