import type { TokenSettings } from './token-config.js';

/**
 * The time after which a request refreshes a token: past half its lifetime (Lucia's rule, and
 * Oak's token provider's), so a busy session pushes its expiry back at most once per half-life;
 * never when `token.refresh` is off. A stateful token's lifetime is the configured one; an
 * encapsulated token's the one it was signed with (`exp - iat`). Refreshed when `now > refreshesAt`.
 */
export function refreshesAt(settings: TokenSettings, expiresAtMs: number, lifetimeMs: number): number {
  return settings.refresh ? expiresAtMs - lifetimeMs / 2 : Infinity;
}
