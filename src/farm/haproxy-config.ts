import { loginLimitLines, type LoginRateLimit } from './haproxy-login-limit.js';

export interface LoadBalancerShape {
  /** The first comment lines: who wrote the file and how to run it. */
  readonly header: readonly string[];
  readonly bind: string;
  readonly check: { readonly intervalMs: number; readonly fall: number; readonly rise: number };
  /** `server NAME HOST:PORT check …` lines, indented. */
  readonly servers: readonly string[];
  readonly loginLimit: LoginRateLimit;
}

/**
 * HAProxy's `option httplog` format, with the unique id (`%ID`) at the end, and the request's
 * method, path and version instead of its whole line: a query string may carry a sign-in's code,
 * a SAMLRequest or a token, which must not reach a log (as the instances' access log drops it).
 */
const HTTP_LOG_FORMAT = '%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %HM %HP %HV id=%ID';

/**
 * The one HAProxy configuration of a farm (the local farm's and a manifest's). Round robin
 * without stickiness (no `cookie`, no `stick on`, no `balance source`): encapsulated tokens
 * make every member able to serve every request. A request that cannot reach its member
 * (refused, reset, no answer) is retried on another (`retries`, `option redispatch 1`,
 * `retry-on`), so losing a member costs no request.
 */
export function renderLoadBalancer(shape: LoadBalancerShape): string {
  const loginLimit = loginLimitLines(shape.loginLimit);
  return [
    ...shape.header,
    'global',
    '    maxconn 4096',
    '    # One line per request on standard output (under systemd: log /dev/log local0).',
    '    log stdout format raw local0',
    '',
    'defaults',
    '    mode http',
    '    log global',
    '    # The httplog format, and last the request id the members log too (reqId).',
    `    log-format "${HTTP_LOG_FORMAT}"`,
    '    timeout connect 2s',
    '    timeout client 30s',
    '    timeout server 30s',
    '    timeout check 2s',
    '    # A request whose member fails is sent again to another one, up to three times.',
    '    retries 3',
    '    option redispatch 1',
    '    retry-on conn-failure empty-response response-timeout',
    '',
    ...loginLimit.sections,
    'frontend capsule',
    `    bind ${shape.bind}`,
    '    # The members trust this load balancer (capsule.http proxies.trusted) for the client address',
    '    # and request id: drop what a client claims, then add the address HAProxy saw.',
    '    http-request del-header x-forwarded-for',
    '    http-request del-header x-forwarded-proto',
    '    http-request del-header x-forwarded-host',
    '    http-request del-header x-request-id',
    '    # A new id for every request, sent to the member as X-Request-Id: one id in both logs.',
    '    unique-id-format %[uuid()]',
    '    unique-id-header X-Request-Id',
    ...loginLimit.rules,
    '    option forwardfor',
    '    default_backend publish',
    '',
    'backend publish',
    '    # No stickiness: any member verifies any encapsulated token.',
    '    balance roundrobin',
    '    # Readiness, not the whole health: a third party that is down (an OAuth provider) takes no member out.',
    '    option httpchk GET /system/health/ready',
    '    http-check expect status 200',
    `    default-server inter ${shape.check.intervalMs}ms fall ${shape.check.fall} rise ${shape.check.rise}`,
    ...shape.servers,
    '',
  ].join('\n');
}
