import type { KeyIds } from '../crypto/index.js';
import type { HealthCheck } from './registry.js';

export const KEYS_CHECK = 'keys';

/**
 * The key ids this instance has loaded (ids are hash prefixes, never key bytes), so a farm
 * operator can see when every instance has picked up a staged key before it is promoted.
 */
export function keysCheck(keyIds: () => KeyIds): HealthCheck {
  return {
    name: KEYS_CHECK,
    title: 'Keys',
    readiness: true,
    async run() {
      const ids = keyIds();
      // Tokens are signed with the hmac key and secrets read with the master key: without either no login works.
      if (!ids.master || !ids.hmac) {
        return { status: 'critical', message: `no ${ids.master ? 'hmac' : 'master'} key is loaded`, details: { ...ids } };
      }
      const damaged = ids.damagedRetiredMaster ?? [];
      if (damaged.length > 0) {
        return {
          status: 'critical',
          message: `retired master key file${damaged.length === 1 ? '' : 's'} ${damaged.join(', ')} in keys/retired-master ${damaged.length === 1 ? 'is' : 'are'} damaged and skipped: values under ${damaged.length === 1 ? 'that key' : 'those keys'} do not decrypt; see 'capsule keys doctor'`,
          details: { ...ids },
        };
      }
      const staged = [ids.stagedHmac && `staged hmac ${ids.stagedHmac}`, ids.stagedMaster && `staged master ${ids.stagedMaster}`].filter(Boolean);
      const retiredMasters = ids.retiredMaster.length;
      return {
        status: 'ok',
        message: [`master ${ids.master}`, `hmac ${ids.hmac}`, ...staged, ...(retiredMasters ? [`${retiredMasters} retired master key${retiredMasters === 1 ? '' : 's'}`] : [])].join(', '),
        details: { ...ids },
      };
    },
  };
}
