import type { BruteForceProtector, Session, TokenHandler } from '../auth/index.js';
import type { Clock } from '../clock.js';
import type { Log } from '../log.js';
import type { ConfigAdmin } from '../config/index.js';
import type { CryptoSupport, KeyIds, KeyLocations } from '../crypto/index.js';
import type { HealthRegistry } from '../health/index.js';
import type { Repository } from '../repository/index.js';
import type { User, UserManager } from '../users/index.js';
import type { SessionRegistry } from '../sessions/registry-types.js';

/** The instance services the console reads and changes (an instance's `Services` fits). */
export interface ConsoleServices {
  readonly repo: Repository;
  readonly users: UserManager;
  readonly config: ConfigAdmin;
  readonly crypto: CryptoSupport;
  /** Where the key files and configuration files are: for fingerprints and the doctor. */
  readonly home: KeyLocations;
  readonly clock: Clock;
}

export interface ConsoleDeps {
  readonly instanceName: () => string;
  /** Where console changes are recorded (who, what, from where; never a value that may be secret). */
  readonly audit: Log;
  readonly health: HealthRegistry;
  readonly tokens: TokenHandler;
  /** Failed logins per account on the farm store: shown on the Users page, which unlocks. */
  readonly bruteForce: BruteForceProtector;
  readonly reloadKeys: () => Promise<KeyIds>;
  readonly services: ConsoleServices;
  /** Every user's sessions: shown and ended on the Users page. */
  readonly sessions: SessionRegistry;
}

/** What every page handler gets: the administrator's session and the CSRF token for its forms. */
export interface PageContext {
  readonly session: Session;
  readonly csrfToken: string;
  /** The path of the page, without query. */
  readonly path: string;
  readonly instanceName: string;
  /**
   * Signs the requesting browser in again as `user` (a new token and session, with this request's
   * address and device): after its own password change ended every session, the browser that made
   * it stays signed in. Returns the Set-Cookie value.
   */
  readonly signInAgain: (user: User) => Promise<string>;
}

export type FormBody = Readonly<Record<string, string>>;
