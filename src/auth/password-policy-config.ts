import { defineComponent, property, type ConfigValues } from '../config/index.js';
import { DEFAULT_PASSWORD_POLICY, MAX_PASSWORD_LENGTH, type PasswordPolicy } from '../users/index.js';

export const PASSWORD_POLICY_PID = 'capsule.auth.password';

/**
 * The rules a password meets when it is set (users add and passwd, the console, farm users, the
 * admin API), read at that moment. NIST SP 800-63B sets the bounds: at least 8 characters may be
 * required at the lowest, and at least 64 must be allowed; it rules out composition rules.
 */
export const passwordPolicyComponent = defineComponent({
  pid: PASSWORD_POLICY_PID,
  title: 'Password policy',
  description:
    'A new password has at least minLength and at most maxLength characters and is not one of the most common passwords (compared without case or surrounding spaces). Existing passwords keep working: the policy applies when a password is set.',
  properties: {
    minLength: property.integer({
      title: 'Minimum length',
      description: 'Characters a new password has at least.',
      default: DEFAULT_PASSWORD_POLICY.minLength,
      min: 8,
      max: MAX_PASSWORD_LENGTH,
    }),
    maxLength: property.integer({
      title: 'Maximum length',
      description: `Characters a new password has at most (at most ${MAX_PASSWORD_LENGTH}: a longer password is refused at login without being hashed).`,
      default: DEFAULT_PASSWORD_POLICY.maxLength,
      min: 64,
      max: MAX_PASSWORD_LENGTH,
    }),
  },
});

export function passwordPolicySettings(values: ConfigValues): PasswordPolicy {
  const value = (name: 'minLength' | 'maxLength') => (values[name] ?? passwordPolicyComponent.properties[name]!.default) as number;
  return { minLength: value('minLength'), maxLength: value('maxLength') };
}
