import { escapeHtml } from './page-text.js'

/* The frame of every page hostkeys writes: one HTML document with its style inline, no script, no
 * external resource (no font, no image, no CDN), so a page reads the same from file://, behind an
 * air gap and on paper. Print: links lose their colour, sections do not split across pages, the
 * navigation is left out. */

const STYLE = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --rule: #d0d7de; --soft: #f6f8fa; --bad: #b42318; --warn: #9a6700; --ok: #1a7f37; --info: #0969da; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 76rem; padding: 1.5rem 2rem 3rem; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.6rem; margin: 0.2rem 0 0.6rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.6rem; padding-bottom: 0.2rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 0 0 0.4rem; }
a { color: var(--info); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.86rem; }
code { overflow-wrap: anywhere; }
pre { background: var(--soft); border: 1px solid var(--rule); border-radius: 4px; padding: 0.6rem 0.8rem; overflow-x: auto; margin: 0.4rem 0; }
pre.lines { white-space: pre-wrap; overflow-wrap: anywhere; }
pre.art { display: inline-block; line-height: 1.15; margin: 0 1rem 0 0; background: #fff; }
nav { font-size: 0.9rem; margin-bottom: 0.5rem; }
.muted { color: var(--muted); }
.note { border-left: 4px solid var(--info); background: var(--soft); padding: 0.5rem 0.8rem; margin: 0.6rem 0; }
.warning { border-left: 4px solid var(--bad); background: #fff5f5; padding: 0.5rem 0.8rem; margin: 0.6rem 0; }
table { border-collapse: collapse; width: 100%; margin: 0.4rem 0 1rem; }
th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--rule); }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.plain { list-style: none; margin: 0; padding: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0.4rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.key { border: 1px solid var(--rule); border-radius: 6px; padding: 0.8rem 1rem; margin: 0.8rem 0; break-inside: avoid; }
.arts { display: flex; flex-wrap: wrap; gap: 0.5rem; margin-top: 0.5rem; }
.sev-critical { color: var(--bad); font-weight: 600; }
.sev-warning { color: var(--warn); font-weight: 600; }
.sev-info { color: var(--info); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: 1.5rem 2.5rem; }
figure { margin: 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 0.3rem; }
.arts figcaption { font-weight: 400; font-size: 0.8rem; margin: 0.2rem 0 0; }
svg { width: 100%; max-width: 40rem; height: auto; }
table.actions { table-layout: fixed; }
table.actions td { overflow-wrap: anywhere; }
table.actions col.severity { width: 6rem; }
table.actions col.host { width: 14rem; }
table.actions col.when { width: 8rem; }
table.actions col.resolve { width: 17rem; }
footer { margin-top: 3rem; font-size: 0.85rem; color: var(--muted); }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav { display: none; }
  a { color: inherit; text-decoration: none; }
  section, .key, figure, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  pre { border-color: #999; }
}
`

/** A whole HTML document: `title` is text (escaped here), `body` is markup already escaped by its renderer. */
export function htmlDocument(title: string, body: string): string {
  // A title is at most a tab's width: cut so that even escaped it stays within the 70 characters
  // html-validate's long-title allows (the page's h1 keeps the whole name).
  let shown = title
  while (escapeHtml(shown).length > 70) shown = `${[...shown].slice(0, -2).join('')}…`
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(shown)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    body,
    '</body>',
    '</html>',
    '',
  ].join('\n')
}
