import type { Clock } from '../clock.js';
import type { Log } from '../log.js';
import { revealSecret, type ConfigAdmin } from '../config/index.js';
import type { CryptoSupport } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import type { RevokedSession } from '../sessions/index.js';
import { AGENT_PID, agentNameOf, agentPid, agentSettings, configuredAgents, type AgentSettings } from './agent-config.js';
import { agentStatePath, CONTROL_COUNTER, readAgentState, updateAgentState } from './agent-state.js';
import { deliverRound, type RoundResult } from './agent.js';
import { createPartPrefetch } from './part-prefetch.js';
import { createOutbox, OUTBOX_COUNTER, type Outbox } from './outbox.js';
import { replicationStatus, type AgentStatus } from './status.js';
import { createHttpTransport, type Transport } from './transport.js';

/** The part of a health registry replication uses. */
export interface HealthChecks {
  register(check: {
    name: string;
    title: string;
    run(): Promise<{ status: 'ok' | 'warn' | 'critical'; message: string; details?: Record<string, string | number | boolean | null> }>;
  }): void;
  unregister(name: string): void;
}

export interface ReplicationServiceDeps {
  readonly repo: Repository;
  readonly config: ConfigAdmin;
  readonly crypto: CryptoSupport;
  readonly users: { onChange(listener: (userId: string | null) => void): () => void };
  readonly clock: Clock;
  readonly health?: HealthChecks;
  readonly logger: Log;
  /** How often the outbox and control counters are read for changes other processes made (default 500 ms). */
  readonly pollMs?: number;
  /** How often delivered items are removed from the outbox (default 60 s). */
  readonly pruneIntervalMs?: number;
  /** The sessions ended and not expired, for snapshots (the instance's session store; none: snapshots carry none). */
  readonly revokedSessions?: () => Promise<readonly RevokedSession[]>;
  /** The address this instance listens on: its connections to a publish on loopback leave from it (see sourceFor). */
  readonly listenAddress?: string;
}

const LOOPBACK_IPV4 = /^127\.\d+\.\d+\.\d+$/;

/**
 * On one machine every loopback connection leaves from 127.0.0.1, the local farm's load balancer
 * address, which the publishes trust as a proxy and would log as the author's. An author on its
 * own loopback address (127.0.0.2) connects from it; between machines the system's choice is right.
 */
function sourceFor(listenAddress: string | undefined, url: string): string | undefined {
  return listenAddress !== undefined && LOOPBACK_IPV4.test(listenAddress) && LOOPBACK_IPV4.test(new URL(url).hostname) ? listenAddress : undefined;
}

export interface ReplicationService {
  status(): Promise<AgentStatus[]>;
  /** Sends at once whatever waits (after a change made in this process). */
  wake(): void;
  stop(): Promise<void>;
}

export function agentCheckName(name: string): string {
  return `replication.agent.${name}`;
}

/** `replication retry NAME`: the head of a blocked queue is sent again now. */
export async function requestRetry(repo: Repository, config: ConfigAdmin, name: string): Promise<void> {
  requireAgent(config, name);
  await updateAgentState(repo, name, () => ({ retryRequested: true }));
  await repo.bumpCounter(CONTROL_COUNTER);
}

/** `replication resync NAME`: a full snapshot is sent again (idempotent on the publish), then the queue. */
export async function requestResync(repo: Repository, config: ConfigAdmin, name: string): Promise<void> {
  requireAgent(config, name);
  // An agent that has not started yet has no state: its first round sends a snapshot anyway.
  await updateAgentState(repo, name, () => ({ resyncRequested: true }));
  await repo.bumpCounter(CONTROL_COUNTER);
}

/** `replication remove NAME`: the configuration and the agent's position go; the outbox stays for the others. */
export async function removeAgent(repo: Repository, config: ConfigAdmin, name: string): Promise<void> {
  requireAgent(config, name);
  await config.delete(agentPid(name));
  await repo.removeNode(agentStatePath(name));
  await repo.bumpCounter(CONTROL_COUNTER);
}

function requireAgent(config: ConfigAdmin, name: string): AgentSettings {
  const pid = agentPid(name);
  if (!config.stored(pid)) throw new CapsuleError('CONFIG_NOT_FOUND', `no replication agent '${name}'; 'capsule replication status' lists them`);
  return agentSettings(name, config.current(pid));
}

/** Removes outbox items every agent has; none while an agent has not said where it stands. */
export async function pruneOutbox(repo: Repository, config: ConfigAdmin, outbox: Outbox): Promise<number> {
  let through = await outbox.head();
  for (const agent of configuredAgents(config)) {
    const state = await readAgentState(repo, agent.name);
    if (!state || (state.snapshotPending && state.snapshotAt === null)) return 0;
    through = Math.min(through, state.snapshotPending ? state.snapshotAt! : state.cursor);
  }
  return outbox.prune(through);
}

interface AgentLoop {
  stopped: boolean;
  blocked: boolean;
  wake: (() => void) | null;
  done: Promise<void>;
}

/** One delivery loop per configured agent, in the running author. */
export function startReplication(deps: ReplicationServiceDeps): ReplicationService {
  const { repo, config, clock, logger } = deps;
  const outbox = createOutbox(repo);
  const loops = new Map<string, AgentLoop>();
  const transports = new Map<string, { key: string; transport: Transport }>();
  let stopped = false;
  // Ends every send in progress when the service stops: a send would otherwise keep the process
  // alive for up to its timeout and then write its outcome into a closed repository.
  const stopping = new AbortController();

  function transportFor(settings: AgentSettings): Transport {
    const key = `${settings.url}\n${settings.transportUser}\n${settings.storedPassword}`;
    let entry = transports.get(settings.name);
    if (!entry || entry.key !== key) {
      const transport = createHttpTransport({
        url: settings.url,
        user: settings.transportUser,
        password: () => revealSecret(settings.storedPassword, deps.crypto, { what: `transport.password of replication agent ${settings.name}`, reenter: `capsule replication remove ${settings.name}, then add it again with --transport-password-stdin` }),
        signal: stopping.signal,
        localAddress: sourceFor(deps.listenAddress, settings.url),
      });
      entry = { key, transport };
      transports.set(settings.name, entry);
    }
    return entry.transport;
  }

  function pause(loop: AgentLoop, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        loop.wake = null;
        resolve();
      }
      loop.wake = done;
    });
  }

  function startLoop(name: string): void {
    const loop: AgentLoop = { stopped: false, blocked: false, wake: null, done: Promise.resolve() };
    const prefetch = createPartPrefetch();
    loops.set(name, loop);
    loop.done = (async () => {
      while (!loop.stopped) {
        const values = config.stored(agentPid(name));
        if (!values) break;
        const settings = agentSettings(name, config.current(agentPid(name)));
        let result = 'waiting' as RoundResult | 'waiting';
        if (settings.enabled) {
          try {
            // Authors sharing a repository take turns: one delivers an agent's queue at a time.
            const ran = await repo.runExclusive(`replication-agent:${name}`, async () => {
              result = await deliverRound(name, { repo, outbox, clock, transport: transportFor(settings), log: logger, revokedSessions: deps.revokedSessions, packageItems: settings.packageItems, prefetch });
            });
            if (!ran) result = 'waiting';
          } catch (error) {
            if (loop.stopped) break;
            logger.error({ err: error, agent: name }, 'replication round failed');
            result = 'blocked';
          }
        }
        loop.blocked = result === 'blocked';
        if (result === 'delivered') continue;
        await pause(loop, result === 'blocked' ? settings.retryDelayMs : 5_000);
      }
    })();
  }

  function registerCheck(name: string): void {
    deps.health?.register({
      name: agentCheckName(name),
      title: `Replication agent ${name}`,
      async run() {
        const status = (await replicationStatus({ repo, config, clock })).find((each) => each.name === name);
        if (!status) return { status: 'ok', message: 'removed' };
        const details = { queued: status.queued, lastDeliveredSequence: status.lastDeliveredSequence, blockedSince: status.blockedSince, lagSeconds: status.lagSeconds };
        if (!status.enabled) return { status: 'warn', message: `disabled; ${status.queued} item(s) wait`, details };
        if (!status.blockedSince) return { status: 'ok', message: `${status.queued} queued; last delivered ${status.lastDeliveredAt ?? 'never'}`, details };
        const settings = agentSettings(name, config.current(agentPid(name)));
        const blockedMs = (status.blockedSeconds ?? 0) * 1000;
        const message = `queue blocked for ${status.blockedSeconds} s at ${status.head ?? 'its head'}; ${status.url} answered: ${status.lastError ?? 'nothing'}`;
        return { status: blockedMs >= settings.blockedAlertMs ? 'critical' : 'warn', message, details };
      },
    });
  }

  function reconcile(): void {
    if (stopped) return;
    const wanted = new Set(configuredAgents(config).map((agent) => agent.name));
    for (const [name, loop] of loops) {
      if (!wanted.has(name)) {
        loop.stopped = true;
        loop.wake?.();
        loops.delete(name);
        deps.health?.unregister(agentCheckName(name));
      }
    }
    for (const name of wanted) {
      if (!loops.has(name)) {
        startLoop(name);
        registerCheck(name);
      }
    }
  }

  function wake(includeBlocked: boolean): void {
    for (const loop of loops.values()) if (includeBlocked || !loop.blocked) loop.wake?.();
  }

  const seen = new Map<string, number>();
  let polling = false;
  async function poll(): Promise<void> {
    if (polling || stopped) return;
    polling = true;
    try {
      for (const counter of [OUTBOX_COUNTER, CONTROL_COUNTER]) {
        const value = await repo.readCounter(counter);
        const previous = seen.get(counter);
        seen.set(counter, value);
        if (previous !== undefined && previous !== value) {
          if (counter === CONTROL_COUNTER) reconcile();
          wake(counter === CONTROL_COUNTER);
        }
      }
    } catch {
      // the repository is unavailable for now; the loops report it themselves
    } finally {
      polling = false;
    }
  }

  reconcile();
  void poll();
  const pollTimer = setInterval(() => void poll(), deps.pollMs ?? 500);
  pollTimer.unref();
  let pruning: Promise<unknown> = Promise.resolve();
  const pruneTimer = setInterval(() => {
    pruning = repo
      .runExclusive('replication-prune', async () => {
        const removed = await pruneOutbox(repo, config, outbox);
        if (removed > 0) logger.info({ removed }, 'removed delivered items from the replication outbox');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'replication outbox pruning failed'));
  }, deps.pruneIntervalMs ?? 60_000);
  pruneTimer.unref();
  const unsubscribers = [
    deps.users.onChange(() => wake(false)),
    config.onChange(AGENT_PID, (pid) => {
      if (agentNameOf(pid)) reconcile();
      wake(true);
    }),
    repo.onCounterBumped((name) => {
      if (name === OUTBOX_COUNTER || name === CONTROL_COUNTER || name === '') void poll();
    }),
  ];

  return {
    status: () => replicationStatus({ repo, config, clock }),
    wake: () => wake(false),
    async stop() {
      stopped = true;
      clearInterval(pollTimer);
      clearInterval(pruneTimer);
      for (const unsubscribe of unsubscribers) unsubscribe();
      for (const loop of loops.values()) {
        loop.stopped = true;
        loop.wake?.();
      }
      stopping.abort();
      await Promise.race([Promise.all([...loops.values()].map((loop) => loop.done)), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      loops.clear();
      await pruning; // it writes to the repository, which closes next
    },
  };
}
