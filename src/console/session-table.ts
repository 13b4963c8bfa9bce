import type { SessionView } from '../sessions/registry-types.js';
import { html, type SafeHtml } from './html.js';

/** A time people read: minutes, UTC (a session's times are coarse: last seen is written every few minutes). */
export function readableTime(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

const METHODS: Readonly<Record<SessionView['method'], string>> = {
  password: 'password',
  oidc: 'OpenID Connect',
  saml: 'SAML',
  transport: 'replication transport',
};

const END_REASONS: Readonly<Record<string, string>> = {
  revoked: 'revoked',
  limit: 'ended: too many sessions',
  'password-changed': 'ended: password changed or logged out everywhere',
  'user-disabled': 'ended: user disabled',
  'user-deleted': 'ended: user deleted',
  'logged-out': 'signed out',
};

function stateOf(view: SessionView): SafeHtml {
  if (view.state === 'active') return html`<span class="badge ok">active</span>`;
  const reason = view.endReason ? (END_REASONS[view.endReason] ?? `ended: ${view.endReason}`) : 'ended';
  return html`<span class="badge muted">${reason}</span>${view.endedAt && html`<div class="pid">${readableTime(view.endedAt)}${view.endedBy && ` by ${view.endedBy}`}</div>`}`;
}

/**
 * Sessions as a table: device (browser, OS), address, signed in, last seen, how, state, and an
 * action cell the caller fills (a revoke form with its CSRF token, or nothing). On a phone each
 * row becomes a block and each cell says what it is (`data-label`, see the stylesheet), since
 * seven columns do not fit in 390 px.
 */
export function sessionTable(views: readonly SessionView[], actionFor: (view: SessionView) => SafeHtml | false): SafeHtml {
  if (views.length === 0) return html`<p class="pid">No sessions recorded.</p>`;
  const rows = views.map(
    (view) => html`<tr data-session="${view.id}"${view.current ? html` class="current"` : ''}>
      <td><strong>${view.browser}</strong> on ${view.os}${view.current && html` <span class="badge ok">this device</span>`}<div class="pid" title="${view.userAgent}">${view.instance}</div></td>
      <td data-label="Address"><code>${view.clientAddress}</code></td>
      <td data-label="Signed in" class="time">${readableTime(view.createdAt)}</td>
      <td data-label="Last seen" class="time">${readableTime(view.lastSeenAt)}</td>
      <td data-label="How">${METHODS[view.method] ?? view.method}${view.provider && html` <span class="pid">(${view.provider})</span>`}</td>
      <td data-label="State">${stateOf(view)}</td>
      <td class="action">${actionFor(view)}</td>
    </tr>`,
  );
  return html`<table class="sessions"><thead><tr><th>Device</th><th>Address</th><th>Signed in</th><th>Last seen</th><th>How</th><th>State</th><th></th></tr></thead>
    <tbody>${rows}</tbody></table>`;
}
