/**
 * State the members of a farm share, apart from any one member's repository: failed logins per
 * account (auth/brute-force.ts), SAML assertions already used (auth/saml/), and later the session
 * registry. One small interface, three backends: a PostgreSQL database of the farm's
 * (`capsule.farm.store`), the instance's own repository when none is configured, and memory (the
 * fallback while the store is away, `failure.policy=open`).
 *
 * A record lives in a `space` (one per user of the store: 'login-failures', 'saml-assertions',
 * …) under a `key`, holds a small JSON object and has an end: once `expiresAtMs` has passed (by
 * the store's clock) it is gone for every read, and `removeExpired` deletes it for good. A
 * session registry will list a space and be told of changes; a space is what it will list.
 */
export interface FarmRecord {
  /** JSON: what the store's user keeps (e.g. a failure count); a few hundred bytes at most. */
  readonly value: Readonly<Record<string, unknown>>;
  readonly expiresAtMs: number;
}

/**
 * The next record, from the current one (null: there is none, or it expired) and the store's time
 * now. Returning null removes the record; returning `current` itself writes nothing. It MAY RUN
 * MORE THAN ONCE (a repository transaction retried): it must only compute, with no other effect.
 */
export type FarmRecordChange = (current: FarmRecord | null, nowMs: number) => FarmRecord | null;

export interface FarmRecordUpdate {
  readonly before: FarmRecord | null;
  readonly after: FarmRecord | null;
}

export type FarmStoreBackend = 'postgres' | 'repository' | 'memory';

export interface FarmStore {
  readonly backend: FarmStoreBackend;
  /** Where it is, safe to show (a PostgreSQL URL without its password). */
  readonly location: string;
  /** The record, or null when there is none or it expired. */
  get(space: string, key: string): Promise<FarmRecord | null>;
  /**
   * Reads and replaces one record atomically across every member sharing the store: two members
   * changing the same record at once both see each other's change (a count raised twice is two).
   */
  update(space: string, key: string, change: FarmRecordChange): Promise<FarmRecordUpdate>;
  /** Removes the record; false when there was none. */
  delete(space: string, key: string): Promise<boolean>;
  /** Deletes records whose end has passed; the number deleted. */
  removeExpired(): Promise<number>;
  /** Resolves when the store answers now; fails with FARM_STORE_UNAVAILABLE when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A record whose end has not come. */
export function liveRecord(record: FarmRecord | null, nowMs: number): FarmRecord | null {
  return record !== null && record.expiresAtMs > nowMs ? record : null;
}
