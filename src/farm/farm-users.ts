import { CapsuleError } from '../errors.js';
import type { PasswordHasher, User } from '../users/index.js';
import { namesOf, withFarmHomes, type OpenInstance } from './farm-homes.js';
import { farmPaths } from './manifest.js';

export interface FarmUserChange {
  readonly id: string;
  /** The instances that were changed. */
  readonly instances: readonly string[];
  readonly message: string;
}

async function usersById(homes: readonly OpenInstance[], id: string): Promise<Array<User | null>> {
  return Promise.all(homes.map(({ services }) => services.users.getUser(id)));
}

async function createEverywhere(homes: readonly OpenInstance[], id: string, password: string, groups: readonly string[]): Promise<void> {
  for (const { services } of homes) {
    for (const group of groups) if (!(await services.users.getGroup(group))) await services.users.createGroup(group);
    await services.users.createUser(id, { password, groups });
  }
}

/**
 * Adds the user to every instance (encapsulated tokens are verified anywhere, but the user must
 * exist there). Refused before anything is written when the id exists on any instance.
 */
export async function addFarmUser(
  dir: string,
  id: string,
  password: string,
  options: { groups?: readonly string[]; hasher?: PasswordHasher } = {},
): Promise<FarmUserChange> {
  const paths = farmPaths(dir);
  return withFarmHomes(paths, options, async (homes) => {
    const existing = await usersById(homes, id);
    const where = homes.filter((_, index) => existing[index] !== null);
    if (where.length > 0) {
      throw new CapsuleError(
        'USER_EXISTS',
        `user ${id} already exists on ${namesOf(where)}; nothing was changed; set its password everywhere with 'capsule farm users passwd ${id} --password-stdin --dir ${paths.root}' (it adds ${id} where it is missing)`,
      );
    }
    await createEverywhere(homes, id, password, options.groups ?? []);
    return { id, instances: homes.map(({ instance }) => instance.name), message: `added user ${id} on ${namesOf(homes)}` };
  });
}

/** Sets the password on every instance, and adds the user (with the same groups) where it is missing. */
export async function setFarmUserPassword(dir: string, id: string, password: string, options: { hasher?: PasswordHasher } = {}): Promise<FarmUserChange> {
  const paths = farmPaths(dir);
  return withFarmHomes(paths, options, async (homes) => {
    const existing = await usersById(homes, id);
    const model = existing.find((user) => user !== null);
    if (!model) throw new CapsuleError('USER_NOT_FOUND', `no user ${id} on any instance; add it with 'capsule farm users add ${id} --password-stdin --dir ${paths.root}'`);
    const missing = homes.filter((_, index) => existing[index] === null);
    for (const [index, { services }] of homes.entries()) if (existing[index] !== null) await services.users.setPassword(id, password);
    await createEverywhere(missing, id, password, model.groups);
    return {
      id,
      instances: homes.map(({ instance }) => instance.name),
      message: `changed the password of ${id} on ${namesOf(homes)}${missing.length ? `; added ${id} to ${namesOf(missing)}, where it was missing` : ''}`,
    };
  });
}

/** Removes the user (and its stateful tokens) from every instance that has it. */
export async function removeFarmUser(dir: string, id: string): Promise<FarmUserChange> {
  const paths = farmPaths(dir);
  return withFarmHomes(paths, {}, async (homes) => {
    const existing = await usersById(homes, id);
    const where = homes.filter((_, index) => existing[index] !== null);
    if (where.length === 0) throw new CapsuleError('USER_NOT_FOUND', `no user ${id} on any instance of the farm in ${paths.root}`);
    for (const { services } of where) await services.users.removeUser(id);
    return { id, instances: where.map(({ instance }) => instance.name), message: `removed user ${id} from ${namesOf(where)}` };
  });
}
