import type { Clock } from '../clock.js';
import type { ConfigAdmin } from '../config/index.js';
import { bundleKeysOf, createBundle, loadKeySet, type KeyLocations } from '../crypto/index.js';
import { CapsuleError } from '../errors.js';
import { agentPid, checkAgentName } from '../replication/index.js';
import type { Repository } from '../repository/index.js';
import { newExchangeSalt, newKeyExchange } from './key-exchange.js';
import type { ExportedKeys } from './protocol.js';

export interface NewAgent {
  readonly name: string;
  readonly url: string;
  readonly transportUser: string;
  readonly transportPassword: string;
  /** How long a blocked queue waits before it tries again (the component's default without it). */
  readonly retryDelaySeconds?: number;
}

export interface MemberProvisioning {
  /** The keys as a `keys export` bundle whose passphrase is agreed with the caller's public key (key-exchange.ts). */
  exportKeys(clientPublicKey: string): Promise<ExportedKeys>;
  /** A replication agent for a new publish: it sends a full snapshot first, then the queue. */
  addAgent(agent: NewAgent): Promise<{ name: string; pid: string }>;
}

/** What the author does for `farm add-instance`: hand out the keys (never in clear) and start replicating to the newcomer. */
export function createMemberProvisioning(deps: { repo: Repository; config: ConfigAdmin; home: KeyLocations; clock: Clock }): MemberProvisioning {
  return {
    async exportKeys(clientPublicKey) {
      const exchange = newKeyExchange();
      const salt = newExchangeSalt();
      const passphrase = exchange.passphrase(clientPublicKey, salt, { client: clientPublicKey, server: exchange.publicKey });
      const keys = await loadKeySet(deps.home.keysDir, deps.repo);
      return { bundle: createBundle(bundleKeysOf(keys), passphrase, deps.clock.now()), publicKey: exchange.publicKey, salt };
    },
    async addAgent(agent) {
      const pid = agentPid(checkAgentName(agent.name));
      if (deps.config.stored(pid)) throw new CapsuleError('INVALID_ARGUMENT', `agent '${agent.name}' exists; remove it first ('capsule replication remove ${agent.name}')`);
      // The transport password is a secret property: the configuration protects it with the master key on write.
      await deps.config.update(pid, {
        url: agent.url,
        'transport.user': agent.transportUser,
        'transport.password': agent.transportPassword,
        enabled: true,
        ...(agent.retryDelaySeconds !== undefined && { 'retry.delay.seconds': agent.retryDelaySeconds }),
      });
      return { name: agent.name, pid };
    },
  };
}
