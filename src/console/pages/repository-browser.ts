import { checkPath, nameOf, parentOf, type Repository, type RepositoryNode } from '../../repository/index.js';
import { breakable, html, type SafeHtml } from '../html.js';
import { consolePage, notice, REPOSITORY_BROWSER_PATH } from '../layout.js';
import { actionableMessage, show, type ConsolePage } from '../page.js';
import { viewOfProperty } from '../repository-view.js';

const TITLE = 'Repository';
/** A folder with thousands of children (tokens, users) must not make a page of megabytes. */
const MAX_CHILDREN_SHOWN = 200;

const linkTo = (path: string) => `${REPOSITORY_BROWSER_PATH}?path=${encodeURIComponent(path)}`;

/** `/`, `/home`, `/home/users`, … down to `path`. */
function ancestorsOf(path: string): string[] {
  const chain: string[] = [];
  for (let current: string | null = path; current !== null; current = parentOf(current)) chain.unshift(current);
  return chain;
}

/** The tree from the root, opened along the path to the current node. */
async function tree(repo: Repository, path: string): Promise<SafeHtml> {
  const chain = ancestorsOf(path);
  async function level(parent: string): Promise<SafeHtml> {
    const children = await repo.getChildren(parent);
    children.sort((a, b) => (a.name < b.name ? -1 : 1));
    const shown = children.slice(0, MAX_CHILDREN_SHOWN);
    const items = await Promise.all(
      shown.map(async (child) => {
        const current = child.path === path;
        // Ancestors of the current node are open, and the current node shows its children.
        const open = chain.includes(child.path) ? await level(child.path) : html``;
        return html`<li><a href="${linkTo(child.path)}"${current ? html` class="current" aria-current="page"` : ''}>${child.name}</a>${open}</li>`;
      }),
    );
    const more = children.length - shown.length;
    return html`<ul>${items}${more > 0 && html`<li class="more">… ${more} more</li>`}</ul>`;
  }
  return html`<nav class="tree card" aria-label="Repository tree"><ul><li><a href="${linkTo('/')}"${path === '/' ? html` class="current"` : ''}>/</a>${await level('/')}</li></ul></nav>`;
}

function propertiesTable(node: RepositoryNode): SafeHtml {
  const rows = Object.entries(node.properties)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => {
      const view = viewOfProperty(node.path, name, value);
      return html`<tr data-property="${name}"><td><code>${name}</code></td><td>${view.type}</td>
        <td>${view.kind === 'text' ? html`<span class="mono">${view.text}</span>` : html`<span class="hidden-value">${view.reason}</span>`}</td></tr>`;
    });
  return html`<table><thead><tr><th>Name</th><th>Type</th><th>Value</th></tr></thead>
    <tbody>${rows.length > 0 ? rows : html`<tr><td colspan="3" class="pid">no properties</td></tr>`}</tbody></table>`;
}

function breadcrumbs(path: string): SafeHtml {
  return html`${ancestorsOf(path).map((ancestor, index) => html`${index > 1 ? ' / ' : ' '}<a href="${linkTo(ancestor)}">${ancestor === '/' ? '/' : nameOf(ancestor)}</a>`)}`;
}

/** `/crx/de`: the node tree and each node's properties, read-only; secrets and key material hidden. */
export function repositoryBrowserPage(repo: Repository): ConsolePage {
  return {
    path: REPOSITORY_BROWSER_PATH,
    title: TITLE,
    async render(context, query) {
      let path: string;
      try {
        path = checkPath(query.path || '/');
      } catch (error) {
        return show(consolePage(context, TITLE, notice('error', actionableMessage(error))), 400);
      }
      const node = await repo.getNode(path);
      if (!node) {
        return show(consolePage(context, TITLE, html`${notice('error', `No node at ${path}.`)}<p><a href="${linkTo('/')}">Back to the root</a></p>`), 404);
      }
      return show(
        consolePage(
          context,
          TITLE,
          html`<p class="lead">Read-only. Key material, password and token hashes and secrets are never shown.</p>
          <div class="browser">
            ${await tree(repo, path)}
            <section class="card">
              <h2 class="mono">${breadcrumbs(path)}</h2>
              <dl class="facts"><dt>Type</dt><dd><code>${breakable(node.type)}</code></dd><dt>Id</dt><dd><code>${node.id}</code></dd>
                <dt>Modified</dt><dd>${node.modified.toISOString()}</dd></dl>
              <h3>Properties</h3>
              ${propertiesTable(node)}
            </section>
          </div>`,
        ),
      );
    },
  };
}
