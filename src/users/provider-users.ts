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

/**
 * `providerSubject` ('<provider>:<subject as upper-case hex of its UTF-8>'), an indexed property
 * of the same users: the user a provider's subject (a SAML NameID) names is found by one exact
 * lookup, whatever the number of users (single-logout.ts). The provider name has no ':', so the
 * first ':' ends it. The subject is hex because it may hold a NUL, which PostgreSQL text refuses
 * and SQLite's replace() cannot escape; hex is what SQLite's hex() writes in migration 3, except
 * for a lone UTF-16 surrogate (no SAML NameID holds one; an OpenID `sub` could): here it encodes as
 * U+FFFD, SQLite writes its own bytes, so such a user migrated on SQLite is not found by subject
 * until it signs in again. A lookup still compares the user's provider and subject themselves
 * (two lone surrogates encode alike here).
 */
export const PROVIDER_SUBJECT = 'providerSubject';

export function providerSubjectKey(provider: string, subject: string): string {
  return `${provider}:${Buffer.from(subject, 'utf8').toString('hex').toUpperCase()}`;
}
