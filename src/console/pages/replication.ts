import type { Clock } from '../../clock.js';
import type { ConfigAdmin } from '../../config/index.js';
import { CapsuleError } from '../../errors.js';
import { replicationStatus, requestResync, requestRetry, type AgentStatus } from '../../replication/index.js';
import type { Repository } from '../../repository/index.js';
import { breakable, html, type SafeHtml } from '../html.js';
import { consolePage, CONSOLE_ROOT, csrfField, notice } from '../layout.js';
import { actionableMessage, redirectTo, show, type ConsolePage, type PageResult } from '../page.js';
import type { PageContext } from '../types.js';

const PATH = `${CONSOLE_ROOT}/replication`;
const TITLE = 'Replication';
const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** What a finished action says after the redirect; keyed, so a crafted link cannot put words on the page. */
const DONE: Readonly<Record<string, (agent: string) => string>> = {
  retry: (agent) => `The head of ${agent}'s queue is sent again now.`,
  resync: (agent) => `${agent} gets everything again: a full snapshot, then the queue.`,
};

function badge(status: AgentStatus): SafeHtml {
  if (!status.enabled) return html`<span class="badge warn">disabled</span>`;
  if (status.blockedSince) return html`<span class="badge critical">blocked ${status.blockedSeconds} s</span>`;
  if (status.snapshotPending) return html`<span class="badge warn">snapshot</span>`;
  return html`<span class="badge ok">ok</span>`;
}

/** The badge, and under it how far a snapshot under way has come (blocked or not). */
function state(status: AgentStatus): SafeHtml {
  if (!status.snapshot) return badge(status);
  const { sent, total } = status.snapshot;
  return html`${badge(status)}<div class="pid" data-snapshot-progress>snapshot: ${sent.toLocaleString('en')} of ${total.toLocaleString('en')} items sent</div><progress max="${total}" value="${sent}">${sent} of ${total}</progress>`;
}

function agentRow(context: PageContext, status: AgentStatus): SafeHtml {
  const button = (action: 'retry' | 'resync', label: string, kind: string) =>
    html`<form method="post" action="${PATH}" class="inline">${csrfField(context)}<input type="hidden" name="action" value="${action}"><input type="hidden" name="name" value="${status.name}"><button type="submit" class="${kind}">${label}</button></form>`;
  return html`<tr data-agent="${status.name}">
    <td><strong>${status.name}</strong><div class="pid">${breakable(status.url)}</div></td>
    <td data-label="State">${state(status)}</td>
    <td data-label="Queued">${status.queued}<div class="pid">lag ${status.lagSeconds} s</div></td>
    <td data-label="Head item">${status.head ?? html`<span class="pid">nothing waits</span>`}</td>
    <td data-label="Last error">${status.lastError ?? html`<span class="pid">none</span>`}</td>
    <td data-label="Last delivered">${status.lastDeliveredAt ? status.lastDeliveredAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : 'never'}<div class="pid">package ${status.lastDeliveredSequence}</div></td>
    <td>${button('retry', 'Retry', 'secondary')} ${button('resync', 'Resync', 'secondary')}</td></tr>`;
}

async function renderPage(context: PageContext, deps: { repo: Repository; config: ConfigAdmin; clock: Clock }, messages: { ok?: string | null; error?: string | null }, status = 200): Promise<PageResult> {
  const agents = await replicationStatus(deps);
  return show(
    consolePage(
      context,
      TITLE,
      html`<p class="lead">Agents send users, groups, token generations and activated content from this author to publishes
        (<code>POST /bin/receive</code>), in order; <code>admin</code>, <code>administrators</code> and keys are never replicated.
        Add an agent with <code>capsule replication add-agent</code> or on the Configuration page (Replication Agent).</p>
      ${notice('ok', messages.ok)}${notice('error', messages.error)}
      <section class="card">
        <table><thead><tr><th>Agent</th><th>State</th><th>Queued</th><th>Head item</th><th>Last error</th><th>Last delivered</th><th>Actions</th></tr></thead>
        <tbody>${agents.length > 0 ? agents.map((agent) => agentRow(context, agent)) : html`<tr><td colspan="7">No replication agents are configured on this instance.</td></tr>`}</tbody></table>
      </section>`,
    ),
    status,
  );
}

/** Each agent's queue, its head item and last error, with Retry and Resync (CSRF-protected forms). */
export function replicationPage(deps: { repo: Repository; config: ConfigAdmin; clock: Clock }): ConsolePage {
  return {
    path: PATH,
    title: TITLE,
    render(context, query) {
      const { done, agent } = query;
      const message = done && agent && Object.hasOwn(DONE, done) && NAME_PATTERN.test(agent) ? DONE[done]!(agent) : null;
      return renderPage(context, deps, { ok: message });
    },
    async submit(context, form) {
      const name = form.name ?? '';
      try {
        if (form.action === 'retry') await requestRetry(deps.repo, deps.config, name);
        else if (form.action === 'resync') await requestResync(deps.repo, deps.config, name);
        else throw new CapsuleError('INVALID_ARGUMENT', 'unknown action');
      } catch (error) {
        return renderPage(context, deps, { error: actionableMessage(error) }, 400);
      }
      return redirectTo(`${PATH}?done=${encodeURIComponent(form.action ?? '')}&agent=${encodeURIComponent(name)}`);
    },
  };
}
