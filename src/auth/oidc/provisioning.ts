import type { Clock } from '../../clock.js';
import type { ConfigAdmin } from '../../config/index.js';
import { isCapsuleError } from '../../errors.js';
import type { UserManager } from '../../users/index.js';
import type { Log } from '../../log.js';
import { CLOCK_SKEW_SECONDS } from '../encapsulated-tokens.js';
import type { Provisioner } from '../types.js';
import { oidcPid, oidcSettings } from './oidc-config.js';

export const MAX_PROVISIONED_GROUPS = 20;
/** Keeps the longest token under 1 KB: header ~80, claims ~230 with a 128-character user id, this, signature 43 (base64url: x4/3). */
export const MAX_PROVISIONING_CLAIM_BYTES = 320;

/**
 * The OpenID Connect side of the provisioning seam (auth/types.ts). Applies a provisioning claim once: only on an instance that has the provider configured, only
 * within the provider's provisioning window after the sign-in, and only when no user record of
 * that id exists (an existing record, disabled or logged out everywhere, always wins) and none
 * was deleted after the sign-in.
 */
export function createProvisioner(deps: { config: ConfigAdmin; users: UserManager; clock: Clock; logger: Log }): Provisioner {
  return {
    async apply(userId, claim, generation) {
      const values = deps.config.stored(oidcPid(claim.p));
      if (values === null) {
        deps.logger.warn({ userId, provider: claim.p }, `token carries a provisioning claim of provider ${claim.p}, which this instance does not have; not creating ${userId}`);
        return null;
      }
      const settings = oidcSettings(claim.p, deps.config.current(oidcPid(claim.p)));
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
