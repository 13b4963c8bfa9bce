import { OIDC_PID } from '../auth/oidc/index.js';
import { SAML_PID } from '../auth/saml/index.js';
import type { ConfigAdmin } from '../config/index.js';
import { AGENT_PID } from '../replication/index.js';
import { plainHttpWarning } from '../support/plain-http.js';

/** The URL properties of each factory that send credentials or sign-ins, and what a reader calls its configurations. */
const URL_PROPERTIES: ReadonlyArray<{ readonly factoryPid: string; readonly subject: string; readonly keys: readonly string[] }> = [
  { factoryPid: AGENT_PID, subject: 'replication agent', keys: ['url'] },
  { factoryPid: OIDC_PID, subject: 'OpenID provider', keys: ['issuer'] },
  { factoryPid: SAML_PID, subject: 'SAML identity provider', keys: ['idpUrl', 'idpMetadataUrl', 'logoutUrl'] },
];

/**
 * One warning per stored replication agent or identity provider URL that is plain http to
 * another machine (the instance logs them once, at start). The same words as the CLI's.
 */
export function plainHttpWarnings(config: ConfigAdmin): Array<{ readonly pid: string; readonly message: string }> {
  const warnings: Array<{ pid: string; message: string }> = [];
  for (const { pid, values } of config.list()) {
    for (const { factoryPid, subject, keys } of URL_PROPERTIES) {
      if (!pid.startsWith(`${factoryPid}~`)) continue;
      const name = pid.slice(factoryPid.length + 1);
      for (const key of keys) {
        const value = values[key];
        const what = keys.length > 1 ? `${subject} '${name}' (${key})` : `${subject} '${name}'`;
        const message = typeof value === 'string' ? plainHttpWarning(what, value) : null;
        if (message) warnings.push({ pid, message });
      }
    }
  }
  return warnings;
}
