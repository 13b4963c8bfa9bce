import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CapsuleError } from '../../errors.js';
import { MAX_PAGE_SIZE, type UserManager } from '../../users/index.js';

export interface UserListRouteDeps {
  readonly services: { readonly users: UserManager };
}

const LIMIT = `a whole number from 1 to ${MAX_PAGE_SIZE}`;
// An id is at most 128 characters (users/ids.ts); a longer filter matches nothing, so it is refused.
const text = z.string().max(128, 'at most 128 characters');
const pageQuery = {
  prefix: text.optional(),
  after: text.optional(),
  limit: z
    .string()
    .refine((value) => /^\d{1,4}$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_PAGE_SIZE, LIMIT)
    .transform(Number)
    .optional(),
};
const usersQuery = z.strictObject({ ...pageQuery, group: text.optional(), provider: text.optional() });
const groupsQuery = z.strictObject(pageQuery);

function parseQuery<T>(schema: z.ZodType<T>, filters: string, query: unknown): T {
  const result = schema.safeParse(query ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.join('.') || (issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'query');
  const message = issue?.code === 'unrecognized_keys' ? `not a filter of this list (${filters})` : (issue?.message ?? 'invalid');
  throw new CapsuleError('INVALID_ARGUMENT', `${where}: ${message}`);
}

/**
 * Pages of users and groups for scripts and the farm's tools, inside the admin API's scope
 * (http/admin-api.ts: administrators and API keys only). Each page is read from an index
 * (UserManager.findUsers/findGroups): its cost is the page's, whatever the number of users.
 * `next` is the `after` of the next page, null on the last.
 */
export function userListRoutes(scope: FastifyInstance, deps: UserListRouteDeps): void {
  const { users } = deps.services;
  scope.get('/api/users', async (request, reply) => {
    const query = parseQuery(usersQuery, 'prefix, group, provider, after, limit', request.query);
    reply.header('cache-control', 'no-store');
    const page = await users.findUsers(query);
    return { users: page.users.map(({ id, groups, disabled, generation }) => ({ id, groups, disabled, generation })), next: page.next };
  });
  scope.get('/api/groups', async (request, reply) => {
    const query = parseQuery(groupsQuery, 'prefix, after, limit', request.query);
    reply.header('cache-control', 'no-store');
    const page = await users.findGroups(query);
    return { groups: page.groups.map(({ id, memberCount }) => ({ id, memberCount })), next: page.next };
  });
}
