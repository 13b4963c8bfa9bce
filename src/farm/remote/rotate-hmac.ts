import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../../clock.js';
import { CapsuleError } from '../../errors.js';
import { failpoint, pausepoint } from '../../support/failpoint.js';
import { FARM_HMAC_PROMOTE_PATH, FARM_HMAC_STAGE_PATH, FARM_LOCK_PATH, FARM_MEMBER_PATH, FARM_UNLOCK_PATH, type LockGrant, type MemberInfo, type SealedKey, type StagedForFarm } from '../../member/protocol.js';
import { memberClient, type AdminCredentials, type MemberClient } from './admin-client.js';
import { lockMember, type FarmManifestV2 } from './manifest.js';

export const DEFAULT_LOCK_LEASE_MS = 60_000;
const POLL_MS = 200;

export interface RemoteHmacRotation {
  readonly previous: string;
  readonly current: string;
  readonly previousKept: boolean;
  /** True when this run finished a rotation an interrupted run had begun. */
  readonly resumed: boolean;
  readonly members: readonly string[];
  readonly message: string;
}

export interface RemoteRotateOptions {
  readonly discardOld?: boolean;
  /** How long to wait for every member to show a key loaded. */
  readonly waitMs?: number;
  /** The farm lock's lease; renewed while the rotation runs, lapses when the run dies. */
  readonly leaseMs?: number;
  readonly onProgress?: (message: string) => void;
  readonly clock: Clock;
}

const holds = (info: MemberInfo, kid: string) =>
  info.keys.hmac.id === kid || info.keys.stagedHmac?.id === kid || info.keys.retiredHmac.some((key) => key.id === kid);

async function waitFor(client: MemberClient, done: (info: MemberInfo) => boolean, what: string, waitMs: number, clock: Clock): Promise<void> {
  const deadline = clock.now() + waitMs;
  for (;;) {
    if (done(await client.get<MemberInfo>(FARM_MEMBER_PATH))) return;
    if (clock.now() > deadline) {
      throw new CapsuleError(
        'CHECK_FAILED',
        `${client.member.name} (${client.member.url}) has not loaded ${what} within ${waitMs / 1000} s; check its log, then run 'capsule farm rotate-hmac' again to finish this rotation`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Rotates the farm's HMAC key through the members' admin API: the author (or first member)
 * stages a new key and hands it out sealed with the farm's current key; every member stages it;
 * once all verify with it, each publish and then the author promote it. Nobody ever signs a
 * token another member cannot verify. A lock on the author keeps a second run out; a run that
 * died leaves its lock to lapse, and the next run finishes the same rotation.
 */
export async function remoteRotateHmac(manifest: FarmManifestV2, credentials: AdminCredentials, options: RemoteRotateOptions): Promise<RemoteHmacRotation> {
  const progress = options.onProgress ?? (() => undefined);
  const waitMs = options.waitMs ?? 15_000;
  const leaseMs = options.leaseMs ?? DEFAULT_LOCK_LEASE_MS;
  const { clock } = options;
  const clients = manifest.members.map((member) => memberClient(member, credentials));
  const author = lockMember(manifest);
  const authorClient = clients.find((client) => client.member.name === author.name)!;
  const others = clients.filter((client) => client !== authorClient);
  const holder = `${credentials.user}@${hostname()} pid ${process.pid} ${randomBytes(4).toString('hex')}`;

  // Everyone must answer before anything changes.
  const infos = new Map<string, MemberInfo>();
  for (const client of clients) infos.set(client.member.name, await client.get<MemberInfo>(FARM_MEMBER_PATH));

  const grant = await authorClient.post<LockGrant>(FARM_LOCK_PATH, { holder, leaseMs });
  let renewal: Promise<unknown> = Promise.resolve();
  let lockLost: unknown;
  const renew = (rotation?: string) =>
    authorClient.post<LockGrant>(FARM_LOCK_PATH, { holder, leaseMs, ...(rotation && { rotation }) }).catch((error) => {
      lockLost = error;
    });
  const timer = setInterval(() => (renewal = renew()), Math.max(500, Math.floor(leaseMs / 3)));
  const checkLock = () => {
    if (lockLost) throw lockLost;
  };
  try {
    const authorInfo = infos.get(author.name)!;
    // A rotation under way: the one a dead run's lock names, else the key the author has staged.
    const interrupted = grant.tookOver?.rotation || undefined;
    const target = interrupted && holds(authorInfo, interrupted) ? interrupted : (authorInfo.keys.stagedHmac?.id ?? undefined);
    const resumed = target !== undefined;

    // Every member must sign with the author's key, or (a resumed rotation) with the target.
    for (const client of others) {
      const info = infos.get(client.member.name)!;
      const current = info.keys.hmac.id;
      if (current !== authorInfo.keys.hmac.id && current !== target) {
        throw new CapsuleError(
          'KEY_CONFLICT',
          `${client.member.name} signs with hmac ${current}, ${author.name} with ${authorInfo.keys.hmac.id}: they are not one farm; nothing was changed; give ${client.member.name} the farm's keys ('capsule keys export'/'keys import') and run again`,
        );
      }
    }

    // The key's source: the author, unless it no longer holds the key in a form it can hand out.
    const staged = await authorClient.post<StagedForFarm>(FARM_HMAC_STAGE_PATH, target ? { kid: target } : {});
    const kid = staged.staged;
    const sealed: SealedKey = staged.sealed;
    await renew(kid);
    checkLock();
    const previous = authorInfo.keys.hmac.id === kid ? (authorInfo.keys.retiredHmac[0]?.id ?? kid) : authorInfo.keys.hmac.id;
    progress(`${resumed ? 'continuing' : 'starting'} the rotation to hmac ${kid}; staged on ${author.name}`);
    pausepoint('farm-rotate:locked'); // a race test stops this run here, holding the lock

    let stagedCount = 0;
    for (const client of others) {
      await client.post<StagedForFarm>(FARM_HMAC_STAGE_PATH, { sealed });
      if (++stagedCount === 1) failpoint('farm-rotate:staged-partly');
      checkLock();
    }
    for (const client of clients) await waitFor(client, (info) => info.keys.stagedHmac?.id === kid || info.keys.hmac.id === kid, `the staged hmac ${kid}`, waitMs, clock);
    progress(`every member verifies with hmac ${kid}; promoting it (publishes first, ${author.name} last)`);

    const keepPrevious = !options.discardOld;
    let promoted = 0;
    for (const client of [...others, authorClient]) {
      checkLock();
      await client.post(FARM_HMAC_PROMOTE_PATH, { expectedKid: kid, keepPrevious });
      if (++promoted === 1) failpoint('farm-rotate:promoted-partly');
    }
    for (const client of clients) await waitFor(client, (info) => info.keys.hmac.id === kid, `hmac ${kid} as its signing key`, waitMs, clock);
    return {
      previous,
      current: kid,
      previousKept: keepPrevious,
      resumed,
      members: clients.map((client) => client.member.name),
      message: [
        `hmac ${kid} signs on every member now (${clients.map((client) => client.member.name).join(', ')})${resumed ? '; finished the interrupted rotation' : ''}`,
        keepPrevious ? `${previous} is retired and verifies the tokens it signed until they expire` : `${previous} was dropped: every token it signed is void and everyone logs in again`,
      ].join('; '),
    };
  } finally {
    clearInterval(timer);
    await renewal;
    await authorClient.post(FARM_UNLOCK_PATH, { holder }).catch(() => undefined);
  }
}
