/**
 * `providerUser` ('<provider>:<user id>'), an indexed property of each user an identity provider
 * provisioned: a range of the index on '<provider>:' holds that provider's users in id order, so
 * a page of them is read without reading the others. Provider names have no ':' (oidc-config.ts,
 * saml-config.ts), so one provider's range never holds another's users.
 */
export const PROVIDER_USER = 'providerUser';

export function providerUserKey(provider: string, userId: string): string {
  return `${provider}:${userId}`;
}
