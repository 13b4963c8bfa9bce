import type { Clock } from '../clock.js';
import { CapsuleError } from '../errors.js';
import { farmPaths, readLocalFarm } from './local-farm.js';
import { livePid, requestRestart } from './pid-files.js';
import { FARM_PROCESS } from './supervisor.js';

const POLL_MS = 200;

export interface RestartedMember {
  readonly name: string;
  readonly url: string;
  readonly previousPid: number | null;
  readonly pid: number;
  readonly message: string;
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/system/health/ready`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false; // not listening yet
  }
}

/**
 * `capsule farm restart NAME --dir D`: asks the running `farm up` (a request file in D/run, which it
 * reads every second) to stop the member and start it again, or to start it when it was left down;
 * resolves once a new process of it answers its readiness check. The other processes are untouched.
 */
export async function restartFarmMember(dir: string, name: string, options: { waitMs: number; clock: Clock }): Promise<RestartedMember> {
  const paths = farmPaths(dir);
  const farm = readLocalFarm(paths);
  const member = farm.members.find((each) => each.name === name);
  if (!member) {
    throw new CapsuleError('INVALID_ARGUMENT', `no member ${name} in ${paths.manifest} (its members: ${farm.members.map((each) => each.name).join(', ')}); nothing was restarted`);
  }
  if (livePid(paths, FARM_PROCESS) === null) {
    throw new CapsuleError('INVALID_ARGUMENT', `the farm in ${paths.root} is not running; start it with 'capsule farm up --dir ${paths.root}' (it starts every member)`);
  }
  const previousPid = livePid(paths, name);
  requestRestart(paths, name);
  const deadline = options.clock.now() + options.waitMs;
  for (;;) {
    const pid = livePid(paths, name);
    if (pid !== null && pid !== previousPid && (await isReady(member.url))) {
      const was = previousPid === null ? 'it was down' : `pid ${previousPid} before`;
      return { name, url: member.url, previousPid, pid, message: `restarted ${name} (pid ${pid}; ${was}); ready on ${member.url}` };
    }
    if (options.clock.now() > deadline) {
      throw new CapsuleError(
        'CHECK_FAILED',
        `${name} is not ready ${options.waitMs / 1000} s after the restart was asked; the output of 'farm up' says why ('capsule farm status --dir ${paths.root}' shows where it stands)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
