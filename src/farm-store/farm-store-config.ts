import { defineComponent, property, type ConfigValues } from '../config/index.js';

export const FARM_STORE_PID = 'capsule.farm.store';

export type FailurePolicy = 'open' | 'closed';

export const farmStoreComponent = defineComponent({
  pid: FARM_STORE_PID,
  title: 'Farm store',
  description:
    'A PostgreSQL database the members of a farm share for farm-wide state: failed logins per account, SAML assertions already used. Without a URL, each instance keeps this state in its own repository.',
  properties: {
    url: property.string({
      title: 'PostgreSQL URL',
      description:
        'postgres://USER@HOST:PORT/DATABASE[?sslmode=verify-full&sslrootcert=FILE&query_timeout=SECONDS]; its table is created on first use. Empty: this instance\'s repository. The password goes in the password property (or PGPASSWORD, ~/.pgpass), never in the URL.',
      default: '',
      // Any "user:password@" in the authority is refused: the URL is stored and shown in clear.
      pattern: /^(|postgres(ql)?:\/\/(?![^/@?#]*:[^/@?#]*@)[^\s]+)$/,
      patternHint: 'a postgres:// URL without a password (put the password in the password property)',
    }),
    password: property.secret({
      title: 'Password',
      description: 'The database user\'s password: protected with the master key, or a reference such as $[env:SECRET_FARM_STORE] or $[secret:farm-store-password].',
    }),
    'failure.policy': property.choice(['open', 'closed'], {
      title: 'When the store is away',
      description: 'open: each instance counts on its own, in memory, until the store answers again; closed: sign-in is refused (503) until it does.',
      default: 'open',
    }),
  },
});

export interface FarmStoreSettings {
  /** Empty: the instance's repository. */
  readonly url: string;
  readonly storedPassword: string | null;
  readonly failurePolicy: FailurePolicy;
}

export function farmStoreSettings(values: ConfigValues): FarmStoreSettings {
  const password = values.password;
  return {
    url: typeof values.url === 'string' ? values.url : '',
    storedPassword: typeof password === 'string' && password !== '' ? password : null,
    failurePolicy: values['failure.policy'] === 'closed' ? 'closed' : 'open',
  };
}
