import type { Clock } from '../clock.js';
import { isCapsuleError } from '../errors.js';
import type { Log } from '../log.js';
import type { User, UserManager } from '../users/index.js';
import { CLOCK_SKEW_SECONDS } from './encapsulated-tokens.js';
import type { Provisioner, ProvisioningClaim } from './types.js';

/**
 * The provisioning seam shared by the external login handlers (OpenID Connect, SAML): what a
 * sign-in does with a person the provider vouched for, and what the `prv` claim of a token does
 * on an instance that has never seen the user. Each handler adds only how it reads its provider's
 * settings; nothing here knows a protocol.
 */

/** The encapsulated token's claim holds at most 20 groups (auth/encapsulated-tokens.ts). */
export const MAX_PROVISIONED_GROUPS = 20;
/** Keeps the longest token under 1 KB: header ~80, claims ~230 with a 128-character user id, this, signature 43 (base64url: x4/3). */
export const MAX_PROVISIONING_CLAIM_BYTES = 320;

/** What the seam needs to know of one configured provider. */
export interface ExternalProvider {
  readonly provisioningMaxAgeSeconds: number;
}

/** A handler's provisioner: it also says which provider names are its own, so a composite can route a claim. */
export interface ExternalProvisioner extends Provisioner {
  /** Whether `provider` is configured here for this handler. */
  owns(provider: string): boolean;
}

export interface ExternalProvisioningDeps {
  readonly users: UserManager;
  readonly clock: Clock;
  readonly logger: Log;
}

/** The claim a sign-in puts in its token, or null when it would not fit (too many or too long groups, or a long subject). */
export function provisioningClaimOf(provider: string, subject: string, groups: readonly string[], clock: Clock): ProvisioningClaim | null {
  const claim: ProvisioningClaim = { p: provider, s: subject, g: [...groups], at: Math.floor(clock.now() / 1000) };
  return Buffer.byteLength(JSON.stringify(claim)) > MAX_PROVISIONING_CLAIM_BYTES ? null : claim;
}

/** Why a sign-in vouched for by the provider still may not proceed here. */
export type SignInRefusal =
  /** The id belongs to a local user, or to another provider or subject. */
  | { readonly kind: 'owned-elsewhere'; readonly detail: string }
  | { readonly kind: 'disabled'; readonly detail: string };

/**
 * At sign-in: creates the user without a password (or re-syncs the provider's groups of an
 * existing one of the same provider and subject). A user of that id that is local or another
 * identity's is never taken over; a disabled one stays out.
 */
export async function signInExternalUser(
  users: UserManager,
  userId: string,
  identity: { provider: string; subject: string; groups: readonly string[] },
): Promise<{ user: User } | { refused: SignInRefusal }> {
  let user: User;
  try {
    user = await users.provisionExternalUser(userId, { provider: identity.provider, subject: identity.subject, groups: [...identity.groups] }, { sync: true });
  } catch (error) {
    if (isCapsuleError(error, 'USER_EXISTS')) return { refused: { kind: 'owned-elsewhere', detail: `${identity.provider}: ${error.message}` } };
    throw error;
  }
  if (user.disabled) return { refused: { kind: 'disabled', detail: `${identity.provider}: ${userId} signed in at the provider, but is disabled here` } };
  return { user };
}

/**
 * Applies a provisioning claim once: only on an instance that has the provider configured
 * (`provider` gives its settings, or null), only within the provider's provisioning window
 * after the sign-in, and only when no user record of that id exists (an existing record,
 * disabled or logged out everywhere, always wins) and none was deleted after the sign-in.
 */
export function createExternalProvisioner(deps: ExternalProvisioningDeps, provider: (name: string) => ExternalProvider | null): ExternalProvisioner {
  return {
    owns: (name) => provider(name) !== null,
    async apply(userId, claim, generation) {
      const settings = provider(claim.p);
      if (settings === null) {
        deps.logger.warn({ userId, provider: claim.p }, `token carries a provisioning claim of provider ${claim.p}, which this instance does not have; not creating ${userId}`);
        return null;
      }
      const ageSeconds = deps.clock.now() / 1000 - claim.at;
      if (ageSeconds < -CLOCK_SKEW_SECONDS) {
        deps.logger.warn({ userId, provider: claim.p }, `provisioning claim for ${userId} is dated in the future; not creating it`);
        return null;
      }
      if (ageSeconds > settings.provisioningMaxAgeSeconds) {
        deps.logger.warn(
          { userId, provider: claim.p, ageSeconds: Math.floor(ageSeconds) },
          `provisioning claim for ${userId} is older than the provisioning window (${settings.provisioningMaxAgeSeconds} s); the user must sign in again`,
        );
        return null;
      }
      const deletedAt = await deps.users.deletedAt(userId);
      if (deletedAt !== null && deletedAt.getTime() >= claim.at * 1000) {
        deps.logger.warn({ userId, provider: claim.p }, `${userId} was deleted here after this sign-in; the token does not bring it back (a new sign-in does)`);
        return null;
      }
      try {
        const user = await deps.users.provisionExternalUser(userId, { provider: claim.p, subject: claim.s, groups: claim.g }, { sync: false, generation });
        deps.logger.info({ userId, provider: claim.p, groups: claim.g }, 'user created from the provisioning claim of a token');
        return user;
      } catch (error) {
        if (isCapsuleError(error, 'USER_EXISTS') || isCapsuleError(error, 'INVALID_ID')) {
          deps.logger.warn({ userId, provider: claim.p }, `provisioning claim refused: ${error.message}`);
          return null;
        }
        throw error;
      }
    },
  };
}

/**
 * One provisioner over several handlers: a claim goes to the handler that has its provider
 * configured. Provider names must be unique across handlers: `capsule.auth.oidc~corp` and
 * `capsule.auth.saml~corp` are separate PIDs, and the configuration admin checks one PID at a
 * time, so it is the `add` commands that refuse a name another handler has; should two still own
 * one name (a configuration written by hand), the claim is refused rather than guessed.
 */
export function routeProvisioning(handlers: readonly ExternalProvisioner[], logger: Log): Provisioner {
  return {
    async apply(userId, claim, generation) {
      const owners = handlers.filter((handler) => handler.owns(claim.p));
      if (owners.length === 1) return owners[0]!.apply(userId, claim, generation);
      if (owners.length > 1) {
        logger.error({ userId, provider: claim.p }, `provider name ${claim.p} is configured for more than one login handler (OpenID Connect and SAML); not creating ${userId} until one is renamed`);
        return null;
      }
      logger.warn({ userId, provider: claim.p }, `token carries a provisioning claim of provider ${claim.p}, which this instance does not have; not creating ${userId}`);
      return null;
    },
  };
}
