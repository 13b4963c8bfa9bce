import { defineComponent, property, type ConfigValues } from '../config/index.js';

export const BRUTE_FORCE_PID = 'capsule.auth.bruteforce';

/**
 * Keycloak's brute force detection, with its parameter names (the realm's attributes), so an
 * operator who knows one knows the other. Only the default of maxFailures differs (Keycloak: 30).
 */
export const bruteForceComponent = defineComponent({
  pid: BRUTE_FORCE_PID,
  title: 'Brute force detection',
  description:
    'Failed password logins are counted per account on the farm store, so every member that shares it counts together. A locked account is answered as a wrong password, and its password is not even checked.',
  properties: {
    enabled: property.boolean({ title: 'Enabled', description: 'Count failed logins per account and lock accounts.', default: true }),
    maxFailures: property.integer({
      title: 'Max login failures',
      description: 'Failures after which an account is locked (temporarily, or for good with permanentLockout).',
      default: 10,
      min: 1,
      max: 1_000_000,
    }),
    waitIncrementSeconds: property.integer({
      title: 'Wait increment (s)',
      description: 'How long a lockout lasts; it grows by this much every maxFailures further failures.',
      default: 60,
      min: 1,
      max: 31_536_000,
    }),
    maxWaitSeconds: property.integer({ title: 'Max wait (s)', description: 'The longest temporary lockout.', default: 900, min: 1, max: 31_536_000 }),
    maxDeltaTimeSeconds: property.integer({
      title: 'Failure reset time (s)',
      description: 'Failures further apart than this start counting again from nothing.',
      default: 43_200,
      min: 1,
      max: 31_536_000,
    }),
    quickLoginCheckMilliSeconds: property.integer({
      title: 'Quick login check (ms)',
      description: 'Two failures closer than this lock the account for minimumQuickLoginWaitSeconds at least (0: off).',
      default: 1000,
      min: 0,
      max: 3_600_000,
    }),
    minimumQuickLoginWaitSeconds: property.integer({
      title: 'Minimum quick login wait (s)',
      description: 'The lockout after two failures closer than quickLoginCheckMilliSeconds.',
      default: 60,
      min: 0,
      max: 31_536_000,
    }),
    permanentLockout: property.boolean({
      title: 'Permanent lockout',
      description: 'Lock for good (until an unlock) at maxFailures, or after maxTemporaryLockouts temporary lockouts.',
      default: false,
    }),
    maxTemporaryLockouts: property.integer({
      title: 'Max temporary lockouts',
      description: 'With permanentLockout: temporary lockouts allowed before the permanent one (0: permanent at once).',
      default: 0,
      min: 0,
      max: 1_000_000,
    }),
  },
});

export interface BruteForceSettings {
  readonly enabled: boolean;
  readonly maxFailures: number;
  readonly waitIncrementSeconds: number;
  readonly maxWaitSeconds: number;
  readonly maxDeltaTimeSeconds: number;
  readonly quickLoginCheckMilliSeconds: number;
  readonly minimumQuickLoginWaitSeconds: number;
  readonly permanentLockout: boolean;
  readonly maxTemporaryLockouts: number;
}

export function bruteForceSettings(values: ConfigValues): BruteForceSettings {
  // Defaults where a configuration admin without this component gives none (a bare token handler).
  const value = (name: string) => values[name] ?? bruteForceComponent.properties[name]!.default;
  const number = (name: string) => value(name) as number;
  return {
    enabled: value('enabled') !== false,
    maxFailures: number('maxFailures'),
    waitIncrementSeconds: number('waitIncrementSeconds'),
    maxWaitSeconds: number('maxWaitSeconds'),
    maxDeltaTimeSeconds: number('maxDeltaTimeSeconds'),
    quickLoginCheckMilliSeconds: number('quickLoginCheckMilliSeconds'),
    minimumQuickLoginWaitSeconds: number('minimumQuickLoginWaitSeconds'),
    permanentLockout: value('permanentLockout') === true,
    maxTemporaryLockouts: number('maxTemporaryLockouts'),
  };
}
