/* echo : a piece of user input (an inventory line, a flag's value, a fingerprint) quoted back in a
 *        message. Input can be anything: a 10 MB line, or `\x1b]0;...\x07`, which would set the
 *        terminal's title if written raw. Every echo goes through echoInput. */

/** How much of one input a message shows by default: enough to recognise the line, never a flood. */
export const ECHO_LIMIT = 200

// C0 controls, DEL, C1 controls; and the invisible characters that reorder or break a line on a
// terminal (bidirectional overrides and isolates, line and paragraph separators: "Trojan Source").
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g

function escapeCharacter(ch: string): string {
  const code = ch.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`
}

/**
 * The input as a message may show it: control characters as `\xNN` (others unsafe on a terminal as
 * `\u{NNNN}`), a backslash as `\\` so an escape cannot be forged, and cut to `limit` characters
 * with the length of what was left out.
 */
export function echoInput(text: string, limit: number = ECHO_LIMIT): string {
  const kept = cutAt(text, limit)
  const shown = kept.replace(/\\/g, '\\\\').replace(UNSAFE, escapeCharacter)
  return kept.length < text.length ? `${shown}… (${text.length - kept.length} more characters)` : shown
}

/** The first `limit` UTF-16 units, one fewer rather than half a surrogate pair. */
function cutAt(text: string, limit: number): string {
  if (text.length <= limit) return text
  const code = text.charCodeAt(limit - 1)
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit)
}

/**
 * The input as a JSON string literal (`"web1\\tx"`), where a message's convention is to quote that
 * way: JSON escapes control characters; the invisible ones it leaves are escaped as `\u{NNNN}`, and
 * the input is cut at `limit` characters as echoInput cuts it.
 */
export function echoQuoted(text: string, limit = 300): string {
  const kept = cutAt(text, limit)
  const shown = JSON.stringify(kept).replace(UNSAFE, escapeCharacter)
  return kept.length < text.length ? `${shown}… (${text.length - kept.length} more characters)` : shown
}

/** A whole message made safe for one line of a terminal: control characters escaped (backslashes
 * kept, as the message may already hold escapes), and cut at `limit` characters as a last resort. */
export function oneLine(text: string, limit = 4000): string {
  const kept = cutAt(text, limit)
  const shown = kept.replace(UNSAFE, escapeCharacter)
  return kept.length < text.length ? `${shown}… (${text.length - kept.length} more characters)` : shown
}
