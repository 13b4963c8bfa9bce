/** The console's one stylesheet, served from STYLESHEET_PATH. */
export const STYLESHEET_PATH = '/system/console/res/console.css';

export const STYLESHEET = `
:root { --ink: #1d2430; --muted: #5b6576; --line: #d9dee7; --panel: #ffffff; --page: #f3f5f8; --accent: #1f5fbf;
  --ok: #1e7b3c; --ok-bg: #e4f4e9; --warn: #8a5a00; --warn-bg: #fdf1d8; --bad: #b3261e; --bad-bg: #fbe5e3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--page); }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem 1.5rem; padding: .6rem 1.5rem; background: #1d2430; color: #fff; }
header.top .brand { font-weight: 700; letter-spacing: .02em; }
header.top .instance { color: #aeb8c8; font-size: .9em; }
header.top .who { margin-left: auto; display: flex; align-items: center; gap: .75rem; color: #d5dbe5; font-size: .9em; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #6b7587; }
nav.main { display: flex; flex-wrap: wrap; gap: 0 .25rem; padding: 0 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
nav.main a { padding: .65rem .9rem; color: var(--muted); text-decoration: none; border-bottom: 3px solid transparent; }
nav.main a:hover { color: var(--ink); }
nav.main a.current { color: var(--accent); border-bottom-color: var(--accent); font-weight: 600; }
main { max-width: 1100px; margin: 0 auto; padding: 1.25rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: .25rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 .25rem; }
h3 { font-size: 1rem; margin: 1rem 0 .5rem; }
p.lead { color: var(--muted); margin-top: -.5rem; }
a { color: var(--accent); }
/* A card is a size container: what is in it (dl.facts) lays itself out by the card's width, not the window's. */
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 0 0 1rem; container-type: inline-size; }
.pid { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85em; color: var(--muted); }
.description { color: var(--muted); margin: .25rem 0 .75rem; }
/* Ids and paths wrap at their separators (<wbr>, from breakable()); mid-word only when one part is wider than its box.
   In a table a part keeps its column at least as wide as itself (break-word); on a phone a table's rows stack. */
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; overflow-wrap: anywhere; }
td code, td.mono, td .mono, td .pid { overflow-wrap: break-word; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8em; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: 0; }
.field { display: grid; grid-template-columns: 16rem 1fr; gap: .25rem 1rem; padding: .55rem 0; border-top: 1px solid #eef1f5; }
.field:first-of-type { border-top: 0; }
.field label { font-weight: 600; }
.field .help { grid-column: 2; color: var(--muted); font-size: .85em; }
.field .key { display: block; font-weight: 400; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .8em; color: var(--muted); }
.field .error { grid-column: 2; color: var(--bad); font-weight: 600; font-size: .9em; }
.field.invalid input, .field.invalid select, .field.invalid textarea { border-color: var(--bad); background: var(--bad-bg); }
.field label.checkbox { display: flex; align-items: center; gap: .5rem; font-weight: 400; }
.field > span:first-child { font-weight: 600; }
input[type=text], input[type=number], input[type=password], select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #b9c1cd; border-radius: 5px; width: 100%; max-width: 28rem; background: #fff; }
textarea.mono { max-width: 40rem; font-size: .8rem; }
input[type=checkbox] { width: 1.05rem; height: 1.05rem; }
button { font: inherit; padding: .35rem .9rem; border-radius: 5px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
.actions { display: flex; gap: .5rem; align-items: center; margin-top: .75rem; flex-wrap: wrap; }
.inline { display: inline-flex; gap: .4rem; align-items: center; margin: 0; }
.inline input[type=text], .inline input[type=password], .inline select { width: 11rem; }
.notice { padding: .6rem .9rem; border-radius: 6px; margin: 0 0 1rem; border: 1px solid; }
.notice.ok { color: var(--ok); background: var(--ok-bg); border-color: #b8e0c4; }
.notice.error { color: var(--bad); background: var(--bad-bg); border-color: #f1b8b2; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8em; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
.badge.ok { color: var(--ok); background: var(--ok-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.badge.critical, .badge.error { color: var(--bad); background: var(--bad-bg); }
.badge.muted { color: var(--muted); background: #eceff3; }
dl.facts { display: grid; grid-template-columns: 12rem 1fr; gap: .3rem 1rem; margin: .5rem 0 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; }
@container (max-width: 34rem) {
  dl.facts { grid-template-columns: minmax(0, 1fr); gap: 0; }
  dl.facts dd { margin-bottom: .45rem; }
}
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(320px, 100%), 1fr)); gap: 1rem; margin-bottom: 1rem; }
.grid .card { margin: 0; }
details { margin-top: 1rem; }
summary { cursor: pointer; color: var(--accent); font-weight: 600; }
.browser { display: grid; grid-template-columns: 20rem 1fr; gap: 1rem; align-items: start; }
.tree ul { list-style: none; margin: 0; padding-left: 1rem; }
.tree > ul { padding-left: 0; }
.tree a { text-decoration: none; color: var(--ink); line-height: 1.7; }
.tree a.current { font-weight: 700; color: var(--accent); }
.tree .more { color: var(--muted); font-size: .85em; }
.hidden-value { color: var(--muted); font-style: italic; }
.login { max-width: 24rem; margin: 4rem auto; }
.login .field { grid-template-columns: 1fr; }
.login .field .help, .login .field .error { grid-column: 1; }
.login .providers { list-style: none; padding: 0; margin: 0; display: grid; gap: .5rem; }
.login a.sso { display: block; text-align: center; padding: .55rem .9rem; border: 1px solid var(--accent); border-radius: 5px; text-decoration: none; font-weight: 600; }
.login a.sso:hover, .login a.sso:focus { background: var(--accent); color: #fff; }
.login .or { text-align: center; color: var(--muted); margin: 1rem 0 .25rem; font-size: .9em; }
table.sessions code { word-break: normal; overflow-wrap: break-word; }
table.sessions td.time { white-space: nowrap; }
table.sessions td.action { text-align: right; }
@media (max-width: 40rem) {
  table.sessions thead { display: none; }
  table.sessions, table.sessions tbody, table.sessions tr, table.sessions td { display: block; }
  table.sessions tr { padding: .6rem 0; border-bottom: 1px solid var(--line); }
  table.sessions tr:last-child { border-bottom: 0; }
  table.sessions td { border: 0; padding: .1rem 0; text-align: left; }
  table.sessions td[data-label]::before { content: attr(data-label) " "; display: inline-block; min-width: 5.5rem; color: var(--muted); font-size: .85em; }
  table.sessions td:empty { display: none; }
  table.sessions td.action { padding-top: .4rem; }
}
/* A phone: one column everywhere, and the navigation's tabs wrap onto a second line rather than leave the window. */
@media (max-width: 44rem) {
  header.top { padding: .5rem .75rem; }
  nav.main { padding: 0 .5rem; }
  nav.main a { padding: .5rem .55rem; }
  main { padding: 1rem .75rem 2rem; }
  .card { padding: .85rem .9rem; }
  .field { grid-template-columns: 1fr; }
  .field .help, .field .error { grid-column: 1; }
  .browser { grid-template-columns: 1fr; }
  /* Tables become one block per row, each cell on its own line (labelled where a page gives data-label). */
  .card table:not(.sessions) thead { display: none; }
  .card table:not(.sessions), .card table:not(.sessions) tbody, .card table:not(.sessions) tr, .card table:not(.sessions) td { display: block; }
  .card table:not(.sessions) tr { padding: .5rem 0; border-bottom: 1px solid var(--line); }
  .card table:not(.sessions) tr:last-child { border-bottom: 0; }
  .card table:not(.sessions) td { border: 0; padding: .1rem 0; }
  .card table:not(.sessions) td[data-label]::before { content: attr(data-label) " "; display: inline-block; min-width: 6.5rem; color: var(--muted); font-size: .85em; }
  .card table:not(.sessions) td:empty { display: none; }
}
.output { background: #f6f8fa; border: 1px solid var(--line); border-radius: 5px; padding: .5rem .75rem; }
`;
