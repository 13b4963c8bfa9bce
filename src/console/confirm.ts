import { html, type SafeHtml } from './html.js';
import { consolePage, csrfField } from './layout.js';
import { show, type PageResult } from './page.js';
import type { FormBody, PageContext } from './types.js';

/** The field a confirmed form carries; without it a destructive action only asks. */
export const CONFIRM_FIELD = 'confirm';

export const isConfirmed = (form: FormBody) => form[CONFIRM_FIELD] === 'yes';

/**
 * "Are you sure?" without JavaScript (the console's pages may run none): a page that repeats the
 * request with `confirm=yes`, or goes back. Nothing has changed when it shows.
 */
export function confirmationPage(
  context: PageContext,
  request: { readonly title: string; readonly question: string; readonly consequence: string; readonly action: string; readonly fields: FormBody; readonly confirmLabel: string; readonly cancel: string },
): PageResult {
  const hidden: SafeHtml[] = Object.entries(request.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return show(
    consolePage(
      context,
      request.title,
      html`<section class="card confirm" role="alertdialog" aria-labelledby="confirm-question">
        <h2 id="confirm-question">${request.question}</h2>
        <p class="description">${request.consequence}</p>
        <form method="post" action="${request.action}" class="actions">${csrfField(context)}${hidden}
          <input type="hidden" name="${CONFIRM_FIELD}" value="yes">
          <button type="submit" class="danger">${request.confirmLabel}</button>
          <a href="${request.cancel}">Cancel</a>
        </form>
      </section>`,
    ),
  );
}
