import { isLocked, type AccountFailures, type BruteForceProtector, type TokenHandler } from '../../auth/index.js';
import type { Clock } from '../../clock.js';
import { ADMINISTRATORS, DEFAULT_PAGE_SIZE, type GroupSummary, type User, type UserManager } from '../../users/index.js';
import { CapsuleError, isCapsuleError } from '../../errors.js';
import { html, type SafeHtml } from '../html.js';
import { consolePage, CONSOLE_ROOT, csrfField, notice } from '../layout.js';
import { actionableMessage, redirectTo, show, type ConsolePage, type PageResult } from '../page.js';
import type { FormBody, PageContext } from '../types.js';
import { confirmationPage, isConfirmed } from '../confirm.js';
import { elementId } from './config-form.js';
import type { SessionRegistry } from '../../sessions/registry-types.js';
import { sessionTable } from '../session-table.js';

const PATH = `${CONSOLE_ROOT}/users`;
const TITLE = 'Users';
const GROUP_FIELD_PREFIX = 'group.';
/** The id of the datalist that suggests group ids to every row's "Add to group" field. */
const GROUP_CHOICES = 'group-choices';
/** A user or group id (see users/ids.ts); only such a subject is echoed in a notice. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;

/** What a finished action says after the redirect; keyed, so a crafted link cannot put words on the page. */
const DONE: Readonly<Record<string, (subject: string) => string>> = {
  created: (id) => `Created user ${id}.`,
  'group-created': (id) => `Created group ${id}.`,
  disabled: (id) => `Disabled ${id}: no login, no token accepted.`,
  enabled: (id) => `Enabled ${id}.`,
  password: (id) => `Set a new password for ${id}.`,
  added: (id) => `Added ${id} to the group.`,
  removed: (id) => `Removed ${id} from the group.`,
  'removed-user': (id) => `Deleted user ${id}.`,
  unlocked: (id) => `Unlocked ${id}: its failed logins are forgotten on every member sharing the farm store.`,
  'logged-out': (id) => `Logged ${id} out everywhere: every token issued before has ended, on every instance.`,
  'session-revoked': (id) => `Ended a session of ${id}: its device is signed out within a second, on every instance.`,
  'sessions-revoked': (id) => `Ended every session of ${id}.`,
};

function hiddenFields(context: PageContext, action: string, userId?: string): SafeHtml {
  return html`${csrfField(context)}<input type="hidden" name="action" value="${action}">${userId !== undefined && html`<input type="hidden" name="user" value="${userId}">`}`;
}

/** The account's failed logins now: undefined when the farm store could not say. */
type LockView = AccountFailures | null | undefined;

function lockBadge(failures: LockView, nowMs: number): SafeHtml | false {
  if (failures === undefined) return html`<div class="pid">lockout unknown: the farm store is away</div>`;
  if (failures === null) return false;
  if (failures.permanent) return html`<div><span class="badge critical">locked until unlocked</span></div>`;
  if (isLocked(failures, nowMs)) return html`<div><span class="badge critical">locked until ${new Date(failures.lockedUntilMs).toISOString()}</span></div>`;
  return html`<div class="pid">${String(failures.failures)} failed logins</div>`;
}

function userRow(context: PageContext, user: User, failures: LockView, nowMs: number): SafeHtml {
  const self = user.id === context.session.userId;
  const memberships = user.groups.map(
    (groupId) => html`<form method="post" action="${PATH}" class="inline">${hiddenFields(context, 'remove-member', user.id)}
      <input type="hidden" name="group" value="${groupId}"><code>${groupId}</code>
      <button type="submit" class="secondary" title="Remove ${user.id} from ${groupId}" aria-label="Remove ${user.id} from ${groupId}">×</button></form> `,
  );
  return html`<tr id="${elementId('user', user.id)}" data-user="${user.id}">
    <td><strong>${user.id}</strong><div class="pid">${user.path}</div></td>
    <td>${user.disabled ? html`<span class="badge critical">disabled</span>` : html`<span class="badge ok">enabled</span>`}<div class="pid">token generation ${user.generation}</div>${lockBadge(failures, nowMs)}</td>
    <td>${memberships.length > 0 ? memberships : html`<span class="pid">none</span>`}
      <form method="post" action="${PATH}" class="inline" novalidate>${hiddenFields(context, 'add-member', user.id)}
        <input type="text" name="group" list="${GROUP_CHOICES}" aria-label="Group for ${user.id}" placeholder="group id" autocomplete="off">
        <button type="submit" class="secondary">Add to group</button></form></td>
    <td>
      <form method="post" action="${PATH}" class="inline">${hiddenFields(context, user.disabled ? 'enable' : 'disable', user.id)}
        <button type="submit" class="${user.disabled ? 'secondary' : 'danger'}">${user.disabled ? 'Enable' : 'Disable'}</button></form>
      ${failures &&
      html`<form method="post" action="${PATH}" class="inline">${hiddenFields(context, 'unlock', user.id)}
        <button type="submit" class="secondary">Unlock</button></form>`}
      <a href="${PATH}?${new URLSearchParams({ sessions: user.id }).toString()}#sessions">Sessions</a>
      <form method="post" action="${PATH}" class="inline">${hiddenFields(context, 'logout-everywhere', user.id)}
        <button type="submit" class="secondary">Log out everywhere</button></form>
      <form method="post" action="${PATH}" class="inline" novalidate>${hiddenFields(context, 'password', user.id)}
        <input type="password" name="password" autocomplete="new-password" aria-label="New password for ${user.id}" placeholder="new password">
        <button type="submit" class="secondary">Reset password</button></form>
      ${!self &&
      html`<form method="post" action="${PATH}" class="inline">${hiddenFields(context, 'remove', user.id)}
        <button type="submit" class="danger" aria-label="Delete ${user.id}">Delete</button></form>`}
    </td></tr>`;
}

/** Suggestions only (the groups of the page shown below): any group's id may be typed. */
function groupChoices(groups: readonly GroupSummary[]): SafeHtml {
  return html`<datalist id="${GROUP_CHOICES}">${groups.map((group) => html`<option value="${group.id}">`)}</datalist>`;
}

interface UsersPageDeps {
  readonly users: UserManager;
  readonly tokens: TokenHandler;
  readonly bruteForce: BruteForceProtector;
  readonly clock: Clock;
  readonly sessions: SessionRegistry;
}

/** One user's sessions, each live one with a Revoke button (administrators only: the console's pages are). */
async function sessionsSection(context: PageContext, sessions: SessionRegistry, userId: string): Promise<SafeHtml> {
  const views = await sessions.list(userId, context.session.sessionId ?? null);
  const revoke = (sessionId: string) =>
    html`<form method="post" action="${PATH}" class="inline">${hiddenFields(context, 'revoke-session', userId)}<input type="hidden" name="session" value="${sessionId}">
      <button type="submit" class="danger" aria-label="Revoke session ${sessionId} of ${userId}">Revoke</button></form>`;
  return html`<section class="card" id="sessions"><h2>Sessions of ${userId}</h2>
    ${sessionTable(views, (view) => view.state === 'active' && revoke(view.id))}
    ${views.some((view) => view.state === 'active') &&
    html`<form method="post" action="${PATH}" class="actions">${hiddenFields(context, 'revoke-sessions', userId)}<button type="submit" class="secondary">End every session of ${userId}</button></form>`}
  </section>`;
}

/** What the Users page lists: the search form's filters and where the page starts (query parameters). */
interface UserSearch {
  readonly prefix?: string;
  readonly group?: string;
  readonly provider?: string;
  readonly after?: string;
  /** Where the page of groups starts. */
  readonly groupsAfter?: string;
}

const SEARCH_FIELDS = ['prefix', 'group', 'provider', 'after', 'groupsAfter'] as const;

function searchOf(query: FormBody): UserSearch {
  const search: Record<string, string> = {};
  for (const field of SEARCH_FIELDS) {
    const value = query[field]?.trim();
    if (value) search[field] = value;
  }
  return search;
}

function listLink(search: UserSearch, changes: Partial<Record<keyof UserSearch, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const field of SEARCH_FIELDS) {
    const value = field in changes ? changes[field] : search[field];
    if (value !== undefined) params.set(field, value);
  }
  const text = params.toString();
  return text ? `${PATH}?${text}` : PATH;
}

function searchForm(search: UserSearch): SafeHtml {
  const field = (name: 'prefix' | 'group' | 'provider', label: string, help: string) =>
    html`<div class="field"><label for="search-${name}">${label}</label><div><input type="text" id="search-${name}" name="${name}" value="${search[name] ?? ''}" autocomplete="off"></div><span class="help">${help}</span></div>`;
  return html`<form method="get" action="${PATH}" class="search" role="search">
    ${field('prefix', 'Id begins with', 'Case-sensitive.')}
    ${field('group', 'Member of group', 'Direct members of this group.')}
    ${field('provider', 'Provider', 'Users signed in through this OpenID Connect or SAML provider.')}
    <div class="actions"><button type="submit" class="secondary">Search</button> <a href="${PATH}">Clear</a></div></form>`;
}

async function renderPage(
  context: PageContext,
  { users, bruteForce, clock, sessions }: UsersPageDeps,
  messages: { ok?: string | null; error?: string | null },
  status = 200,
  sessionsOf: string | null = null,
  search: UserSearch = {},
): Promise<PageResult> {
  // One page of users and one of groups, each read from an index: never every user (issue 28).
  const { prefix, group, provider, after } = search;
  let searchError: string | null = null;
  const [found, groupPage, userCount, groupCount] = await Promise.all([
    users.findUsers({ prefix, group, provider, after }).catch((error: unknown) => {
      searchError = actionableMessage(error);
      return { users: [], next: null };
    }),
    users.findGroups({ after: search.groupsAfter }),
    users.countUsers(),
    users.countGroups(),
  ]);
  const list = found.users;
  const groups = groupPage.groups;
  // A store that is away leaves the page usable: each row then says it cannot tell.
  const failures = await Promise.all(list.map((user) => bruteForce.status(user.id).catch(() => undefined)));
  const nowMs = clock.now();
  const shownSessions = sessionsOf !== null && ID_PATTERN.test(sessionsOf) && (await users.getUser(sessionsOf)) ? await sessionsSection(context, sessions, sessionsOf) : null;
  const filtered = prefix !== undefined || group !== undefined || provider !== undefined;
  const paging = html`<p class="actions">${after !== undefined && html`<a href="${listLink(search, { after: undefined })}">First</a> `}${found.next !== null && html`<a href="${listLink(search, { after: found.next })}" rel="next">Next</a>`}</p>`;
  return show(
    consolePage(
      context,
      TITLE,
      html`<p class="lead">Users log in with their password; members of <code>${ADMINISTRATORS}</code> may use this console.</p>
      ${notice('ok', messages.ok)}${notice('error', messages.error)}${notice('error', searchError)}
      ${shownSessions}
      <section class="card"><h2>Users</h2>
        <p class="pid" id="user-count">${String(userCount)} users, ${String(groupCount)} groups. ${filtered ? 'Showing the users that match, in id order' : 'Showing users in id order'}, ${String(list.length)} on this page.</p>
        ${searchForm(search)}
        <table><thead><tr><th>User</th><th>State</th><th>Groups</th><th>Actions</th></tr></thead>
        <tbody>${list.map((user, index) => userRow(context, user, failures[index], nowMs))}</tbody></table>
        ${groupChoices(groups)}
        ${list.length === 0 && !searchError && found.next === null && html`<p class="pid">No user matches.</p>`}
        ${list.length < DEFAULT_PAGE_SIZE && found.next !== null && html`<p class="pid" id="short-page">More may follow: a search by group and provider looks at a bounded number of the group's members per page; Next reads on.</p>`}
        ${paging}
      </section>
      <div class="grid">
      <section class="card"><h2>Create a user</h2>
        <form method="post" action="${PATH}" novalidate>${hiddenFields(context, 'create')}
          <div class="field"><label for="new-user-id">User id</label><div><input type="text" id="new-user-id" name="user" autocomplete="off"></div>
            <span class="help">Letters, digits and <code>. _ @ + -</code>, starting with a letter or digit.</span></div>
          <div class="field"><label for="new-user-password">Password</label><div><input type="password" id="new-user-password" name="password" autocomplete="new-password"></div></div>
          ${groups.length > 0 &&
          html`<div class="field"><span>Groups</span><div>${groups.map(
            (group) => html`<label class="checkbox"><input type="checkbox" name="${GROUP_FIELD_PREFIX + group.id}" value="true"> ${group.id}</label>`,
          )}</div></div>`}
          <div class="actions"><button type="submit">Create user</button></div>
        </form>
      </section>
      <section class="card"><h2>Groups</h2>
        <table><thead><tr><th>Group</th><th>Members</th></tr></thead><tbody>
        ${groups.map((group) => html`<tr data-group="${group.id}"><td><code>${group.id}</code></td><td><a href="${listLink({}, { group: group.id })}">${String(group.memberCount)} ${group.memberCount === 1 ? 'member' : 'members'}</a></td></tr>`)}
        </tbody></table>
        <p class="actions">${search.groupsAfter !== undefined && html`<a href="${listLink(search, { groupsAfter: undefined })}">First groups</a> `}${groupPage.next !== null && html`<a href="${listLink(search, { groupsAfter: groupPage.next })}">Next groups</a>`}</p>
        <form method="post" action="${PATH}" class="actions" novalidate>${hiddenFields(context, 'create-group')}
          <input type="text" name="group" aria-label="New group id" placeholder="new group id" autocomplete="off">
          <button type="submit" class="secondary">Create group</button></form>
      </section>
      </div>`,
    ),
    status,
  );
}

/** Runs one action; returns the key of its DONE message and its subject. */
async function perform(context: PageContext, { users, tokens, bruteForce, sessions }: UsersPageDeps, form: FormBody): Promise<{ done: string; subject: string; setCookie?: string }> {
  const userId = form.user ?? '';
  const groupId = form.group ?? '';
  const self = userId === context.session.userId;
  switch (form.action) {
    case 'create': {
      const groups = Object.keys(form).filter((key) => key.startsWith(GROUP_FIELD_PREFIX) && form[key] === 'true').map((key) => key.slice(GROUP_FIELD_PREFIX.length));
      await users.createUser(userId, { password: form.password ?? '', groups });
      return { done: 'created', subject: userId };
    }
    case 'create-group':
      await users.createGroup(groupId);
      return { done: 'group-created', subject: groupId };
    case 'disable':
      if (self) throw new CapsuleError('INVALID_ARGUMENT', 'you cannot disable yourself: you would be locked out of the console');
      await users.setDisabled(userId, true);
      return { done: 'disabled', subject: userId };
    case 'enable':
      await users.setDisabled(userId, false);
      return { done: 'enabled', subject: userId };
    case 'password': {
      // A new password ends every session of the user; one's own change keeps this browser signed in (a new session).
      await users.setPassword(userId, form.password ?? '');
      const again = self ? await users.getUser(userId) : null;
      return again ? { done: 'password', subject: userId, setCookie: await context.signInAgain(again) } : { done: 'password', subject: userId };
    }
    case 'add-member':
      try {
        await users.addMember(groupId, userId);
      } catch (error) {
        // The core's message names a CLI command; here the group is created on this page.
        if (isCapsuleError(error, 'GROUP_NOT_FOUND')) throw new CapsuleError('GROUP_NOT_FOUND', `no group '${groupId}': check its id, or create it under Groups first; ${userId} was not changed`);
        throw error;
      }
      return { done: 'added', subject: userId };
    case 'remove-member':
      if (self && groupId === ADMINISTRATORS) throw new CapsuleError('INVALID_ARGUMENT', `you cannot leave ${ADMINISTRATORS} yourself: you would be locked out of the console`);
      await users.removeMember(groupId, userId);
      return { done: 'removed', subject: userId };
    case 'unlock':
      await bruteForce.unlock(userId, context.session.userId);
      return { done: 'unlocked', subject: userId };
    case 'logout-everywhere':
      await tokens.logoutEverywhere(userId);
      return { done: 'logged-out', subject: userId };
    case 'revoke-session': {
      if (!(await users.getUser(userId))) throw new CapsuleError('USER_NOT_FOUND', `no user ${userId}`);
      const revoked = await sessions.revoke(userId, form.session ?? '', context.session.userId);
      if (!revoked) throw new CapsuleError('NOT_FOUND', `${userId} has no active session with that id; nothing was changed`);
      return { done: 'session-revoked', subject: userId };
    }
    case 'revoke-sessions':
      if (!(await users.getUser(userId))) throw new CapsuleError('USER_NOT_FOUND', `no user ${userId}`);
      await sessions.revokeAll(userId, context.session.userId);
      return { done: 'sessions-revoked', subject: userId };
    case 'remove':
      if (self) throw new CapsuleError('INVALID_ARGUMENT', 'you cannot delete yourself: you would be locked out of the console');
      await users.removeUser(userId); // its node, stateful tokens under it included; encapsulated ones name no user any more
      return { done: 'removed-user', subject: userId };
    default:
      throw new CapsuleError('INVALID_ARGUMENT', 'unknown action');
  }
}

export function usersPage(users: UserManager, tokens: TokenHandler, bruteForce: BruteForceProtector, clock: Clock, sessions: SessionRegistry): ConsolePage {
  const deps: UsersPageDeps = { users, tokens, bruteForce, clock, sessions };
  return {
    path: PATH,
    title: TITLE,
    render(context, query) {
      const { done, subject } = query;
      const message = done && subject && Object.hasOwn(DONE, done) && ID_PATTERN.test(subject) ? DONE[done]!(subject) : null;
      return renderPage(context, deps, { ok: message }, 200, query.sessions ?? null, searchOf(query));
    },
    async submit(context, form) {
      if (form.action === 'remove' && !isConfirmed(form) && form.user !== context.session.userId) {
        const userId = form.user ?? '';
        return confirmationPage(context, {
          title: TITLE,
          question: `Delete user ${userId}?`,
          consequence: `${userId} can no longer log in and every token of ${userId} ends at once. This cannot be undone.`,
          action: PATH,
          fields: { action: 'remove', user: userId },
          confirmLabel: `Delete ${userId}`,
          cancel: PATH,
        });
      }
      let result: { done: string; subject: string; setCookie?: string };
      try {
        result = await perform(context, deps, form);
      } catch (error) {
        return renderPage(context, deps, { error: actionableMessage(error) }, 400, form.action?.startsWith('revoke-session') ? (form.user ?? null) : null);
      }
      const showSessions = form.action === 'revoke-session' || form.action === 'revoke-sessions' ? `&sessions=${encodeURIComponent(result.subject)}#sessions` : '';
      return redirectTo(`${PATH}?done=${encodeURIComponent(result.done)}&subject=${encodeURIComponent(result.subject)}${showSessions}`, result.setCookie);
    },
  };
}
