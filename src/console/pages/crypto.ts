import { describeKey, diagnoseKeys, loadKeySet, type DoctorReport, type KeyDescription } from '../../crypto/index.js';
import { breakable, html, type SafeHtml } from '../html.js';
import { consolePage, CONSOLE_ROOT, csrfField, notice } from '../layout.js';
import { actionableMessage, redirectTo, show, type ConsolePage, type PageResult } from '../page.js';
import type { ConsoleDeps, ConsoleServices, PageContext } from '../types.js';

const PATH = `${CONSOLE_ROOT}/crypto`;
const TITLE = 'Crypto';
/** Enough for any client secret or password; more is a mistake, not a secret. */
const MAX_PLAIN_LENGTH = 64 * 1024;

interface KeyRow {
  readonly role: string;
  readonly key: KeyDescription;
  readonly note?: string;
}

/** Key ids and SHA-256 fingerprints only: the key bytes never leave this function. */
async function keyTable(services: ConsoleServices, refreshForm: SafeHtml): Promise<SafeHtml> {
  let rows: KeyRow[];
  let storage: string;
  try {
    const keys = await loadKeySet(services.home.keysDir, services.repo);
    storage = keys.storage === 'file' ? `file system (${services.home.keysDir})` : 'repository (/etc/key)';
    rows = [
      { role: 'master', key: describeKey(keys.master), note: 'encrypts protected values' },
      ...(keys.stagedMaster ? [{ role: 'master (staged)', key: describeKey(keys.stagedMaster), note: 'a rotation is under way' }] : []),
      { role: 'hmac', key: describeKey(keys.hmac), note: 'signs login tokens' },
      ...(keys.stagedHmac ? [{ role: 'hmac (staged)', key: describeKey(keys.stagedHmac), note: 'verifies, does not sign yet' }] : []),
      ...keys.retiredHmac.map((retired) => ({
        role: 'hmac (retired)',
        key: describeKey(retired.key),
        note: `retired ${new Date(retired.retiredAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}; verifies until its tokens expire`,
      })),
    ];
  } catch (error) {
    return html`<section class="card"><h2>Keys <span class="badge critical">not loaded</span></h2><p>${actionableMessage(error)}</p>${refreshForm}</section>`;
  }
  const retired = rows.filter((row) => row.role === 'hmac (retired)').length;
  return html`<section class="card"><h2>Keys</h2>
    <dl class="facts"><dt>Storage</dt><dd>${storage}</dd><dt>Retired HMAC keys</dt><dd>${retired === 0 ? 'none' : retired}</dd></dl>
    <table><thead><tr><th>Key</th><th>Id</th><th>SHA-256 fingerprint</th><th></th></tr></thead><tbody>
    ${rows.map((row) => html`<tr><td>${row.role}</td><td data-label="Id"><code>${row.key.id}</code></td><td data-label="SHA-256"><code>${fingerprint(row.key.sha256)}</code></td><td class="pid">${row.note}</td></tr>`)}
    </tbody></table>
    <p class="description">Compare fingerprints across the farm (<code>capsule keys fingerprint</code> on each instance): every instance needs the same keys.</p>
    ${refreshForm}
  </section>`;
}

/** A SHA-256 fingerprint in four groups of 16 hex digits, which may wrap between groups (the first is the key id). */
function fingerprint(hex: string): SafeHtml {
  return html`${(hex.match(/.{1,16}/g) ?? []).map((group, index) => html`${index > 0 ? html`<wbr>` : ''}${group}`)}`;
}

function doctorTable(report: DoctorReport): SafeHtml {
  const levelBadge = (level: string) => html`<span class="badge ${level === 'error' ? 'error' : level}">${level}</span>`;
  return html`<section class="card"><h2>Doctor ${report.ok ? html`<span class="badge ok">ok</span>` : html`<span class="badge error">problems</span>`}</h2>
    <p class="description">What <code>capsule keys doctor</code> finds: key files, their modes, the storage marker, and whether every protected value decrypts.</p>
    <table><thead><tr><th>Level</th><th>Subject</th><th>Finding</th></tr></thead><tbody>
    ${report.findings.map((finding) => html`<tr><td>${levelBadge(finding.level)}</td><td><code>${breakable(finding.subject)}</code></td><td>${finding.message}</td></tr>`)}
    </tbody></table>
    ${report.values.length > 0 &&
    html`<h3>Protected values</h3><table><thead><tr><th>Where</th><th>Property</th><th>Key id</th><th>Decrypts</th></tr></thead><tbody>
      ${report.values.map(
        (value) => html`<tr><td><code>${breakable(value.path)}</code></td><td data-label="Property"><code>${breakable(value.property)}</code></td><td data-label="Key id"><code>${value.kid}</code></td>
          <td data-label="Decrypts">${value.decrypts ? html`<span class="badge ok">yes</span>` : html`<span class="badge error">no</span> ${value.error}`}</td></tr>`,
      )}</tbody></table>`}
  </section>`;
}

async function renderPage(context: PageContext, services: ConsoleServices, extra: { ok?: string | null; error?: string | null; protectedValue?: string }, status = 200): Promise<PageResult> {
  let doctor: SafeHtml;
  try {
    doctor = doctorTable(await diagnoseKeys(services.home, services.repo));
  } catch (error) {
    doctor = html`<section class="card"><h2>Doctor</h2><p>${actionableMessage(error)}</p></section>`;
  }
  const refreshForm = html`<form method="post" action="${PATH}" class="actions">${csrfField(context)}
      <button type="submit" name="action" value="refresh" class="secondary">Refresh keys</button>
      <span class="pid">Reloads the keys from storage, as after copying key files from another instance.</span></form>`;
  return show(
    consolePage(
      context,
      TITLE,
      html`<p class="lead">The master key encrypts secrets at rest; the HMAC key signs login tokens.</p>
      ${notice('ok', extra.ok)}${notice('error', extra.error)}
      ${await keyTable(services, refreshForm)}
      <section class="card"><h2>Protect a value</h2>
        <p class="description">Encrypts text with this instance's master key, for configuration files and other instances with the same key.</p>
        <form method="post" action="${PATH}" novalidate>${csrfField(context)}
          <div class="field"><label for="plain">Plain text</label><div><input type="password" id="plain" name="plain" autocomplete="off"></div>
          <span class="help">Not stored and not shown again.</span></div>
          <div class="actions"><button type="submit" name="action" value="protect">Protect</button></div>
        </form>
        ${extra.protectedValue !== undefined &&
        html`<h3>Protected value</h3><p class="output"><code id="protected-value">${extra.protectedValue}</code></p>`}
      </section>
      ${doctor}`,
    ),
    status,
  );
}

export function cryptoPage(deps: ConsoleDeps, services: ConsoleServices): ConsolePage {
  return {
    path: PATH,
    title: TITLE,
    render: (context, query) => renderPage(context, services, { ok: query.refreshed ? 'Keys reloaded from storage.' : null }),
    async submit(context, form) {
      if (form.action === 'refresh') {
        try {
          await deps.reloadKeys();
        } catch (error) {
          return renderPage(context, services, { error: `Keys not reloaded; the instance keeps the keys it had: ${actionableMessage(error)}` }, 500);
        }
        return redirectTo(`${PATH}?refreshed=1`);
      }
      if (form.action === 'protect') {
        const plain = form.plain ?? '';
        if (plain === '') return renderPage(context, services, { error: 'Enter the text to protect.' }, 400);
        if (plain.length > MAX_PLAIN_LENGTH) return renderPage(context, services, { error: `The text is longer than ${MAX_PLAIN_LENGTH} characters.` }, 400);
        let protectedValue: string;
        try {
          protectedValue = services.crypto.protect(plain);
        } catch (error) {
          return renderPage(context, services, { error: actionableMessage(error) }, 500);
        }
        return renderPage(context, services, { ok: 'Protected with the master key.', protectedValue });
      }
      return renderPage(context, services, { error: 'unknown action' }, 400);
    },
  };
}
