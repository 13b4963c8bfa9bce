import { CapsuleError } from '../../errors.js';
import { FARM_MEMBER_PATH, type MemberInfo } from '../../member/protocol.js';
import { memberClient, type AdminCredentials } from './admin-client.js';
import type { FarmManifestV2 } from './manifest.js';

export interface RemoteMemberStatus {
  readonly name: string;
  readonly role: 'author' | 'publish';
  readonly url: string;
  /** 'ok' | 'warn' | 'critical' from its readiness; 'down' when it does not answer. */
  readonly ready: 'ok' | 'warn' | 'critical' | 'down';
  readonly info: MemberInfo | null;
  readonly error: string | null;
}

export interface RemoteFarmStatus {
  readonly green: boolean;
  readonly members: readonly RemoteMemberStatus[];
  readonly problems: readonly string[];
}

async function readiness(url: string): Promise<'ok' | 'warn' | 'critical' | 'down'> {
  try {
    const response = await fetch(`${url}/system/health/ready`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { status?: string };
    return body.status === 'ok' || body.status === 'warn' || body.status === 'critical' ? body.status : 'critical';
  } catch {
    return 'down';
  }
}

/** The most common value and the members that differ from it (the odd ones out). */
function oddOnesOut(values: ReadonlyArray<{ name: string; value: string }>): { usual: string; odd: Array<{ name: string; value: string }> } {
  const counts = new Map<string, number>();
  for (const { value } of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  const usual = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return { usual, odd: values.filter((entry) => entry.value !== usual) };
}

/** Every member over its admin API: readiness, loaded keys, users, replication; never a home. */
export async function remoteFarmStatus(manifest: FarmManifestV2, credentials: AdminCredentials, manifestFile: string): Promise<RemoteFarmStatus> {
  const members = await Promise.all(
    manifest.members.map(async (member): Promise<RemoteMemberStatus> => {
      const ready = await readiness(member.url);
      try {
        const info = await memberClient(member, credentials).get<MemberInfo>(FARM_MEMBER_PATH);
        return { name: member.name, role: member.role, url: member.url, ready, info, error: null };
      } catch (error) {
        // A wrong password is the operator's mistake, not a member's state: stop with one line.
        if (error instanceof CapsuleError && (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN')) throw error;
        return { name: member.name, role: member.role, url: member.url, ready, info: null, error: (error as Error).message };
      }
    }),
  );
  const problems: string[] = [];
  for (const member of members) {
    if (member.error) problems.push(member.error);
    else if (member.ready !== 'ok' && member.ready !== 'warn') problems.push(`${member.name} (${member.url}) is not ready (${member.ready}); see its /system/health`);
  }
  const answered = members.filter((member): member is RemoteMemberStatus & { info: MemberInfo } => member.info !== null);
  if (answered.length > 1) {
    const fix = `copy the farm's keys to it ('capsule keys export' on a good member, 'capsule keys import' there, then restart it), or finish a rotation with 'capsule farm rotate-hmac --manifest ${manifestFile}'`;
    for (const [what, valueOf] of [
      ['hmac', (info: MemberInfo) => info.keys.hmac.id],
      ['master', (info: MemberInfo) => info.keys.master.id],
    ] as const) {
      const { usual, odd } = oddOnesOut(answered.map((member) => ({ name: member.name, value: valueOf(member.info) })));
      for (const entry of odd) problems.push(`${entry.name} signs with ${what} ${entry.value}, the others with ${usual}: ${fix}`);
    }
    const staged = oddOnesOut(answered.map((member) => ({ name: member.name, value: member.info.keys.stagedHmac?.id ?? 'none' })));
    for (const entry of staged.odd) {
      problems.push(`${entry.name} has staged hmac ${entry.value}, the others ${staged.usual}: a rotation was interrupted; finish it with 'capsule farm rotate-hmac --manifest ${manifestFile}'`);
    }
  }
  return { green: problems.length === 0, members, problems };
}
