import { isCapsuleError } from '../errors.js';
import type { SafeHtml } from './html.js';
import type { FormBody, PageContext } from './types.js';

export type PageResult =
  | { readonly kind: 'content'; readonly status: number; readonly content: SafeHtml }
  | { readonly kind: 'redirect'; readonly location: string; readonly setCookie?: string };

/** One console page: rendered on GET, and (when it has forms) changed on POST to the same path. */
export interface ConsolePage {
  readonly path: string;
  readonly title: string;
  render(context: PageContext, query: FormBody): Promise<PageResult>;
  submit?(context: PageContext, form: FormBody): Promise<PageResult>;
}

export const show = (content: SafeHtml, status = 200): PageResult => ({ kind: 'content', status, content });

/** After a successful change: the browser fetches the page again, so a reload never repeats the change. */
export const redirectTo = (location: string, setCookie?: string): PageResult => (setCookie === undefined ? { kind: 'redirect', location } : { kind: 'redirect', location, setCookie });

/**
 * The message of an error the administrator can act on (bad input, unknown user, a key
 * problem); anything else is thrown on, to the console's error page, which shows no detail.
 */
export function actionableMessage(error: unknown): string {
  if (isCapsuleError(error) && error.code !== 'INTERNAL') return error.message;
  throw error;
}
