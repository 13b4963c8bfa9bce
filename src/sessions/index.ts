export type { RevokedSession, RevocationListener, SessionEndReason, SessionRecord, SessionStore, SignInDetails, SignInMethod } from './types.js';
export type { RevocationFeedState, SessionRegistry, SessionView } from './registry-types.js';
