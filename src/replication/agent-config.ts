import { defineComponent, property, type ConfigAdmin, type ConfigValues } from '../config/index.js';
import { CapsuleError } from '../errors.js';
import { PACKAGE_ITEMS } from './package.js';

export const AGENT_PID = 'capsule.replication.agent';
const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export const replicationAgentComponent = defineComponent({
  pid: AGENT_PID,
  title: 'Replication Agent',
  description:
    'Sends users, groups, token generations and activated content from this author to one publish (POST /bin/receive), in order, as the transport user. The transport password is encrypted with the master key.',
  factory: true,
  properties: {
    url: property.safeUrl({ title: 'Publish URL', description: "The publish instance's base URL, e.g. https://publish-1:4503 (https: the transport user's password is sent to it; plain http only to a loopback address).", required: true }),
    'transport.user': property.string({
      title: 'Transport user',
      description: 'A member of replication-receivers on the publish.',
      required: true,
    }),
    'transport.password': property.secret({ title: 'Transport password', description: 'Encrypted with the master key when written; never shown.', required: true }),
    enabled: property.boolean({ title: 'Enabled', description: 'A disabled agent keeps its queue and sends nothing.', default: true }),
    'retry.delay.seconds': property.integer({
      title: 'Retry delay (s)',
      description: 'How long a blocked queue waits before it sends its head item again.',
      default: 10,
      min: 1,
      max: 3600,
    }),
    'blocked.alert.seconds': property.integer({
      title: 'Blocked alert (s)',
      description: "The agent's health check turns critical when its queue has been blocked this long.",
      default: 300,
      min: 1,
    }),
    'package.items': property.integer({
      title: 'Items per package',
      description: 'At most this many items (and about 1 MB) go in one package; each package is applied in one transaction on the publish.',
      default: PACKAGE_ITEMS,
      min: 1,
      max: PACKAGE_ITEMS,
    }),
  },
});

export interface AgentSettings {
  readonly name: string;
  readonly pid: string;
  readonly url: string;
  readonly transportUser: string;
  /** As stored: a protected value. */
  readonly storedPassword: string;
  readonly enabled: boolean;
  readonly retryDelayMs: number;
  readonly blockedAlertMs: number;
  readonly packageItems: number;
}

export function checkAgentName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw new CapsuleError('INVALID_ARGUMENT', `'${name}' is not an agent name: use up to 64 letters, digits, '.', '_' and '-'`);
  return name;
}

export function agentPid(name: string): string {
  return `${AGENT_PID}~${checkAgentName(name)}`;
}

export function agentNameOf(pid: string): string | null {
  const prefix = `${AGENT_PID}~`;
  return pid.startsWith(prefix) && pid.length > prefix.length ? pid.slice(prefix.length) : null;
}

export function agentSettings(name: string, values: ConfigValues): AgentSettings {
  const text = (key: string) => (typeof values[key] === 'string' ? (values[key] as string).trim() : '');
  const number = (key: string, fallback: number) => (typeof values[key] === 'number' ? (values[key] as number) : fallback);
  return {
    name,
    pid: agentPid(name),
    url: text('url').replace(/\/+$/, ''),
    transportUser: text('transport.user'),
    storedPassword: text('transport.password'),
    enabled: values.enabled !== false,
    retryDelayMs: number('retry.delay.seconds', 10) * 1000,
    blockedAlertMs: number('blocked.alert.seconds', 300) * 1000,
    packageItems: number('package.items', PACKAGE_ITEMS),
  };
}

/** Every configured agent, by name. */
export function configuredAgents(config: ConfigAdmin): AgentSettings[] {
  const agents: AgentSettings[] = [];
  for (const { pid } of config.list()) {
    const name = agentNameOf(pid);
    if (name) agents.push(agentSettings(name, config.current(pid)));
  }
  return agents.sort((a, b) => (a.name < b.name ? -1 : 1));
}
