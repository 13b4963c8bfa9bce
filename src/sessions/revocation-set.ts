import type { Clock } from '../clock.js';
import type { RevokedSession } from './types.js';

/** Whether this member hears of revocations made elsewhere, and how many ids it holds. */
export interface RevocationSetState {
  readonly connected: boolean;
  readonly held: number;
  readonly lostSinceMs: number | null;
  readonly reason: string | null;
}

/**
 * The revoked, unexpired session ids this member refuses: a Map from id to the time the last token
 * naming it expires. `has` is one lookup (it sits on every request); an entry past its time reads
 * as absent and is dropped then, and `sweep` (on a timer, off the request path) drops the rest.
 * Losing the feed clears nothing: a member keeps refusing what it knew.
 */
export interface RevocationSet {
  has(sessionId: string): boolean;
  /** Adds (or pushes back the end of) what a push or a re-read told. */
  add(sessions: readonly RevokedSession[]): void;
  /** The feed is up and what it had was read. */
  connected(): void;
  /** The feed is lost (the first loss is kept: since when, and why). */
  lost(reason: string): void;
  /** Drops the entries past their end; the number dropped. */
  sweep(): number;
  state(): RevocationSetState;
}

export function createRevocationSet(deps: { clock: Clock }): RevocationSet {
  const { clock } = deps;
  const held = new Map<string, number>();
  let connected = false;
  let lostSinceMs: number | null = null;
  let reason: string | null = 'not connected yet';

  return {
    has(sessionId) {
      const expiresAtMs = held.get(sessionId);
      if (expiresAtMs === undefined) return false;
      if (expiresAtMs > clock.now()) return true;
      held.delete(sessionId);
      return false;
    },
    add(sessions) {
      const nowMs = clock.now();
      for (const { id, expiresAtMs } of sessions) {
        if (expiresAtMs <= nowMs) continue;
        const known = held.get(id);
        if (known === undefined || known < expiresAtMs) held.set(id, expiresAtMs);
      }
    },
    connected() {
      connected = true;
      lostSinceMs = null;
      reason = null;
    },
    lost(why) {
      if (!connected && lostSinceMs !== null) return;
      connected = false;
      lostSinceMs = clock.now();
      reason = why;
    },
    sweep() {
      const nowMs = clock.now();
      let dropped = 0;
      for (const [id, expiresAtMs] of held) {
        if (expiresAtMs > nowMs) continue;
        held.delete(id);
        dropped++;
      }
      return dropped;
    },
    state: () => ({ connected, held: held.size, lostSinceMs, reason }),
  };
}
