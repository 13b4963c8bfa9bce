import type { ErrorCode } from '../errors.js';
import type { HealthStatus } from '../health/index.js';
import type { OAuthClientSettings } from './oauth-config.js';

/** An access token as the provider issued it. Never log it. */
export interface AccessToken {
  readonly value: string;
  readonly tokenType: string;
  /** Epoch ms when the provider says it expires (or an assumed lifetime when it said nothing). */
  readonly expiresAt: number;
  readonly scope: string | null;
}

/** What a check of one configuration found; `message` names the cause and the fix, never a secret. */
export interface OAuthCheckResult {
  readonly name: string;
  readonly status: HealthStatus;
  readonly message: string;
  /** The error code of the failure, or null when the check passed. */
  readonly code: ErrorCode | null;
  /** The master key id the stored secret was encrypted with. */
  readonly secretKeyId: string | null;
  /** This instance's master key id, or null when its keys could not be loaded. */
  readonly masterKeyId: string | null;
  /** From the token endpoint, when it answered with an HTTP error. */
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly errorDescription: string | null;
}

export interface OAuthClients {
  /** The names of every stored configuration, sorted. */
  names(): string[];
  /** The configuration `name`; CONFIG_NOT_FOUND when there is none. */
  settings(name: string): OAuthClientSettings;
  /** An access token for `name`, from the cache until shortly before it expires. What integrations call. */
  getAccessToken(name: string): Promise<string>;
  /** Like `getAccessToken` with the details; `fresh` skips the cache (and refills it). */
  getToken(name: string, options?: { fresh?: boolean }): Promise<AccessToken>;
  /** Forgets the cached token, e.g. after the API it was meant for answered 401. */
  invalidate(name: string): void;
  /** Does the secret decrypt, and does a real grant succeed? Never throws. */
  check(name: string): Promise<OAuthCheckResult>;
}
