import type { Log } from '../log.js';
import type { SessionRegistry } from '../sessions/index.js';
import type { AuthLogger, TokenKind } from './types.js';

export const SESSION_ENDED = 'its session was ended';
/** Started while the session store was away, with failure.policy closed: which sessions ended is not known yet. */
export const SESSIONS_NEVER_READ = 'the ended sessions could not be read since this instance started (session store away, failure.policy=closed)';

/**
 * Whether a good token's session was ended (revoked, logged out, beyond the limit): then it is
 * refused, logged and audited like any other refusal. One Map lookup: it runs on every full check.
 */
export function refusedForEndedSession(
  deps: { readonly sessions: SessionRegistry; readonly logger: AuthLogger; readonly audit: Log },
  tokenType: TokenKind,
  userId: string,
  sessionId: string | undefined,
): boolean {
  if (sessionId === undefined || !deps.sessions.isRevoked(sessionId)) return false;
  const reason = deps.sessions.feedState().refusingAll === true ? SESSIONS_NEVER_READ : SESSION_ENDED;
  deps.logger.debug({ userId, tokenType, reason }, `${tokenType} token refused`);
  deps.audit.info({ event: 'token-refused', userId, session: sessionId, tokenType, reason }, 'token refused');
  return true;
}
