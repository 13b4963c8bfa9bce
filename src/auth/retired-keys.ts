import { expireRetiredKeys } from '../crypto/index.js';
import { CLOCK_SKEW_SECONDS } from './encapsulated-tokens.js';
import type { TokenSettings } from './token-config.js';

/**
 * Deletes the retired HMAC keys whose every token has expired: a key signs nothing after its
 * retirement, so the last token it signed ends one token lifetime (plus the skew a farm member
 * tolerates) later. Returns the ids removed.
 */
export function expireRetiredHmacKeys(keysDir: string, settings: TokenSettings, now: number): string[] {
  return expireRetiredKeys(keysDir, now, settings.expirationMs + CLOCK_SKEW_SECONDS * 1000);
}
