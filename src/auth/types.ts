import type { SignInDetails } from '../sessions/types.js';
import type { Log } from '../log.js';
import type { User } from '../users/index.js';

export type TokenKind = 'stateful' | 'encapsulated';

/** Who a request belongs to, and the token that says so. */
export interface Session {
  readonly userId: string;
  /** The session record's id (sessions/), carried by the token as `sid`; absent for a token issued before sessions existed. */
  readonly sessionId?: string;
  readonly groups: readonly string[];
  readonly token: {
    readonly type: TokenKind;
    readonly expiresAt: Date;
  };
}

/** The outcome of authenticating a token: the session, and a replacement token when one was issued. */
export interface Authentication {
  readonly session: Session;
  /**
   * A token to send back in a new cookie: a fresh encapsulated one (refresh past half-life, or
   * re-signing with the current key), or the same stateful token, whose expiry was pushed back
   * (the cookie, which lasts until the old expiry, must be told).
   */
  readonly renewedToken?: string;
}

/**
 * The provisioning claim (`prv`) an encapsulated token carries after a sign-in at an external
 * identity provider (OpenID Connect today): provider, subject, mapped groups, sign-in time; enough
 * for an instance that has never seen the user to create it, exactly as the instance that handled
 * the sign-in did. It is covered by the token's HMAC, so only a holder of the farm's key can write
 * one; its shape is checked by the token codec (encapsulated-tokens.ts), with the other claims.
 * Short names keep the token well under 1 KB.
 */
export interface ProvisioningClaim {
  readonly p: string;
  readonly s: string;
  readonly g: readonly string[];
  readonly at: number;
}

/**
 * The provisioning seam: what the token handler calls when a valid token names a user this
 * instance does not have. An external login handler (auth/oidc/provisioning.ts) implements it;
 * the handler knows none of them.
 */
export interface Provisioner {
  /** The user created from the claim, or null when the claim may not create it here (logged why). */
  apply(userId: string, claim: ProvisioningClaim, generation: number): Promise<User | null>;
}

export interface IssueOptions {
  /** How the user signed in: recorded as a session (sessions/), whose id the token carries. */
  readonly signIn?: SignInDetails;
  /** Carried by an encapsulated token, so any instance with the same keys can create the user (see README, single sign-on). */
  readonly provisioning?: ProvisioningClaim;
}

/** The token handler's logger: a `Log` that also takes debug lines (why a token was refused, at debug level: pino's signature). */
export type AuthLogger = Log & { debug(fields: object, message: string): void };

/** Just what the handler reads of a request, so servers other than Fastify can use it. */
export interface TokenRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}
