import { defineComponent, property, type ConfigValues } from '../config/index.js';

export const SESSIONS_PID = 'capsule.auth.sessions';

export const sessionsComponent = defineComponent({
  pid: SESSIONS_PID,
  title: 'Sessions',
  description:
    'One session per sign-in, listed to its user and to administrators, and ended from any member: kept in the farm store (capsule.farm.store), else in this instance\'s repository.',
  properties: {
    'session.max.per.user': property.integer({
      title: 'Sessions per user',
      description: 'A sign-in beyond this many live sessions ends the user\'s oldest, so a user\'s list stays short (0: unlimited).',
      default: 100,
      min: 0,
      max: 1_000_000,
    }),
    'lastseen.interval': property.integer({
      title: 'Last seen interval (s)',
      description: 'A session\'s "last seen" is written at most this often: never a write per request.',
      default: 300,
      min: 1,
      max: 86_400,
    }),
  },
});

export interface SessionsSettings {
  /** 0: unlimited. */
  readonly maxPerUser: number;
  readonly lastSeenIntervalMs: number;
}

export function sessionsSettings(values: ConfigValues): SessionsSettings {
  // Defaults where a configuration admin without this component gives none (a bare registry in a test).
  const value = (name: string) => (values[name] ?? sessionsComponent.properties[name]!.default) as number;
  return { maxPerUser: value('session.max.per.user'), lastSeenIntervalMs: value('lastseen.interval') * 1000 };
}
