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

/** What a page of users is filtered by; every filter is optional (issue 28: lists at a million users). */
export interface UserQuery {
  /** Only ids that begin with this (case-sensitive). */
  readonly prefix?: string;
  /** Only direct members of this group. */
  readonly group?: string;
  /** Only users provisioned by this identity provider (an OpenID Connect or SAML provider's name). */
  readonly provider?: string;
  /** Only ids after this one: the `next` of the previous page. */
  readonly after?: string;
  /** At most this many (default DEFAULT_PAGE_SIZE, at most MAX_PAGE_SIZE). */
  readonly limit?: number;
}

export interface UserPage {
  /** In id order (JavaScript string order, as the repository's index sorts). */
  readonly users: readonly User[];
  /** The id to pass as `after` for the next page; null on the last page. */
  readonly next: string | null;
}

export interface GroupQuery {
  readonly prefix?: string;
  readonly after?: string;
  readonly limit?: number;
}

/** A group in a page: its member count, not its members (a group may hold every user). */
export interface GroupSummary {
  readonly id: string;
  readonly path: string;
  readonly memberCount: number;
}

export interface GroupPage {
  readonly groups: readonly GroupSummary[];
  readonly next: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
