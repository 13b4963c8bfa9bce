import { checkPid, type ComponentDefinition, type ConfigAdmin, type ConfigValue } from '../../config/index.js';
import { isCapsuleError } from '../../errors.js';
import { breakable, html, type SafeHtml } from '../html.js';
import { consolePage, CONSOLE_ROOT, csrfField, notice } from '../layout.js';
import { actionableMessage, redirectTo, show, type ConsolePage, type PageResult } from '../page.js';
import { confirmationPage, isConfirmed } from '../confirm.js';
import type { FormBody, PageContext } from '../types.js';
import { elementId, fieldOfConfigError, formFields, parseForm, stateOfValues, textOf, type FormState } from './config-form.js';

const PATH = `${CONSOLE_ROOT}/configMgr`;
const TITLE = 'Configuration';

/** A form that failed to save, shown again with what was entered and why it was refused. */
interface Draft {
  /** The PID of the form (for a new factory configuration, the factory PID). */
  readonly formPid: string;
  readonly state: FormState;
  readonly formError: string | null;
  readonly name?: string;
}

const NEW_SUFFIX = '~new';

function isValidPid(pid: string): boolean {
  try {
    checkPid(pid);
    return true;
  } catch {
    return false; // only decides whether a query parameter is echoed in a notice
  }
}

function factoryConfigurations(config: ConfigAdmin, factory: ComponentDefinition): string[] {
  return config.list().map(({ pid }) => pid).filter((pid) => pid.startsWith(`${factory.pid}~`));
}

function configurationForm(context: PageContext, config: ConfigAdmin, component: ComponentDefinition, pid: string, draft: Draft | undefined): SafeHtml {
  const mine = draft?.formPid === pid ? draft : undefined;
  const stored = config.stored(pid);
  const state = mine?.state ?? stateOfValues(component, config.current(pid), stored);
  const formId = elementId('cfg', pid);
  return html`<form method="post" action="${PATH}" id="${formId}" novalidate>
    ${csrfField(context)}
    <input type="hidden" name="pid" value="${pid}">
    ${notice('error', mine?.formError)}
    ${formFields(component, formId, state)}
    <div class="actions">
      <button type="submit" name="action" value="save">Save</button>
      ${stored !== null &&
      html`<button type="submit" name="action" value="delete" class="${component.factory ? 'danger' : 'secondary'}">${component.factory ? 'Delete' : 'Reset to defaults'}</button>`}
      ${!component.factory && html`<span class="pid">${stored === null ? 'defaults' : 'stored in the repository'}</span>`}
    </div>
  </form>`;
}

function newFactoryForm(context: PageContext, component: ComponentDefinition, draft: Draft | undefined): SafeHtml {
  const pid = component.pid + NEW_SUFFIX;
  const mine = draft?.formPid === pid ? draft : undefined;
  const state = mine?.state ?? stateOfValues(component, {}, null);
  const formId = elementId('new', component.pid);
  const nameId = elementId(formId, 'name');
  const nameError = mine?.state.errors.name;
  return html`<details${mine ? html` open` : ''}><summary>Add a configuration</summary>
  <form method="post" action="${PATH}" id="${formId}" novalidate>
    ${csrfField(context)}
    <input type="hidden" name="pid" value="${component.pid}">
    ${notice('error', mine?.formError)}
    <div class="field${nameError ? ' invalid' : ''}">
      <label for="${nameId}">Name</label>
      <div><input type="text" id="${nameId}" name="name" value="${mine?.name ?? ''}" required></div>
      ${nameError && html`<p class="error" role="alert">${nameError}</p>`}
      <span class="help">The configuration is stored as <code>${component.pid}~NAME</code>.</span>
    </div>
    ${formFields(component, formId, state)}
    <div class="actions"><button type="submit" name="action" value="create">Add</button></div>
  </form></details>`;
}

function componentCard(context: PageContext, config: ConfigAdmin, component: ComponentDefinition, draft: Draft | undefined): SafeHtml {
  const heading = html`<h2>${component.title}</h2><div class="pid">${breakable(component.pid)}${component.factory ? ' (factory: one configuration per name)' : ''}</div>
    <p class="description">${component.description}</p>`;
  if (!component.factory) {
    return html`<section class="card" id="${elementId('component', component.pid)}">${heading}${configurationForm(context, config, component, component.pid, draft)}</section>`;
  }
  const pids = factoryConfigurations(config, component);
  return html`<section class="card" id="${elementId('component', component.pid)}">${heading}
    ${pids.length === 0 && html`<p class="description">No configurations yet.</p>`}
    ${pids.map((pid) => html`<h3 class="mono">${breakable(pid)}</h3>${configurationForm(context, config, component, pid, draft)}`)}
    ${newFactoryForm(context, component, draft)}
  </section>`;
}

/** Configurations stored under PIDs no component registers: shown as stored, and deletable. */
function unregisteredCard(context: PageContext, config: ConfigAdmin): SafeHtml {
  const others = config.list().filter(({ pid }) => !config.componentOf(pid));
  if (others.length === 0) return html``;
  return html`<section class="card"><h2>Other configurations</h2>
    <p class="description">Stored under PIDs that no component of this instance registers.</p>
    <table><thead><tr><th>PID</th><th>Values</th><th></th></tr></thead><tbody>
    ${others.map(
      ({ pid, values }) => html`<tr><td class="mono">${breakable(pid)}</td>
        <td class="mono">${Object.entries(values).map(([key, value]) => html`${breakable(key)} = ${breakable(textOf(value as ConfigValue))}<br>`)}</td>
        <td><form method="post" action="${PATH}" class="inline">${csrfField(context)}<input type="hidden" name="pid" value="${pid}">
          <button type="submit" name="action" value="delete" class="danger">Delete</button></form></td></tr>`,
    )}
    </tbody></table></section>`;
}

type Messages = { ok?: string | null; error?: string | null };

/** The page of one component: its configuration (or, for a factory, each of them and an Add form). */
const componentHref = (pid: string) => `${PATH}?pid=${encodeURIComponent(pid)}`;

/** Whether a component matches the filter: its title, PID or description contains every word. */
function matches(component: ComponentDefinition, filter: string): boolean {
  const text = `${component.title} ${component.pid} ${component.description}`.toLowerCase();
  return filter
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => text.includes(word));
}

/** The list first (as the Felix console shows it): every component in one line, filtered; one opens at a time. */
function renderList(context: PageContext, config: ConfigAdmin, messages: Messages, filter: string): SafeHtml {
  const shown = config.components().filter((component) => matches(component, filter));
  return consolePage(
    context,
    TITLE,
    html`<p class="lead">Every component of this instance. Open one to see and change its configuration; saving applies the change at once, without restart.</p>
    ${notice('ok', messages.ok)}${notice('error', messages.error)}
    <form method="get" action="${PATH}" class="actions filter" role="search">
      <label for="component-filter">Filter</label>
      <input type="search" id="component-filter" name="filter" value="${filter}" placeholder="title, PID or description">
      <button type="submit" class="secondary">Filter</button>
      ${filter && html`<a href="${PATH}">Show all</a>`}
    </form>
    <section class="card"><table class="components"><thead><tr><th>Component</th><th>PID</th><th>Configuration</th></tr></thead><tbody>
    ${shown.map((component) => {
      const count = component.factory ? factoryConfigurations(config, component).length : 0;
      const state = component.factory ? `${count} configuration${count === 1 ? '' : 's'}` : config.stored(component.pid) === null ? 'defaults' : 'stored';
      return html`<tr id="${elementId('row', component.pid)}"><td><a href="${componentHref(component.pid)}">${component.title}</a></td>
        <td class="mono">${component.pid}${component.factory ? ' (factory)' : ''}</td><td>${state}</td></tr>`;
    })}
    </tbody></table>
    ${shown.length === 0 && html`<p class="description">No component matches “${filter}”.</p>`}
    </section>
    ${unregisteredCard(context, config)}`,
  );
}

function renderComponent(context: PageContext, config: ConfigAdmin, component: ComponentDefinition, messages: Messages, draft?: Draft): SafeHtml {
  return consolePage(
    context,
    TITLE,
    html`<p class="lead"><a href="${PATH}">All components</a> › ${component.title}</p>
    ${notice('ok', messages.ok)}${notice('error', messages.error)}
    ${componentCard(context, config, component, draft)}`,
  );
}

/** A form's page again (its component's), or the list when the PID names no component. */
function renderPage(context: PageContext, config: ConfigAdmin, messages: Messages, draft?: Draft, pid?: string): SafeHtml {
  const component = pid === undefined ? undefined : config.componentOf(pid);
  return component ? renderComponent(context, config, component, messages, draft) : renderList(context, config, messages, '');
}

async function save(context: PageContext, config: ConfigAdmin, form: FormBody): Promise<PageResult> {
  const requestedPid = form.pid ?? '';
  const creating = form.action === 'create';
  const component = config.componentOf(requestedPid);
  if (!component) return show(renderPage(context, config, { error: `no component configures '${requestedPid}'` }), 400);
  const here = (messages: Messages, draft?: Draft) => renderPage(context, config, messages, draft, component.pid);
  const name = (form.name ?? '').trim();
  const pid = creating ? `${component.pid}~${name}` : requestedPid;
  const formPid = creating ? component.pid + NEW_SUFFIX : pid;
  if (!creating && component.factory && config.stored(pid) === null) {
    return show(here({ error: `${pid} does not exist (any more)` }), 404);
  }
  const stored = creating ? null : config.stored(pid);
  const parsed = parseForm(component, form, creating ? null : config.current(pid), stored);
  const errors: Record<string, string> = { ...parsed.errors };
  if (creating) {
    if (!name) errors.name = 'required: enter a name';
    else if (!isValidPid(pid)) errors.name = "letters, digits, '.', '_' and '-' only";
    else if (config.stored(pid) !== null) errors.name = `${pid} exists already`;
  }
  const failed = (formError: string | null, fieldErrors: Record<string, string>) =>
    show(here({ error: `${pid}: not saved; nothing was changed` }, {
      formPid,
      state: { ...parsed.state, errors: fieldErrors },
      formError,
      name,
    }), 400);
  if (Object.keys(errors).length > 0) return failed(null, errors);
  if (!creating && Object.keys(parsed.changes).length === 0) return redirectTo(`${componentHref(component.pid)}&unchanged=${encodeURIComponent(pid)}`);
  try {
    await config.update(pid, parsed.changes);
  } catch (error) {
    const message = actionableMessage(error);
    const field = isCapsuleError(error, 'INVALID_CONFIG') ? fieldOfConfigError(pid, message, component) : null;
    return field ? failed(null, { [field.key]: field.reason }) : failed(message, {});
  }
  return redirectTo(`${componentHref(component.pid)}&saved=${encodeURIComponent(pid)}#${elementId('component', component.pid)}`);
}

async function remove(context: PageContext, config: ConfigAdmin, form: FormBody): Promise<PageResult> {
  const pid = form.pid ?? '';
  const component = config.componentOf(pid);
  const back = component ? componentHref(component.pid) : PATH;
  if (!isConfirmed(form)) {
    const reset = component !== undefined && !component.factory;
    return confirmationPage(context, {
      title: TITLE,
      question: reset ? `Reset ${pid} to its defaults?` : `Delete the configuration ${pid}?`,
      consequence: reset
        ? 'Every stored value of it is removed; the defaults apply at once, on every instance sharing this repository.'
        : `It is removed at once, on every instance sharing this repository${component ? ', with its health check' : ''}. This cannot be undone.`,
      action: PATH,
      fields: { action: 'delete', pid },
      confirmLabel: reset ? 'Reset to defaults' : 'Delete',
      cancel: back,
    });
  }
  try {
    await config.delete(pid);
  } catch (error) {
    return show(renderPage(context, config, { error: actionableMessage(error) }, undefined, pid), 400);
  }
  return redirectTo(`${back}${back.includes('?') ? '&' : '?'}deleted=${encodeURIComponent(pid)}`);
}

export function configManagerPage(config: ConfigAdmin): ConsolePage {
  return {
    path: PATH,
    title: TITLE,
    async render(context, query) {
      const echo = (key: string) => (query[key] && isValidPid(query[key]) ? query[key] : null);
      const saved = echo('saved');
      const deleted = echo('deleted');
      const unchanged = echo('unchanged');
      const ok = saved ? `Saved ${saved}; the change applies now.` : deleted ? `Deleted ${deleted}.` : unchanged ? `${unchanged}: nothing changed.` : null;
      const component = query.pid ? config.componentOf(query.pid) : undefined;
      if (query.pid && (!component || component.pid !== query.pid)) {
        return show(renderList(context, config, { error: isValidPid(query.pid) ? `No component has the PID ${query.pid}.` : 'No such component.' }, ''), 404);
      }
      if (component) return show(renderComponent(context, config, component, { ok }));
      return show(renderList(context, config, { ok }, (query.filter ?? '').slice(0, 200)));
    },
    async submit(context, form) {
      if (form.action === 'delete') return remove(context, config, form);
      if (form.action === 'save' || form.action === 'create') return save(context, config, form);
      return show(renderPage(context, config, { error: 'unknown action' }, undefined, form.pid), 400);
    },
  };
}
