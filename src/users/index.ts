export { createUserManager } from './user-manager.js';
export { copyUsers } from './copy-users.js';
export type { CopiedUsers } from './copy-users.js';
export type { CreateUserOptions, ExternalIdentity, UserChangeListener, UserChangeOutbox, UserManager, UserManagerDeps } from './user-manager.js';
export { createArgon2Hasher } from './passwords.js';
export type { Argon2Options, PasswordHasher } from './passwords.js';
export { checkId, MAX_ID_LENGTH } from './ids.js';
export { ADMINISTRATORS, GROUPS_ROOT, USERS_COUNTER, USERS_ROOT } from './types.js';
export type { Group, User } from './types.js';
