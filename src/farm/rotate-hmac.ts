import { generateKey, keyId, loadKeySet, promoteStagedHmacKey, stageHmacKey } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import { withFarmHomes, type OpenInstance } from './farm-homes.js';
import { farmAdminCredentials, farmPaths, type FarmInstance } from './manifest.js';
import { createInstanceProber, type InstanceProber, type LoadedKeys } from './instance-probe.js';

export const DEFAULT_LOAD_WAIT_MS = 15_000;
const POLL_MS = 100;

export interface FarmHmacRotation {
  readonly previous: string;
  readonly current: string;
  readonly previousKept: boolean;
  /** Instances that were running and confirmed each step; the others load the keys when they start. */
  readonly running: readonly string[];
  readonly message: string;
}

export interface RotateFarmHmacOptions {
  /** The compromise playbook: drop the old key, ending every token it signed. */
  readonly discardOld?: boolean;
  /** How long to wait for every running instance to load a key. */
  readonly waitMs?: number;
  readonly onProgress?: (message: string) => void;
}

interface HomeKeys {
  readonly home: OpenInstance;
  readonly current: Buffer;
  readonly staged: Buffer | null;
}

/**
 * The key to roll out: a staged key left by an interrupted run when every home agrees with it,
 * else a new one. Homes that already sign with a key the others have staged are a promotion that
 * was interrupted, and it is finished rather than started again.
 */
function chooseKey(homes: readonly HomeKeys[], dir: string): Buffer {
  const currents = new Map(homes.map((entry) => [keyId(entry.current), entry.current]));
  if (currents.size === 1) {
    const staged = homes.map((entry) => entry.staged).filter((key): key is Buffer => key !== null);
    const candidate = staged[0];
    const agreed = candidate && staged.every((key) => key.equals(candidate)) && !candidate.equals(homes[0]!.current);
    return agreed ? candidate : generateKey();
  }
  for (const key of currents.values()) {
    if (homes.every((entry) => entry.current.equals(key) || entry.staged?.equals(key))) return key;
  }
  const ids = homes.map((entry) => `${entry.home.instance.name} ${keyId(entry.current)}`).join(', ');
  throw new CapsuleError('KEY_CONFLICT', `the instances sign with different HMAC keys (${ids}); nothing was changed; make them agree first (see 'capsule farm status --dir ${dir}')`);
}

async function waitUntilLoaded(
  probeInstance: InstanceProber,
  instances: readonly FarmInstance[],
  loaded: (keys: LoadedKeys) => boolean,
  what: string,
  waitMs: number,
): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  const running: string[] = [];
  for (const instance of instances) {
    for (;;) {
      const probe = await probeInstance(instance.url);
      if (!probe.running) break; // loads the keys from its home when it starts
      if (probe.keys && loaded(probe.keys)) {
        running.push(instance.name);
        break;
      }
      if (Date.now() > deadline) {
        throw new CapsuleError(
          'CHECK_FAILED',
          `${instance.name} (${instance.url}) has not loaded ${what} within ${waitMs / 1000} s; nothing more was changed; check its log, then run 'capsule farm rotate-hmac' again to continue`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  return running;
}

/**
 * Rotates the HMAC key of every instance without failing a token: the new key is staged on
 * every instance (verifies, never signs), promoted only once every running instance has loaded
 * it, so no instance signs a token that another cannot verify; the old key is retired and keeps
 * verifying until its tokens expire. Running it again after an interruption finishes the job.
 */
export async function rotateFarmHmac(dir: string, options: RotateFarmHmacOptions = {}): Promise<FarmHmacRotation> {
  const paths = farmPaths(dir);
  const waitMs = options.waitMs ?? DEFAULT_LOAD_WAIT_MS;
  const progress = options.onProgress ?? (() => undefined);
  const probe = createInstanceProber(farmAdminCredentials(paths));
  return withFarmHomes(paths, {}, async (homes) => {
    const instances = homes.map(({ instance }) => instance);
    const keys: HomeKeys[] = [];
    for (const home of homes) {
      const set = await loadKeySet(home.services.home.keysDir, home.services.repo);
      keys.push({ home, current: set.hmac, staged: set.stagedHmac });
    }
    const next = chooseKey(keys, paths.root);
    const nextKid = keyId(next);
    const previous = keyId(keys.find((entry) => !entry.current.equals(next))?.current ?? next);

    for (const { home } of keys) await stageHmacKey(home.services.home, home.services.repo, next);
    progress(`staged hmac ${nextKid} on ${instances.map((instance) => instance.name).join(', ')}; waiting until every running instance verifies with it`);
    await waitUntilLoaded(probe, instances, (loaded) => loaded.stagedHmac === nextKid || loaded.hmac === nextKid, `the staged hmac ${nextKid}`, waitMs);

    const keepPrevious = !options.discardOld;
    for (const { home } of keys) {
      await promoteStagedHmacKey(home.services.home, home.services.repo, { expectedKid: nextKid, keepPrevious });
    }
    progress(`promoted hmac ${nextKid} everywhere; waiting until every running instance signs with it`);
    const running = await waitUntilLoaded(probe, instances, (loaded) => loaded.hmac === nextKid, `hmac ${nextKid} as its signing key`, waitMs);
    const stopped = instances.filter((instance) => !running.includes(instance.name)).map((instance) => instance.name);
    return {
      previous,
      current: nextKid,
      previousKept: keepPrevious,
      running,
      message: [
        `hmac ${nextKid} signs on every instance now (${running.length} running${stopped.length ? `; ${stopped.join(', ')} will load it when started` : ''})`,
        keepPrevious ? `${previous} is retired and verifies the tokens it signed until they expire` : `${previous} was dropped: every token it signed is void and everyone logs in again`,
      ].join('; '),
    };
  });
}
