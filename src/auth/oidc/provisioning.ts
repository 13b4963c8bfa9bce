import type { Clock } from '../../clock.js';
import type { ConfigAdmin } from '../../config/index.js';
import type { UserManager } from '../../users/index.js';
import type { Log } from '../../log.js';
import { createExternalProvisioner, type ExternalProvisioner } from '../external-provisioning.js';
import { oidcPid, oidcSettings } from './oidc-config.js';

export { MAX_PROVISIONED_GROUPS, MAX_PROVISIONING_CLAIM_BYTES } from '../external-provisioning.js';

/** The OpenID Connect side of the provisioning seam (auth/external-provisioning.ts): a claim's provider is one of `capsule.auth.oidc~NAME`. */
export function createProvisioner(deps: { config: ConfigAdmin; users: UserManager; clock: Clock; logger: Log }): ExternalProvisioner {
  return createExternalProvisioner(deps, (name) => {
    let pid: string;
    try {
      pid = oidcPid(name);
    } catch {
      return null; // not a name an OpenID provider can have
    }
    return deps.config.stored(pid) === null ? null : oidcSettings(name, deps.config.current(pid));
  });
}
