import type { ComponentDefinition, ConfigAdmin } from '../../config/index.js';
import { worstOf, type HealthResult, type HealthSummary } from '../../health/index.js';
import { AGENT_PID, agentCheckName } from '../../replication/index.js';
import { breakable, html, type SafeHtml } from '../html.js';
import { consolePage, CONSOLE_ROOT } from '../layout.js';
import { actionableMessage, show, type ConsolePage } from '../page.js';
import type { ConsoleDeps, ConsoleServices } from '../types.js';
import { elementId, textOf } from './config-form.js';
import { statusBadge } from './health.js';

const PATH = `${CONSOLE_ROOT}/components`;
const TITLE = 'Components';

type Fact = readonly [label: string, value: SafeHtml | string | number];

function card(title: string, state: HealthResult['status'] | 'active' | 'failed', facts: readonly Fact[], extra: SafeHtml = html``): SafeHtml {
  const badge = state === 'active' ? html`<span class="badge ok">active</span>` : state === 'failed' ? html`<span class="badge critical">failed</span>` : statusBadge(state);
  return html`<section class="card"><h2>${title} ${badge}</h2>
    <dl class="facts">${facts.map(([label, value]) => html`<dt>${label}</dt><dd>${value}</dd>`)}</dl>${extra}</section>`;
}

function kib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

async function repositoryCard(services: ConsoleServices): Promise<SafeHtml> {
  try {
    const info = await services.repo.info();
    return card('Repository', 'active', [
      ['Backend', info.backend],
      ['Location', html`<code>${breakable(info.location)}</code>`],
      ['Size', kib(info.sizeBytes)],
      ['Nodes', info.nodeCount ?? 0],
      ['Schema version', info.schemaVersion],
    ]);
  } catch (error) {
    return card('Repository', 'failed', [['Error', actionableMessage(error)]]);
  }
}

function cryptoCard(services: ConsoleServices): SafeHtml {
  try {
    const ids = services.crypto.keyIds();
    return card('Crypto support', 'active', [
      ['Key storage', ids.storage === 'file' ? 'file system (keys/)' : 'repository (/etc/key)'],
      ['Master key', html`<code>${ids.master}</code>${ids.stagedMaster && html` (rotation to <code>${ids.stagedMaster}</code> under way)`}`],
      ['HMAC key', html`<code>${ids.hmac}</code>`],
      ['Staged HMAC key', ids.stagedHmac ? html`<code>${ids.stagedHmac}</code>` : 'none'],
      ['Retired HMAC keys', ids.retiredHmac.length === 0 ? 'none' : html`${ids.retiredHmac.map((id) => html`<code>${id}</code> `)}`],
    ], html`<p><a href="${CONSOLE_ROOT}/crypto">Fingerprints, protect and doctor</a></p>`);
  } catch (error) {
    return card('Crypto support', 'failed', [['Error', actionableMessage(error)]]);
  }
}

function tokenCard(deps: ConsoleDeps): SafeHtml {
  const settings = deps.tokens.settings();
  return card('Token Authentication Handler', 'active', [
    ['Token mode', settings.encapsulated ? 'encapsulated (HMAC-signed, any instance with the same HMAC key)' : 'stateful (stored in this repository)'],
    ['Lifetime', `${Math.round(settings.expirationMs / 60_000)} minutes`],
    ['Refresh', settings.refresh ? 'past half-life' : 'off'],
    ['Cookie', `${settings.cookieName}; SameSite=${settings.sameSite}; Secure: ${settings.secure}`],
  ]);
}

function healthCard(summary: HealthSummary): SafeHtml {
  const counts = (['ok', 'warn', 'critical'] as const).map((status) => `${summary.checks.filter((check) => check.status === status).length} ${status}`);
  return card('Health checks', summary.status, [
    ['Checks', summary.checks.length],
    ['Results', counts.join(', ')],
  ], html`<p><a href="${CONSOLE_ROOT}/healthcheck">Every check</a></p>`);
}

/** The health check of a factory configuration: named by its PID, but a replication agent's by the agent. */
function checkNameOf(pid: string): string {
  return pid.startsWith(`${AGENT_PID}~`) ? agentCheckName(pid.slice(AGENT_PID.length + 1)) : pid;
}

/** Factory configurations (OAuth clients, agents and the like), each with its health check. */
function factoryCard(config: ConfigAdmin, component: ComponentDefinition, summary: HealthSummary): SafeHtml | null {
  const pids = config.list().map(({ pid }) => pid).filter((pid) => pid.startsWith(`${component.pid}~`));
  if (pids.length === 0) return null;
  const rows = pids.map((pid) => {
    const values = config.current(pid);
    const check = summary.checks.find((result) => result.name === checkNameOf(pid));
    const shown = Object.entries(component.properties)
      .filter(([key, definition]) => values[key] !== undefined && definition.kind !== 'secret')
      .map(([key]) => html`${breakable(key)} = ${breakable(textOf(values[key]))}<br>`);
    const secrets = Object.entries(component.properties)
      .filter(([, definition]) => definition.kind === 'secret')
      .map(([key]) => html`${breakable(key)}: ${values[key] === undefined ? 'not set' : 'set'}<br>`);
    return html`<tr><td class="mono">${breakable(pid.slice(component.pid.length + 1))}</td><td class="mono">${shown}${secrets}</td>
      <td>${check ? html`${statusBadge(check.status)} ${check.message}` : html`<span class="badge muted">no check</span>`}</td></tr>`;
  });
  const names = new Set(pids.map(checkNameOf));
  const status = worstOf(summary.checks.filter((check) => names.has(check.name)).map((check) => check.status));
  return html`<section class="card"><h2>${component.title} ${statusBadge(status)}</h2>
    <div class="pid">${breakable(component.pid)}</div>
    <table><thead><tr><th>Name</th><th>Settings</th><th>Health</th></tr></thead><tbody>${rows}</tbody></table>
    <p><a href="${CONSOLE_ROOT}/configMgr?pid=${encodeURIComponent(component.pid)}">Configure</a></p></section>`;
}

export function componentsPage(deps: ConsoleDeps, services: ConsoleServices): ConsolePage {
  return {
    path: PATH,
    title: TITLE,
    async render(context) {
      const summary = deps.health.summary();
      const [userCount, groupCount] = await Promise.all([services.users.countUsers(), services.users.countGroups()]);
      const factories = services.config
        .components()
        .filter((component) => component.factory)
        .map((component) => factoryCard(services.config, component, summary))
        .filter((section) => section !== null);
      const configuration = card('Configuration admin', 'active', [
        ['Components', services.config.components().length],
        ['Stored configurations', services.config.list().length],
      ], html`<p><a href="${CONSOLE_ROOT}/configMgr">Configure</a></p>`);
      const userCard = card('Users and groups', 'active', [
        ['Users', userCount],
        ['Groups', groupCount],
      ], html`<p><a href="${CONSOLE_ROOT}/users">Manage</a></p>`);
      return show(
        consolePage(
          context,
          TITLE,
          html`<p class="lead">The services of this instance, their state and key facts.</p>
          <div class="grid">${await repositoryCard(services)}${cryptoCard(services)}${tokenCard(deps)}${healthCard(summary)}${configuration}${userCard}</div>
          ${factories}`,
        ),
      );
    },
  };
}
