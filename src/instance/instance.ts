import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { applyConfigFiles, literalReferences, readConfigFiles } from '../config/index.js';
import { createHealthRegistry, farmStoreCheck, HEALTH_PID, keysCheck, repositoryCheck, sessionsCheck, type HealthRegistry } from '../health/index.js';
import { FARM_STORE_PID, farmStoreSettings, openFarmStore, type FallbackFarmStore } from '../farm-store/index.js';
import { createOAuthClients, watchOAuthClientChecks } from '../oauth/index.js';
import { createOidcLogin, createProvisioner, watchOidcChecks } from '../auth/oidc/index.js';
import { createFarmReplayStore, createSamlLogin, createSamlProvisioner, createSingleLogout, watchSamlChecks } from '../auth/saml/index.js';
import { buildApp, createMetrics, createTrustedProxies, type TlsFiles } from '../http/index.js';
import type { PasswordHasher } from '../users/index.js';
import { systemClock, type Clock } from '../clock.js';
import { KEYS_COUNTER, type KeyIds, type KeyStorageMode } from '../crypto/index.js';
import { checkAdminPasswordForNewHome, createInitialAdmin } from './first-start.js';
import { createReceiver, REPLICATION_RECEIVERS, sessionEndsToOutbox, startReplication, type ReplicationService } from '../replication/index.js';
import { createSessionRegistry, openSessionStore, SESSIONS_PID, sessionsSettings, type SessionRegistry, type SessionsSettings } from '../sessions/index.js';
import { createFarmMember } from '../member/index.js';
import { assertHomeReadable, lockHome, type HomeLock } from './home-lock.js';
import { holdLockFileOpen } from './running-instance.js';
import { auditLogger, silentLogger } from './logger.js';
import { openServices, type Services } from './services.js';
import { plainHttpWarnings } from './plain-http-warnings.js';
import { CONFIG_COUNTER } from '../config/index.js';
import { CapsuleError } from '../errors.js';
import { watchCounters, type CounterWatch } from '../repository/index.js';
import { BRUTE_FORCE_PID, bruteForceSettings, createBruteForceProtector, isLockedRecord, createTokenHandler, expireRetiredHmacKeys, routeProvisioning, TOKEN_PID, tokenSettings, type BruteForceProtector, type TokenHandler } from '../auth/index.js';
import { createContentService } from '../content/index.js';

const MAINTENANCE_INTERVAL_MS = 10 * 60_000;

export interface InstanceOptions {
  readonly home: string;
  readonly port: number;
  readonly host?: string;
  /** Shown in `X-Capsule-Instance`; defaults to host:port. */
  readonly name?: string;
  readonly logger?: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Tests' clock (default the system's). The caches look again at what other processes changed
   * when this clock has moved on: a clock that stands still sees another process's changes only
   * through PostgreSQL's notifications.
   */
  readonly clock?: Clock;
  readonly hasher?: PasswordHasher;
  /** Where a brand-new home keeps its keys (default 'file'). */
  readonly keyStorage?: KeyStorageMode;
  /** A PostgreSQL URL for a new home's repository (`--repository`); the home remembers it, without the password. */
  readonly repositoryUrl?: string;
  /** How often the configuration and key counters are polled (default 500 ms); the token and content caches look by the clock, every 500 ms. */
  readonly changePollMs?: number;
  /** How often expired tokens and retired keys are removed (default 10 minutes). */
  readonly maintenanceIntervalMs?: number;
  /** Serve HTTPS with this certificate and key (`--tls-cert`, `--tls-key`; see `readTlsFiles`). */
  readonly tls?: TlsFiles;
  /** One log line per request, message "request" (`--access-log`; default off). */
  readonly accessLog?: boolean;
  /** Tests' session registry (its owner closes it); default the instance's own. */
  readonly sessions?: SessionRegistry;
}

export interface RunningInstance {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly services: Services;
  readonly health: HealthRegistry;
  readonly app: FastifyInstance;
  readonly tokens: TokenHandler;
  /** Failed logins per account on the farm store; `unlock` clears an account's farm-wide. */
  readonly bruteForce: BruteForceProtector;
  /** Reloads the keys from storage (SIGHUP) and logs the new key ids. */
  reloadKeys(): Promise<KeyIds>;
  stop(): Promise<void>;
}

export async function startInstance(options: InstanceOptions): Promise<RunningInstance> {
  // The composition root: the one place that picks the system clock and a logger when none is given.
  const logger = options.logger ?? silentLogger();
  const clock = options.clock ?? systemClock;
  const audit = auditLogger(logger);
  const host = options.host ?? '127.0.0.1';
  const env = options.env ?? process.env;
  // A home that exists is locked before anything in it is opened; a new one once it is made.
  assertHomeReadable(resolve(options.home));
  if (!existsSync(options.home) && !options.repositoryUrl?.trim()) await checkAdminPasswordForNewHome(env);
  const earlyLock: HomeLock | undefined = existsSync(options.home) ? lockHome(resolve(options.home)) : undefined;
  const earlyLockFileHeld = earlyLock ? holdLockFileOpen(resolve(options.home)) : undefined; // capsule stop finds a starting instance too
  const services = await openServices({
    home: options.home,
    create: true,
    clock,
    hasher: options.hasher,
    keys: 'prepare',
    keyStorage: options.keyStorage,
    repositoryUrl: options.repositoryUrl,
    env,
    onWarning: (message) => logger.warn(message),
  }).catch((error: unknown) => {
    earlyLockFileHeld?.close();
    earlyLock?.release();
    throw error;
  });
  let homeLock = earlyLock;
  try {
    homeLock ??= lockHome(services.home.root);
  } catch (error) {
    await services.close();
    throw error;
  }
  const lockFileHeld = earlyLockFileHeld ?? holdLockFileOpen(services.home.root);
  if (homeLock.tookOverFrom !== null) {
    logger.warn({ pid: homeLock.tookOverFrom }, `took over the lock of this home from PID ${homeLock.tookOverFrom}, which is no longer running (it did not stop cleanly)`);
  }
  let watcher: CounterWatch | undefined;
  let replication: ReplicationService | undefined;
  let cleanupTimer: NodeJS.Timeout | undefined;
  let tokens: TokenHandler;
  let farmStore: FallbackFarmStore | undefined;
  // Work started and not awaited (maintenance, a health run): waited for before the repository closes.
  const background = new Set<Promise<unknown>>();
  function inBackground(work: Promise<unknown>): void {
    background.add(work);
    const done = () => background.delete(work);
    void work.then(done, done);
  }
  async function stopBackground(): Promise<void> {
    while (background.size > 0) await Promise.allSettled([...background]);
  }
  async function reloadKeys(): Promise<KeyIds> {
    try {
      const ids = await services.crypto.refresh();
      logger.info(ids, 'keys reloaded');
      audit.info({ event: 'keys-reloaded', master: ids.master, hmac: ids.hmac, stagedHmac: ids.stagedHmac, stagedMaster: ids.stagedMaster }, 'keys reloaded');
      inBackground(health.run()); // checks that decrypt secrets (OAuth clients) see the new keys at once
      return ids;
    } catch (error) {
      logger.error({ err: error }, 'keys not reloaded; the instance keeps the keys it had');
      audit.warn({ event: 'keys-reload-failed', reason: (error as Error).message }, 'keys not reloaded');
      throw error;
    }
  }
  const registry = createHealthRegistry({ clock: services.clock });
  // Every check run (the registry's timer runs them too) is background work: checks read the repository.
  const health: HealthRegistry = {
    ...registry,
    register: (check) => registry.register({ ...check, run: () => tracked(check.run()) }),
  };
  function tracked<T>(work: Promise<T>): Promise<T> {
    inBackground(work);
    return work;
  }
  // Replication starts later; the metrics read its queues when scraped, none before it runs.
  let sessions: SessionRegistry | undefined;
  const metrics = createMetrics({
    health,
    replication: async () => (replication ? replication.status() : []),
    liveSessions: async () => (sessions ? sessions.countLive() : 0),
  });
  try {
    if (services.created) logger.info({ home: services.home.root }, 'created a new instance home');
    const repositoryInfo = await services.repo.info({ countNodes: false });
    logger.info({ backend: repositoryInfo.backend, location: repositoryInfo.location }, services.created ? 'created the repository' : 'repository opened');
    for (const warning of repositoryInfo.warnings ?? []) logger.warn({ backend: repositoryInfo.backend }, warning);
    if (services.keysJoined) logger.info(services.crypto.keyIds(), "joined the shared repository: using the keys it keeps in /etc/key");
    for (const warning of services.keyWarnings) logger.warn(warning);
    logger.info(services.crypto.keyIds(), 'keys loaded');
    const admin = await createInitialAdmin(services, env);
    if (admin?.passwordFile) {
      logger.info({ file: admin.passwordFile }, "created user 'admin'; its password is in this file (mode 0600)");
    } else if (admin) {
      logger.info("created user 'admin' with the password from CAPSULE_ADMIN_PASSWORD");
    } else if (env.CAPSULE_ADMIN_PASSWORD) {
      logger.warn(
        "CAPSULE_ADMIN_PASSWORD is ignored: it sets the administrator's password on a home's first start only, and this home has its administrator already; to change a password, run capsule users passwd admin --password-stdin (or use the console's Users page), then unset CAPSULE_ADMIN_PASSWORD",
      );
    }
    const applied = await applyConfigFiles(services.config, services.home.configDir);
    if (applied.length > 0) logger.info({ pids: applied }, 'applied configuration files');
    for (const { pid, file } of readConfigFiles(services.home.configDir)) {
      if (!services.config.componentOf(pid)) logger.warn({ configuration: pid, file }, `no component has the PID ${pid} of ${file} (a typo?): it is stored, but nothing reads it`);
    }
    for (const { pid, values } of services.config.list()) {
      for (const message of literalReferences(pid, services.config.componentOf(pid), values)) logger.warn({ configuration: pid }, message);
    }
    for (const { pid, message } of plainHttpWarnings(services.config)) logger.warn({ configuration: pid }, message);

    // Set once the server listens (the port may be chosen then); read by audit lines later.
    let name = options.name ?? `${host}:${options.port}`;
    const instanceName = () => name;
    farmStore = openFarmStore({ ...services, logger, env, retainInMemory: isLockedRecord });
    const bruteForce = createBruteForceProtector({
      store: farmStore,
      clock: services.clock,
      settings: () => bruteForceSettings(services.config.current(BRUTE_FORCE_PID)),
      audit,
      member: instanceName,
      metrics: metrics.auth,
    });
    const oidc = createOidcLogin({ ...services, logger });
    // Assertions and IdP logout requests used anywhere in the farm (the farm store; without one, this instance's repository).
    const samlReplay = createFarmReplayStore(farmStore);
    const saml = createSamlLogin({ ...services, logger, replay: samlReplay });
    const samlLogout = createSingleLogout({ ...services, logger, replay: samlReplay });
    // One provisioner for the token handler: a claim goes to the handler whose provider it names.
    // One registry for the token handler (it starts and refuses sessions) and the app (it lists and ends them).
    // Read on every authenticated request (last seen): kept until the configuration changes.
    let cachedSessionSettings: SessionsSettings | undefined;
    services.config.onChange(SESSIONS_PID, () => (cachedSessionSettings = undefined));
    const sessionSettings = () => (cachedSessionSettings ??= sessionsSettings(services.config.current(SESSIONS_PID)));
    const sessionStore = options.sessions ? undefined : openSessionStore({ ...services, env });
    const sessionEnds = sessionEndsToOutbox(services);
    const openedSessions =
      options.sessions ??
      createSessionRegistry({
        store: sessionStore!,
        clock: services.clock,
        settings: sessionSettings,
        failurePolicy: () => farmStoreSettings(services.config.current(FARM_STORE_PID)).failurePolicy,
        tokenLifetimeMs: () => tokenSettings(services.config.current(TOKEN_PID)).expirationMs,
        member: instanceName,
        audit,
        logger,
        users: services.users,
        metrics: metrics.sessions,
        // An author passes its ends on to its publishes (written only where agents are configured).
        onEnded: async (ended) => {
          await sessionEnds(ended);
          replication?.wake();
        },
      });
    sessions = openedSessions;
    tokens = createTokenHandler({
      ...services,
      logger,
      audit,
      metrics: metrics.auth,
      bruteForce,
      member: instanceName,
      sessions: openedSessions,
      transportGroup: REPLICATION_RECEIVERS,
      provisioner: routeProvisioning([createProvisioner({ ...services, logger }), createSamlProvisioner({ ...services, logger })], logger),
    });
    // Instances sharing a repository take turns: the job runs where its lock is free.
    const removeExpired = () =>
      services.repo
        .runExclusive('expired-token-cleanup', async () => {
          const count = await tokens.removeExpiredTokens();
          if (count > 0) logger.info({ count }, 'removed expired tokens');
          const records = await farmStore!.removeExpired().catch(() => 0); // the health check says when the store is away
          if (records > 0) logger.info({ count: records }, 'removed expired farm store records');
          await openedSessions.removeExpired().catch(() => 0); // audited by the registry; the health check says when the store is away
        })
        .catch((error: unknown) => logger.error({ err: error }, 'expired token cleanup failed'));
    // Retired keys live in this home's files, so every instance expires its own (not one per cluster).
    const expireRetiredKeys = async () => {
      try {
        const removed = expireRetiredHmacKeys(services.home.keysDir, tokens.settings(), services.clock.now());
        if (removed.length === 0) return;
        logger.info({ removed }, 'removed retired hmac keys: every token they signed has expired');
        await services.repo.bumpCounter(KEYS_COUNTER);
        await reloadKeys();
      } catch (error) {
        logger.error({ err: error }, 'retired key expiry failed');
      }
    };
    await expireRetiredKeys();
    inBackground(removeExpired());
    cleanupTimer = setInterval(() => {
      inBackground(removeExpired());
      inBackground(expireRetiredKeys());
    }, options.maintenanceIntervalMs ?? MAINTENANCE_INTERVAL_MS);
    cleanupTimer.unref();

    health.register(repositoryCheck(services.repo));
    health.register(keysCheck(() => services.crypto.keyIds()));
    health.register(farmStoreCheck(farmStore));
    health.register(sessionsCheck(openedSessions, { clock: services.clock }));
    watchOAuthClientChecks({ health, config: services.config, clients: createOAuthClients(services) });
    watchOidcChecks({ health, config: services.config, oidc });
    watchSamlChecks({ ...services, health, saml });
    // One delivery loop per replication agent configured here (an author); a publish has none.
    replication = startReplication({
      ...services,
      health,
      logger,
      // A snapshot (a new publish, a resync) carries the sessions ended before it.
      revokedSessions: sessionStore && (() => sessionStore.listRevoked(services.clock.now())),
      listenAddress: host,
    });
    const healthInterval = () => (services.config.current(HEALTH_PID)['interval.seconds'] as number) * 1000;
    health.start(healthInterval());
    services.config.onChange(HEALTH_PID, () => health.start(healthInterval()));
    services.config.onChange('*', (pid) => logger.info({ configuration: pid }, 'configuration changed'));

    // Users: the token handler watches their counter itself (auth/token-handler.ts).
    watcher = watchCounters(services.repo, {
      handlers: {
        [CONFIG_COUNTER]: () => services.config.refresh(),
        [KEYS_COUNTER]: () => reloadKeys().catch(() => undefined), // the failure is logged
      },
      clock: services.clock,
      recheckMs: options.changePollMs ?? 500,
      polling: {
        onError: (error) => logger.error({ err: error }, 'change polling failed; retrying until the repository answers'),
        onRecovered: () => logger.info('change polling works again'),
      },
    });

    let shuttingDown = false;
    // A publish records its author's session ends in its own session store (tests' registry: none).
    const receiver = createReceiver({ ...services, sessions: sessionStore });
    const app = await buildApp({
      instanceName,
      logger,
      health,
      tokens,
      bruteForce,
      content: createContentService(services.repo, { clock: services.clock }),
      receiver,
      farmMember: createFarmMember({ ...services, receiver, instanceName, reloadKeys }),
      reloadKeys,
      services,
      oidc,
      saml,
      samlLogout,
      trustedProxies: createTrustedProxies(services.config),
      shuttingDown: () => shuttingDown,
      audit,
      metrics,
      tls: options.tls,
      sessions: openedSessions,
      accessLog: options.accessLog === true,
    });
    // Digits and dots (or colons) that are no address are a typo: refused without a name lookup.
    if (isIP(host) === 0 && (/^[0-9.]+$/.test(host) || host.includes(':'))) {
      throw new CapsuleError('INVALID_ARGUMENT', `--host '${host}' is neither an IP address nor a name this machine can resolve`);
    }
    await app.listen({ port: options.port, host }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN' || error.code === 'EAI_NONAME') {
        throw new CapsuleError('INVALID_ARGUMENT', `--host '${host}' is neither an IP address nor a name this machine can resolve`);
      }
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
        const reason = error.code === 'EADDRINUSE' ? 'is in use' : error.code === 'EACCES' ? 'needs privileges' : 'is not an address of this machine';
        throw new CapsuleError('INVALID_ARGUMENT', `port ${options.port} on ${host} ${reason}; choose another with --port or --host`);
      }
      throw error;
    });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    name = options.name ?? `${host}:${port}`;
    const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    logger.info({ url, name }, 'instance started');

    let stopped: Promise<void> | undefined;
    return {
      name,
      url,
      port,
      services,
      health,
      app,
      tokens,
      bruteForce,
      reloadKeys,
      stop: () =>
        (stopped ??= (async () => {
          shuttingDown = true;
          await watcher?.stop();
          clearInterval(cleanupTimer);
          health.stop();
          await replication?.stop();
          await app.close();
          await stopBackground();
          await tokens.close();
          if (!options.sessions) await sessions?.close();
          await farmStore?.close();
          await services.close();
          lockFileHeld.close();
          homeLock.release();
          logger.info('instance stopped');
        })()),
    };
  } catch (error) {
    await watcher?.stop();
    clearInterval(cleanupTimer);
    health.stop();
    await replication?.stop();
    await stopBackground();
    if (!options.sessions) await sessions?.close().catch(() => undefined);
    await farmStore?.close();
    await services.close();
    lockFileHeld.close();
    homeLock.release();
    throw error;
  }
}
