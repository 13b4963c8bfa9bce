import { keyId, loadKeySet } from '../crypto/index.js';
import { openServices } from '../instance/services.js';
import { farmAdminCredentials, instancesOf, loadBalancerUrl, readManifest, farmPaths, type FarmInstance, type FarmPaths } from './manifest.js';
import { livePid } from './pid-files.js';
import { createInstanceProber, type LoadedKeys } from './instance-probe.js';

export const HAPROXY_PROCESS = 'haproxy';

export interface InstanceStatus {
  readonly name: string;
  readonly port: number;
  readonly home: string;
  /** The pid `farm up` recorded, when that process still runs. */
  readonly pid: number | null;
  /** The instance's own health summary, or 'down' when it does not answer. */
  readonly health: 'ok' | 'warn' | 'critical' | 'down';
  /** Key ids in the home (what the instance uses once it has (re)loaded them). */
  readonly hmac: string | null;
  readonly master: string | null;
  readonly stagedHmac: string | null;
  /** Key ids the running instance has loaded; null when it does not run. */
  readonly loaded: LoadedKeys | null;
  readonly users: number | null;
  /** Why the home's keys or users could not be read. */
  readonly error: string | null;
}

export interface FarmStatus {
  readonly dir: string;
  readonly loadBalancer: { readonly url: string; readonly pid: number | null };
  /** False when a token or a protected value from one instance would fail on another. */
  readonly green: boolean;
  readonly instances: readonly InstanceStatus[];
  /** What makes the farm red, each naming the instance and the command that fixes it. */
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

interface HomeFacts {
  readonly hmac: string | null;
  readonly master: string | null;
  readonly stagedHmac: string | null;
  readonly userIds: readonly string[] | null;
  readonly error: string | null;
}

async function readHome(instance: FarmInstance): Promise<HomeFacts> {
  try {
    const services = await openServices({ home: instance.home });
    try {
      const userIds = (await services.users.listUsers()).map((user) => user.id);
      const keys = await loadKeySet(services.home.keysDir, services.repo).catch((error: Error) => error);
      if (keys instanceof Error) return { hmac: null, master: null, stagedHmac: null, userIds, error: keys.message };
      return { hmac: keyId(keys.hmac), master: keyId(keys.master), stagedHmac: keys.stagedHmac && keyId(keys.stagedHmac), userIds, error: null };
    } finally {
      await services.close();
    }
  } catch (error) {
    return { hmac: null, master: null, stagedHmac: null, userIds: null, error: (error as Error).message };
  }
}

/** The value most instances have (the first one seen on a tie): the farm's reference. */
function majority(values: ReadonlyArray<string | null>): string | null {
  const counts = new Map<string, number>();
  for (const value of values) if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best: string | null = null;
  for (const [value, count] of counts) if (best === null || count > counts.get(best)!) best = value;
  return best;
}

function keyProblems(instances: readonly InstanceStatus[]): string[] {
  const hmac = majority(instances.map((instance) => instance.hmac));
  const master = majority(instances.map((instance) => instance.master));
  const reference = instances.find((instance) => instance.hmac === hmac && instance.master === master);
  const problems: string[] = [];
  for (const instance of instances) {
    if (instance.error !== null) {
      problems.push(`${instance.name}: ${instance.error}`);
      continue;
    }
    const odd = [instance.hmac !== hmac && `hmac ${instance.hmac}`, instance.master !== master && `master ${instance.master}`].filter(Boolean);
    if (odd.length > 0) {
      const consequence = instance.hmac !== hmac ? 'a token signed on one fails on the other' : 'a secret protected on one does not decrypt on the other';
      const fix = reference
        ? `copy the farm's keys: 'capsule keys export --out farm-keys.bundle --home ${reference.home}', then 'capsule keys import --in farm-keys.bundle --force --home ${instance.home}'`
        : `make the keys agree with 'capsule keys export' and 'capsule keys import --force'`;
      problems.push(`${instance.name} has ${odd.join(' and ')} where the farm has hmac ${hmac} and master ${master}: ${consequence}; ${fix}`);
    } else if (instance.loaded && (instance.loaded.hmac !== instance.hmac || instance.loaded.master !== instance.master)) {
      problems.push(
        `${instance.name} runs with hmac ${instance.loaded.hmac} and master ${instance.loaded.master} but its home has hmac ${instance.hmac} and master ${instance.master}; it reloads its keys within a second of a change; if this stays, reload it with 'kill -HUP ${instance.pid ?? 'PID'}'`,
      );
    }
  }
  return problems;
}

function userWarnings(instances: readonly InstanceStatus[], facts: readonly HomeFacts[], paths: FarmPaths): string[] {
  const everyone = new Set(facts.flatMap((fact) => fact.userIds ?? []));
  const warnings: string[] = [];
  for (const id of [...everyone].sort()) {
    const missing = instances.filter((_, index) => facts[index]!.userIds !== null && !facts[index]!.userIds!.includes(id)).map((instance) => instance.name);
    if (missing.length > 0) {
      warnings.push(`user ${id} is missing on ${missing.join(', ')}, so its token fails there; add it with 'capsule farm users passwd ${id} --password-stdin --dir ${paths.root}'`);
    }
  }
  return warnings;
}

/** Every instance's pid, health, key ids and users; red when the key ids differ. */
export async function farmStatus(dir: string): Promise<FarmStatus> {
  const paths = farmPaths(dir);
  const manifest = readManifest(paths);
  const members = instancesOf(manifest, paths);
  const facts = await Promise.all(members.map(readHome));
  const probe = createInstanceProber(farmAdminCredentials(paths));
  const probes = await Promise.all(members.map((instance) => probe(instance.url)));
  const instances: InstanceStatus[] = members.map((instance, index) => {
    const fact = facts[index]!;
    const probe = probes[index]!;
    return {
      name: instance.name,
      port: instance.port,
      home: instance.home,
      pid: livePid(paths, instance.name),
      health: probe.running ? probe.health : 'down',
      hmac: fact.hmac,
      master: fact.master,
      stagedHmac: fact.stagedHmac,
      loaded: probe.running ? probe.keys : null,
      users: fact.userIds?.length ?? null,
      error: fact.error,
    };
  });
  const problems = keyProblems(instances);
  const warnings = userWarnings(instances, facts, paths);
  const staged = instances.filter((instance) => instance.stagedHmac !== null);
  if (staged.length > 0) {
    warnings.push(`an HMAC rotation is unfinished (staged hmac on ${staged.map((instance) => instance.name).join(', ')}); finish it with 'capsule farm rotate-hmac --dir ${paths.root}'`);
  }
  const running = instances.filter((instance) => instance.health !== 'down');
  if (running.length > 0 && running.length < instances.length) {
    const down = instances.filter((instance) => instance.health === 'down').map((instance) => instance.name);
    warnings.push(`${down.join(', ')} ${down.length === 1 ? 'does' : 'do'} not answer; the load balancer sends ${down.length === 1 ? 'its' : 'their'} requests to the others`);
  }
  return {
    dir: paths.root,
    loadBalancer: { url: loadBalancerUrl(manifest), pid: livePid(paths, HAPROXY_PROCESS) },
    green: problems.length === 0,
    instances,
    problems,
    warnings,
  };
}
