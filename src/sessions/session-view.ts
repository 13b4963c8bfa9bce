import type { User } from '../users/index.js';
import type { SessionView } from './registry-types.js';
import type { SessionEndReason, SessionRecord } from './types.js';
import { parseUserAgent } from './user-agent.js';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Why a record that is not marked ended does not work all the same: its user is gone or disabled,
 * or its generation moved (a password change, logged out everywhere). Undefined when the user is
 * not known here (no user manager given).
 */
function endedByUser(record: SessionRecord, user: User | null | undefined): SessionEndReason | null {
  if (user === undefined) return null;
  if (user === null) return 'user-deleted';
  if (user.disabled) return 'user-disabled';
  if (user.generation !== record.generation) return 'password-changed';
  return null;
}

/** A record as people see it. `revoked`: this member refuses it (held in its revocation set). */
export function sessionView(record: SessionRecord, options: { user?: User | null; currentId?: string | null; revoked: boolean; nowMs: number }): SessionView {
  const { browser, os } = parseUserAgent(record.userAgent);
  const byUser = record.endedAtMs === null ? endedByUser(record, options.user) : null;
  const ended = record.endedAtMs !== null || byUser !== null || options.revoked || record.expiresAtMs <= options.nowMs;
  return {
    id: record.id,
    userId: record.userId,
    createdAt: iso(record.createdAtMs),
    lastSeenAt: iso(record.lastSeenAtMs),
    expiresAt: iso(record.expiresAtMs),
    method: record.method,
    provider: record.provider,
    clientAddress: record.clientAddress,
    browser,
    os,
    userAgent: record.userAgent,
    instance: record.instance,
    state: ended ? 'ended' : 'active',
    endReason: record.endReason ?? byUser ?? (options.revoked ? 'revoked' : null),
    endedAt: record.endedAtMs === null ? null : iso(record.endedAtMs),
    endedBy: record.endedBy,
    current: options.currentId != null && options.currentId === record.id,
  };
}
