import type { Clock } from '../../clock.js';
import type { ConfigAdmin } from '../../config/index.js';
import type { Log } from '../../log.js';
import type { UserManager } from '../../users/index.js';
import { createExternalProvisioner, type ExternalProvisioner } from '../external-provisioning.js';
import { samlPid, samlProviderNameOf, samlSettings, SAML_PID } from './saml-config.js';

/** The SAML side of the provisioning seam (auth/external-provisioning.ts): a claim's provider is one of `capsule.auth.saml~NAME`. */
export function createSamlProvisioner(deps: { config: ConfigAdmin; users: UserManager; clock: Clock; logger: Log }): ExternalProvisioner {
  return createExternalProvisioner(deps, (name) => {
    const pid = `${SAML_PID}~${name}`;
    if (samlProviderNameOf(pid) === null || deps.config.stored(pid) === null) return null;
    return samlSettings(name, deps.config.current(samlPid(name)));
  });
}
