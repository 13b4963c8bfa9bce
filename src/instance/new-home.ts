import { join } from 'node:path';
import { TOKEN_PID } from '../auth/token-config.js';
import { HTTP_PID } from '../config/index.js';
import { systemClock } from '../clock.js';
import { importKeys, type BundleKeys } from '../crypto/index.js';
import { createMemberProvisioning, type NewAgent } from '../member/member-provisioning.js';
import { REPLICATION_RECEIVERS } from '../replication/index.js';
import { writeFileAtomic } from '../support/atomic-file.js';
import type { PasswordHasher } from '../users/index.js';
import { createInitialAdmin } from './first-start.js';
import { homeLayout } from './home.js';
import { openServices, type Services } from './services.js';

/** The user each publish's agent on the author logs in as (a member of replication-receivers there). */
export const TRANSPORT_USER = 'replicator';

export interface NewHomeOptions {
  /** The farm's keys, the same bytes on every member. */
  readonly keys: BundleKeys;
  /** A publish behind the farm's HAProxy: it trusts X-Forwarded-For from there (the author has no proxy in front of it). */
  readonly behindLoadBalancer: boolean;
  /** The farm's admin password, the same on every member. */
  readonly adminPassword: string;
  readonly hasher?: PasswordHasher;
  /** What else the new home holds (its transport user, its agents), done while it is open. */
  readonly setup?: (services: Services) => Promise<void>;
}

/** The address HAProxy and the author connect to the members from, on one machine (Linux picks it for every 127.x). */
const LOAD_BALANCER_SOURCE = '127.0.0.1';

/**
 * A farm member's home, ready to start: the farm's keys imported before the repository exists
 * (so the first start never makes keys of its own), its repository with the farm's admin, and
 * encapsulated tokens switched on (config/ files, applied at every start).
 */
export async function prepareInstanceHome(home: string, options: NewHomeOptions): Promise<void> {
  const layout = homeLayout(home);
  await importKeys(layout, null, options.keys, { now: systemClock.now() });
  writeFileAtomic(join(layout.configDir, `${TOKEN_PID}.json`), `${JSON.stringify({ 'token.encapsulated': true }, null, 2)}\n`, 0o644);
  if (options.behindLoadBalancer) {
    writeFileAtomic(join(layout.configDir, `${HTTP_PID}.json`), `${JSON.stringify({ 'proxies.trusted': [LOAD_BALANCER_SOURCE] }, null, 2)}\n`, 0o644);
  }
  const services = await openServices({ home, create: true, keys: 'prepare', hasher: options.hasher, clock: systemClock });
  try {
    await createInitialAdmin(services, { CAPSULE_ADMIN_PASSWORD: options.adminPassword });
    await options.setup?.(services);
  } finally {
    await services.close();
  }
}

/** A publish's transport user: the author's agent for it posts packages as this user. */
export async function addTransportUser(services: Services, password: string): Promise<void> {
  await services.users.createUser(TRANSPORT_USER, { password, groups: [REPLICATION_RECEIVERS] });
}

/** An agent in a home being made (the author's, at `farm init`), as `replication add-agent` writes it. */
export async function addAgentToHome(services: Services, agent: NewAgent): Promise<void> {
  await createMemberProvisioning({ ...services, home: services.home }).addAgent(agent);
}
