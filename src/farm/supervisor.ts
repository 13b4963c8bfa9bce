import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../clock.js';
import { CapsuleError } from '../errors.js';
import { checkHaproxyConfig, findHaproxy } from './haproxy-binary.js';
import { farmPaths, readLocalFarm, type FarmPaths, type LocalMember } from './local-farm.js';
import { livePid, removePidFile, takeRestartRequests, writePidFile } from './pid-files.js';

const CAPSULE_BIN = fileURLToPath(new URL('../../bin/capsule', import.meta.url));
export const FARM_PROCESS = 'farm';
export const HAPROXY_PROCESS = 'haproxy';
const STOP_GRACE_MS = 10_000;
const POLL_MS = 100;

export interface RunFarmOptions {
  /** Aborting it (Ctrl-C, SIGTERM) stops every process of the farm. */
  readonly signal: AbortSignal;
  /** Every line of output: the farm's own, and each process's as `formatLine` makes it. */
  readonly onLine: (line: string) => void;
  /** A process's line as shown (default: `[name] line`, the line as the process wrote it). */
  readonly formatLine?: (name: string, line: string) => string;
  readonly env: NodeJS.ProcessEnv;
  /** How long an instance may take to answer its health check. */
  readonly startTimeoutMs?: number;
  /** How often farm.json is read for instances added while the farm runs. */
  readonly manifestPollMs?: number;
  readonly clock: Clock;
  /** How a member that crashed is started again; `false`: reported and left down. */
  readonly restart?: RestartPolicy | false;
}

/** Back-off for members that crash (exit non-zero or by a signal): each crash in a row waits twice as long. */
export interface RestartPolicy {
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** A member that ran this long since its last start is well again: its count starts over. */
  readonly healthyAfterMs: number;
  /** After this many crashes in a row it is left down and reported (`farm restart NAME` tries again). */
  readonly maxCrashes: number;
}

export const DEFAULT_RESTART: RestartPolicy = { firstDelayMs: 1000, maxDelayMs: 30_000, healthyAfterMs: 60_000, maxCrashes: 5 };

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<void>;
}

class Stopped extends Error {}
/** A member's process ended while it started: its exit is reported (and counted) where it is seen. */
class ExitedWhileStarting extends CapsuleError {}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed (${signal})` : `exited with code ${code}`;
}

/**
 * A member ends with code 0 only when it was asked to stop (SIGTERM or SIGINT: `capsule stop
 * --home`, kill -TERM, Ctrl-C in its own terminal): the operator meant it, so it stays down. A
 * crash ends with another code or by a signal it did not handle (SIGKILL, the OOM killer).
 */
function stoppedOnPurpose(code: number | null, signal: NodeJS.Signals | null): boolean {
  return code === 0 && signal === null;
}

function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Whether a member answers its liveness check (it has started its HTTP server). */
async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/system/health/live`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false; // not listening yet
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `capsule farm up`: every member (`capsule start --host ADDR`) and HAProxy as child processes,
 * their output prefixed with their names, pid files in `D/run/`. Members added to farm.json while
 * it runs are started and HAProxy reloaded (master-worker mode, SIGUSR2). Resolves once every
 * process has stopped after the signal aborts; rejects when the farm cannot start or HAProxy
 * dies, after stopping the rest. No child outlives it, short of a SIGKILL to this process.
 */
export async function runFarm(dir: string, options: RunFarmOptions): Promise<void> {
  const paths = farmPaths(dir);
  const { clock } = options;
  const farm = readLocalFarm(paths);
  const { loadBalancer } = farm.local;
  const haproxy = findHaproxy(options.env);
  refuseIfRunning(paths, [FARM_PROCESS, HAPROXY_PROCESS, ...farm.members.map((member) => member.name)]);
  await checkHaproxyConfig(haproxy, paths.haproxyConfig);
  const instances = [...farm.members];
  for (const { host, port, owner } of [{ ...loadBalancer, owner: 'the load balancer' }, ...instances.map((member) => ({ host: member.host, port: member.port, owner: member.name }))]) {
    if (!(await portIsFree(host, port))) {
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `${host}:${port} (${owner}) is in use or cannot be bound; stop what holds it ('ss -ltnp' shows it), or create the farm with another --port or --member-port`,
      );
    }
  }

  const formatLine = options.formatLine ?? ((name: string, line: string) => `[${name}] ${line}`);
  const restartPolicy = options.restart === undefined ? DEFAULT_RESTART : options.restart;
  const children = new Map<string, Child>();
  /** Members stopped by `farm restart`: their exit is no crash. */
  const restartAsked = new Set<string>();
  const crashes = new Map<string, { inARow: number; startedAt: number }>();
  const startedAt = new Map<string, number>();
  const restartTimers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let balancing = false;
  let haproxyFailed: (error: Error) => void = () => undefined;
  const haproxyDied = new Promise<never>((_, reject) => (haproxyFailed = reject));
  haproxyDied.catch(() => undefined); // observed below; only unhandled while starting

  const stopped = new Promise<never>((_, reject) => {
    const abort = () => reject(new Stopped());
    if (options.signal.aborted) abort();
    else options.signal.addEventListener('abort', abort, { once: true });
  });
  stopped.catch(() => undefined);
  const untilStopped = <T>(work: Promise<T>): Promise<T> => Promise.race([work, stopped]);

  function spawnChild(name: string, command: string, args: readonly string[]): Child {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...options.env, CAPSULE_HOME: '', CAPSULE_PORT: '' } });
    const prefix = `[${name}] `;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => options.onLine(formatLine(name, line)));
    }
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        removePidFile(paths, name);
        children.delete(name);
        const member = instances.find((each) => each.name === name);
        if (!stopping && member && restartAsked.delete(name)) {
          options.onLine(`farm: ${name} stopped (${describeExit(code, signal)}) for 'farm restart'; starting it again`);
          void restartMember(member);
        } else if (!stopping) {
          const consequence =
            name === HAPROXY_PROCESS
              ? '; stopping the farm'
              : !balancing
                ? ''
                : instances.find((member) => member.name === name)?.role === 'author'
                  ? '; the publishes keep serving, and changes wait until the author is back'
                  : '; the load balancer sends its requests to the other publishes';
          options.onLine(`${prefix}${describeExit(code, signal)}${consequence}`);
          if (name === HAPROXY_PROCESS) haproxyFailed(new CapsuleError('CHECK_FAILED', `haproxy ${describeExit(code, signal)}; the farm was stopped`));
          else if (member && balancing && stoppedOnPurpose(code, signal)) {
            crashes.delete(name);
            options.onLine(`farm: ${name} was stopped (exit 0): not restarted; 'capsule farm restart ${name} --dir ${paths.root}' starts it again`);
          } else if (member && balancing && restartPolicy !== false) scheduleRestart(member, restartPolicy);
        }
        resolve();
      });
      child.once('error', (error) => {
        removePidFile(paths, name);
        children.delete(name);
        options.onLine(`${prefix}cannot run ${command}: ${error.message}`);
        resolve();
      });
    });
    if (child.pid !== undefined) writePidFile(paths, name, child.pid);
    startedAt.set(name, clock.now());
    const entry = { name, process: child, exited };
    children.set(name, entry);
    return entry;
  }

  async function startInstance(instance: LocalMember): Promise<void> {
    const child = spawnChild(instance.name, process.execPath, [
      CAPSULE_BIN, 'start', '--home', instance.home, '--host', instance.host, '--port', String(instance.port), '--name', instance.name,
    ]);
    const deadline = clock.now() + (options.startTimeoutMs ?? 30_000);
    for (;;) {
      if (child.process.exitCode !== null || child.process.signalCode !== null) {
        throw new ExitedWhileStarting('CHECK_FAILED', `${instance.name} did not start (${describeExit(child.process.exitCode, child.process.signalCode)}); its output above says why`);
      }
      if (await answers(instance.url)) return;
      if (clock.now() > deadline) throw new CapsuleError('CHECK_FAILED', `${instance.name} did not answer on ${instance.url} within ${(options.startTimeoutMs ?? 30_000) / 1000} s; its output above says why`);
      await pause(POLL_MS);
    }
  }

  async function startLoadBalancer(): Promise<void> {
    const child = spawnChild(HAPROXY_PROCESS, haproxy, ['-W', '-db', '-f', paths.haproxyConfig]);
    const deadline = clock.now() + 10_000;
    while (await portIsFree(loadBalancer.host, loadBalancer.port)) {
      if (child.process.exitCode !== null || child.process.signalCode !== null) {
        throw new CapsuleError('CHECK_FAILED', `haproxy did not start (${describeExit(child.process.exitCode, child.process.signalCode)}); its output above says why`);
      }
      if (clock.now() > deadline) throw new CapsuleError('CHECK_FAILED', `haproxy did not listen on ${loadBalancer.host}:${loadBalancer.port} within 10 s`);
      await pause(POLL_MS);
    }
  }

  /** After a crash: started again after a back-off that doubles with each crash in a row; left down after too many. */
  function scheduleRestart(member: LocalMember, policy: RestartPolicy): void {
    const now = clock.now();
    const ran = now - (startedAt.get(member.name) ?? now);
    const previous = crashes.get(member.name);
    const inARow = previous && ran < policy.healthyAfterMs ? previous.inARow + 1 : 1;
    crashes.set(member.name, { inARow, startedAt: now });
    if (inARow > policy.maxCrashes) {
      options.onLine(
        `farm: ${member.name} stopped ${inARow} times in a row, each within ${policy.healthyAfterMs / 1000} s of its start; left down (its output above says why); 'capsule farm restart ${member.name} --dir ${paths.root}' starts it again`,
      );
      return;
    }
    const delay = Math.min(policy.firstDelayMs * 2 ** (inARow - 1), policy.maxDelayMs);
    options.onLine(`farm: restarting ${member.name} in ${delay / 1000} s (${inARow} of at most ${policy.maxCrashes} restarts in a row)`);
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (!stopping) void restartMember(member);
    }, delay);
    restartTimers.add(timer);
  }

  async function restartMember(member: LocalMember): Promise<void> {
    // A process of it already (spawning registers it at once): this start is not needed. Not `starting`:
    // a start whose process died may not have noticed yet, and must not hold up the next one.
    if (children.has(member.name)) return;
    starting.add(member.name);
    try {
      await untilStopped(startInstance(member));
      options.onLine(`farm: ${member.name} runs again on ${member.url} (pid ${children.get(member.name)?.process.pid})`);
    } catch (error) {
      // An exit while starting is reported (and counted) by the exit handler; say only what it cannot.
      if (!(error instanceof Stopped) && !(error instanceof ExitedWhileStarting)) options.onLine(`farm: ${(error as Error).message}`);
    } finally {
      starting.delete(member.name);
    }
  }

  /** `farm restart NAME`: a running member is stopped (its exit then starts it again); one left down is started. */
  function takeRestarts(): void {
    for (const name of takeRestartRequests(paths)) {
      const member = instances.find((each) => each.name === name);
      if (!member) {
        options.onLine(`farm: a restart of ${name} was asked, but the farm has no such member`);
        continue;
      }
      crashes.delete(name);
      const running = children.get(name);
      if (running) {
        restartAsked.add(name);
        running.process.kill('SIGTERM');
      } else if (!starting.has(name)) {
        options.onLine(`farm: starting ${name} for 'farm restart'`);
        void restartMember(member);
      }
    }
  }

  const starting = new Set<string>();
  async function startAddedInstances(): Promise<void> {
    const added = readLocalFarm(paths).members.filter(
      (member) => !children.has(member.name) && !starting.has(member.name) && !instances.some((known) => known.name === member.name),
    );
    for (const instance of added) {
      starting.add(instance.name);
      instances.push(instance);
      options.onLine(`farm: starting ${instance.name}, added to ${paths.manifest}`);
      try {
        await untilStopped(startInstance(instance));
        children.get(HAPROXY_PROCESS)?.process.kill('SIGUSR2'); // master-worker: reload the configuration, no connection lost
        options.onLine(`farm: ${instance.name} runs on ${instance.url}; HAProxy reloaded ${paths.haproxyConfig}`);
      } catch (error) {
        if (!(error instanceof Stopped)) options.onLine(`farm: ${(error as Error).message}`);
      } finally {
        starting.delete(instance.name);
      }
    }
  }

  async function stopAll(): Promise<void> {
    stopping = true;
    for (const timer of restartTimers) clearTimeout(timer);
    const order = [children.get(HAPROXY_PROCESS), ...[...children.values()].filter((child) => child.name !== HAPROXY_PROCESS)];
    for (const child of order) child?.process.kill('SIGTERM');
    const all = Promise.all([...children.values()].map((child) => child.exited));
    const timer = setTimeout(() => {
      for (const child of children.values()) child.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await all;
    clearTimeout(timer);
  }

  writePidFile(paths, FARM_PROCESS, process.pid);
  takeRestartRequests(paths); // left by a 'farm restart' of a farm that stopped meanwhile: not for this run
  let watcher: NodeJS.Timeout | undefined;
  try {
    await untilStopped(Promise.all(instances.map(startInstance)));
    await untilStopped(startLoadBalancer());
    balancing = true;
    options.onLine(
      `farm up: load balancer http://${loadBalancer.host}:${loadBalancer.port} (haproxy pid ${children.get(HAPROXY_PROCESS)?.process.pid}) -> ${instances
        .map((member) => `${member.name} ${member.url} (pid ${children.get(member.name)?.process.pid})`)
        .join(', ')}; Ctrl-C stops it`,
    );
    let polling = false;
    watcher = setInterval(() => {
      if (polling) return;
      polling = true;
      try {
        takeRestarts();
      } catch (error) {
        options.onLine(`farm: cannot read the restart requests in ${paths.runDir}: ${(error as Error).message}`);
      }
      startAddedInstances()
        .catch((error: Error) => options.onLine(`farm: cannot read ${paths.manifest}: ${error.message}`))
        .finally(() => (polling = false));
    }, options.manifestPollMs ?? 1000);
    await Promise.race([stopped, haproxyDied]);
  } catch (error) {
    if (!(error instanceof Stopped)) throw error;
  } finally {
    clearInterval(watcher);
    await stopAll();
    takeRestartRequests(paths);
    removePidFile(paths, FARM_PROCESS);
    options.onLine('farm: every process has stopped');
  }
}

function refuseIfRunning(paths: FarmPaths, names: readonly string[]): void {
  const running = names.map((name) => ({ name, pid: livePid(paths, name) })).filter((entry) => entry.pid !== null);
  if (running.length > 0) {
    const farm = running.find((entry) => entry.name === FARM_PROCESS);
    throw new CapsuleError(
      'INVALID_ARGUMENT',
      `the farm in ${paths.root} already runs (${running.map((entry) => `${entry.name} pid ${entry.pid}`).join(', ')}); stop it first${farm ? ` with 'kill -TERM ${farm.pid}'` : ''}`,
    );
  }
}
