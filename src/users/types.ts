export interface User {
  readonly id: string;
  readonly path: string;
  readonly disabled: boolean;
  /** The token generation: raising it ends every encapsulated token issued before. */
  readonly generation: number;
  readonly groups: readonly string[];
}

export interface Group {
  readonly id: string;
  readonly path: string;
  readonly members: readonly string[];
}

export const USERS_ROOT = '/home/users';
export const GROUPS_ROOT = '/home/groups';
export const USER_TYPE = 'capsule:User';
export const GROUP_TYPE = 'capsule:Group';
/** The change counter bumped by every write to users or groups, for other processes' caches. */
export const USERS_COUNTER = 'users';
export const ADMINISTRATORS = 'administrators';
