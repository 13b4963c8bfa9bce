import type { Log } from '../../log.js';
import { checkId } from '../../users/index.js';
import { mapProviderGroups } from '../group-map.js';
import type { SamlSettings } from './saml-config.js';
import { SamlLoginError } from './saml-login-error.js';
import type { ValidatedAssertion } from './verified-assertion.js';

/** The encapsulated token's provisioning claim holds at most 20 groups (auth/encapsulated-tokens.ts). */
export const MAX_SAML_GROUPS = 20;

export interface SamlIdentity {
  readonly userId: string;
  /** Capsule groups, sorted: mapped IdP groups plus the default groups. */
  readonly groups: readonly string[];
}

function userIdOf(settings: SamlSettings, assertion: ValidatedAssertion): string {
  if (settings.userIdAttribute === null) return assertion.nameId;
  const values = assertion.attributes[settings.userIdAttribute] ?? [];
  if (values.length !== 1) {
    throw new SamlLoginError('user-id', `one value of attribute ${settings.userIdAttribute}`, values.length === 0 ? 'the attribute is absent' : `${values.length} values`);
  }
  return values[0]!.trim();
}

/**
 * Who signs in, from a validated assertion: the user id (the NameID, or the configured
 * attribute), which must be a valid Capsule id as it is (never rewritten: two IdP names must not
 * become one user), and the groups. An absent group attribute means no groups from the IdP
 * (SimpleSAMLphp leaves it out for a user without any).
 */
export function samlIdentity(settings: SamlSettings, assertion: ValidatedAssertion, logger: Log): SamlIdentity {
  const rawId = userIdOf(settings, assertion);
  let userId: string;
  try {
    userId = checkId('user', rawId);
  } catch (error) {
    throw new SamlLoginError('user-id', 'a user id of letters, digits and . _ @ + - (at most 128)', rawId, { cause: error });
  }
  const given = settings.groupMembershipAttribute === null ? [] : (assertion.attributes[settings.groupMembershipAttribute] ?? []);
  const groups = mapProviderGroups(settings.groupMap, settings.defaultGroups, given, (group) =>
    logger.warn({ provider: settings.name, group: group.slice(0, 64) }, 'IdP group is not a valid Capsule group id; ignored'),
  );
  if (groups.length > MAX_SAML_GROUPS) {
    throw new SamlLoginError('too-many-groups', `at most ${MAX_SAML_GROUPS} groups (narrow the group map)`, `${groups.length} groups`);
  }
  return { userId, groups };
}
