import type { KeyIds } from '../crypto/index.js';
import type { User } from '../users/index.js';
import type { TokenSettings } from './token-config.js';
import type { Authentication } from './types.js';

/**
 * The answers a kind's `kept` gave, by the verification or validation they came from. Why:
 * re-checking the key, the renewal conditions and making a new session cost about a third of a
 * kept answer's 0.5 µs (BENCHMARKS.md). An answer is given again only while everything it was
 * checked against is the same object (the kept user, the key set, the token settings: each is
 * replaced, never changed, when it changes) and until it would expire or need renewal.
 */
export interface KeptAnswers {
  /** The answer kept for `of`, if it was checked against these very objects and is good at `nowMs`. */
  get(of: object, user: User, keys: KeyIds | null, nowMs: number): Authentication | undefined;
  /** Keeps an answer until `until`; `keys` is the key set an encapsulated token's key was checked against (a stateful answer needs none). */
  keep(of: object, user: User, keys: KeyIds | null, until: number, authentication: Authentication): Authentication;
}

interface KeptAnswer {
  readonly user: User;
  readonly keys: KeyIds | null;
  readonly settings: TokenSettings;
  readonly until: number;
  readonly authentication: Authentication;
}

export function createKeptAnswers(settings: () => TokenSettings): KeptAnswers {
  const answers = new WeakMap<object, KeptAnswer>();
  return {
    get(of, user, keys, nowMs) {
      const answer = answers.get(of);
      if (answer && answer.user === user && answer.keys === keys && answer.settings === settings() && nowMs < answer.until) return answer.authentication;
      return undefined;
    },
    keep(of, user, keys, until, authentication) {
      answers.set(of, { user, keys, settings: settings(), until, authentication });
      return authentication;
    },
  };
}
