import type { ConfigAdmin } from '../config/index.js';
import type { Repository } from '../repository/index.js';
import type { RevokedSession } from '../sessions/index.js';
import { configuredAgents } from './agent-config.js';
import { createOutbox } from './outbox.js';

/**
 * What an author's session registry calls once sessions ended (its `onEnded`): one outbox item per
 * session, delivered in order with users and content, so a publish without the farm store refuses
 * the same tokens. An instance without agents writes nothing: no agent would read the items (an
 * agent added later starts from a snapshot, which carries every ended session still unexpired).
 */
export function sessionEndsToOutbox({ repo, config }: { repo: Repository; config: ConfigAdmin }): (ended: readonly RevokedSession[]) => Promise<void> {
  const outbox = createOutbox(repo);
  return async (ended) => {
    if (ended.length === 0 || configuredAgents(config).length === 0) return;
    await outbox.sessionsEnded(ended);
  };
}
