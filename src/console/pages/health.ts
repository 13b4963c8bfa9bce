import type { HealthRegistry, HealthStatus } from '../../health/index.js';
import { breakable, html, type SafeHtml } from '../html.js';
import { consolePage, CONSOLE_ROOT, csrfField, notice } from '../layout.js';
import { redirectTo, show, type ConsolePage } from '../page.js';

const PATH = `${CONSOLE_ROOT}/healthcheck`;
const TITLE = 'Health checks';

export function statusBadge(status: HealthStatus): SafeHtml {
  return html`<span class="badge ${status}">${status}</span>`;
}

/** The same data as `GET /system/health` (the latest results; nothing runs on a page view). */
export function healthPage(health: HealthRegistry, instanceName: () => string): ConsolePage {
  return {
    path: PATH,
    title: TITLE,
    async render(context, query) {
      const summary = health.summary();
      const rows = summary.checks.map(
        (check) => html`<tr data-check="${check.name}"><td>${statusBadge(check.status)}</td>
          <td><strong>${check.title}</strong><div class="pid">${breakable(check.name)}</div></td>
          <td>${check.message}</td>
          <td data-label="Checked">${check.checkedAt ? html`<time datetime="${check.checkedAt}">${check.checkedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time><div class="pid">${check.durationMs} ms</div>` : 'never'}</td></tr>`,
      );
      return show(
        consolePage(
          context,
          TITLE,
          html`<p class="lead">Instance ${instanceName()}: ${statusBadge(summary.status)}. Load balancers read the same results from
            <a href="/system/health"><code>GET /system/health</code></a> (200, or 503 when a check is critical).</p>
          ${notice('ok', query.ran ? 'Every check ran again.' : null)}
          <section class="card">
            <table><thead><tr><th>Status</th><th>Check</th><th>Message</th><th>Checked</th></tr></thead>
            <tbody>${rows.length > 0 ? rows : html`<tr><td colspan="4">No health checks are registered.</td></tr>`}</tbody></table>
            <form method="post" action="${PATH}" class="actions">${csrfField(context)}<button type="submit" name="action" value="run" class="secondary">Run every check now</button></form>
          </section>`,
        ),
      );
    },
    async submit() {
      await health.run();
      return redirectTo(`${PATH}?ran=1`);
    },
  };
}
