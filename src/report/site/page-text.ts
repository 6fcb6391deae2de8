/* Text that reaches a page: host names, banners, key ids and principals come from the network or
 * from whoever wrote the inventory, so every string is escaped where it lands, by the one function
 * for that place. HTML (HTML Living Standard §13.1.2.6 and §13.2.5: `&` and `<` in text, `"` in a
 * quoted attribute; `>` and `'` too, so the same function is safe in either place). Control
 * characters are parse errors in HTML (§13.2.2.5) and invisible in a wiki: both show them as U+FFFD. */

// C0 controls but tab and newline, DEL, C1 controls; and the characters that reorder text invisibly
// (bidirectional overrides and isolates: "Trojan Source"), which could make one name read as another.
const INVISIBLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text safe in an HTML element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(INVISIBLE, '\ufffd').replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!)
}

/**
 * Text safe in a Markdown paragraph, heading or table cell (CommonMark 0.31 §2.4: any ASCII punctuation
 * may be backslash-escaped): every character that can open markup inside a line (emphasis, links,
 * images, code, raw HTML's `<`, autolinks, strikethrough, tables' `|`, a heading's `#`) is escaped, and
 * `&` so no entity is decoded. Characters that mean something only at the start of a line (`-`, `+`,
 * `1.`, `=`) are left alone: the renderers never start a line with data. One line: a newline would
 * end a table row.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(INVISIBLE, '\ufffd')
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_{}[\]()<>#!|~&]/g, (ch) => `\\${ch}`)
}

/**
 * A fenced code block (CommonMark §4.5) whose fence is longer than any run of backticks inside, so no
 * line of `body` can close it early.
 */
export function markdownCodeBlock(body: string): string {
  const clean = body.replace(INVISIBLE, '\ufffd')
  const longest = Math.max(0, ...(clean.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(Math.max(3, longest + 1))
  return `${fence}text\n${clean}\n${fence}`
}

/** An inline code span (CommonMark §6.1) for one short value, its delimiter longer than any backtick run inside. */
export function markdownCode(text: string): string {
  const clean = text.replace(INVISIBLE, '\ufffd').replace(/[\r\n]+/g, ' ')
  const longest = Math.max(0, ...(clean.match(/`+/g) ?? []).map((run) => run.length))
  const ticks = '`'.repeat(longest + 1)
  // A span that starts or ends with a backtick needs a space between it and the delimiter (§6.1).
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : ''
  return `${ticks}${pad}${clean}${pad}${ticks}`
}

/** `2026-11-30 05:42 UTC`: one time zone for a fleet whose hosts live in many. */
export function formatTime(date: Date | null): string {
  if (date === null) return 'never'
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** `2026-11-30`. */
export function formatDay(date: Date): string {
  return date.toISOString().slice(0, 10)
}
